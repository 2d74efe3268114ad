"""Small things users hit (issue #28): autograd graphs on outputs, one metric dtype, an
unreachable Hub, zoo run's file permissions and names, zoo list --setting."""

from __future__ import annotations

import os
import socket
import stat
import time

import numpy as np
import pytest
import torch
from PIL import Image

import zoo
from zoo.cli import main
from zoo.errors import ConformanceError, WeightsError
from zoo.tasks import SuperResolver
from zoo.testing import check_method


# -- no autograd graph on outputs ------------------------------------------------------------------
def test_loaded_methods_return_outputs_without_a_graph():
    x = torch.rand(1, 3, 24, 24)
    assert torch.is_grad_enabled()
    sr = zoo.load("espcn-x4.samples")
    assert any(p.requires_grad for p in sr.parameters())  # learned: a graph would be built without the fix
    y = sr.upscale(x)
    assert not y.requires_grad and y.grad_fn is None
    codec = zoo.load("factorized-small.samples", rate=1)
    z = codec.decompress(codec.compress(torch.rand(1, 3, 64, 64)))
    assert not z.requires_grad and z.grad_fn is None


class _Conv(SuperResolver):
    scale = 2

    def __init__(self) -> None:
        super().__init__()
        self.id = "leaky.test"
        self.conv = torch.nn.Conv2d(3, 3, 3, padding=1)
        torch.nn.init.dirac_(self.conv.weight)
        torch.nn.init.zeros_(self.conv.bias)

    def _upscale(self, lr: torch.Tensor) -> torch.Tensor:
        up = torch.nn.functional.interpolate(lr, scale_factor=2, mode="nearest")
        return self.conv(up).clamp(0, 1)


class _Leaky(_Conv):
    def upscale(self, lr: torch.Tensor) -> torch.Tensor:  # bypasses the base class's public call
        return self._upscale(self._in(lr))


def test_conformance_kit_refuses_an_output_with_a_graph():
    check_method(_Conv(), settings_change_output=False)
    with pytest.raises(ConformanceError, match="autograd graph"):
        check_method(_Leaky(), settings_change_output=False)


# -- one dtype -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["psnr", "ssim", "deepdist-effnetlite0", "example-mae"])
def test_metrics_return_float64(name):
    x = torch.rand(2, 3, 48, 48)
    y = (x + 0.05 * torch.rand_like(x)).clamp(0, 1)
    v = zoo.metric(name)(y, x)
    assert v.dtype == torch.float64 and v.shape == (2,)


def test_ssim_values_do_not_change_with_the_cast():
    x = torch.rand(2, 3, 48, 48)
    y = (x + 0.05 * torch.rand_like(x)).clamp(0, 1)
    m = zoo.metric("ssim")
    assert torch.allclose(m(y, x), m._values(y, x).double())


# -- an unreachable Hub fails at once --------------------------------------------------------------
@pytest.fixture
def dead_hub(monkeypatch):
    """The Hub's endpoint on a local port nothing listens on: refused at once."""
    from huggingface_hub import constants

    from zoo import cache

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{port}")
    for v in ("HF_HUB_OFFLINE", "ZOO_OFFLINE", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(v, raising=False)
    monkeypatch.setattr(cache, "_hub_probe", {})
    return port


def test_unreachable_hub_fails_in_seconds_naming_the_cause(dead_hub, tmp_path, monkeypatch):
    from zoo.catalog import get_card
    from zoo.weights import resolve

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    ref = next(r for r in get_card("realesrgan-x4plus.df2k-ost").weights if r.hub)
    t0 = time.monotonic()
    with pytest.raises(WeightsError, match=rf"could not be reached \(the Hub 127.0.0.1:{dead_hub} is unreachable"):
        resolve(ref, "realesrgan-x4plus.df2k-ost")
    assert time.monotonic() - t0 < 5  # huggingface_hub alone retries for ~25 s


def test_hub_probe_sees_a_listening_endpoint(monkeypatch):
    from huggingface_hub import constants

    from zoo import cache

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{s.getsockname()[1]}")
        monkeypatch.setattr(cache, "_hub_probe", {})
        for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(v, raising=False)
        assert cache.hub_unreachable() is None


# -- zoo run: the user's umask, names in any script --------------------------------------------------
def _png(path, size=(16, 12)):
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (*size[::-1], 3), dtype=np.uint8)).save(path)
    return path


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_zoo_run_outputs_follow_the_umask(tmp_path, mask):
    src = _png(tmp_path / "in.png")
    old = os.umask(mask)
    try:
        assert main(["run", "bicubic.classical", str(src), "-o", str(tmp_path / f"o{mask}"), "--setting", "scale=2"]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / f"o{mask}" / "in.png").stat().st_mode) == 0o666 & ~mask


def test_zoo_run_output_names_keep_letters_of_every_script(tmp_path):
    from zoo.apply import output_stem

    names = ["Café crème.png", "東京タワー.png", "фото_1.png", "a b;rm -rf.png"]
    srcs = [_png(tmp_path / n) for n in names]
    assert main(["run", "bicubic.classical", *map(str, srcs), "-o", str(tmp_path / "out"), "--setting", "scale=2"]) == 0
    got = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert got == sorted(["Café_crème.png", "東京タワー.png", "фото_1.png", "a_b_rm_-rf.png"])
    assert output_stem("../..") == "_" and output_stem("x/y\\z") == "x_y_z"
    assert output_stem("Cafe\u0301") == "Café"  # NFD (macOS file names) -> NFC


# -- zoo list --setting ------------------------------------------------------------------------------
def test_zoo_list_filters_by_setting_values(capsys):
    assert main(["list", "--task", "super-resolution", "--setting", "scale=4"]) == 0
    ids = {line.split()[0] for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert {"bicubic.classical", "espcn-x4.samples", "realesrgan-x4plus.df2k-ost", "edsr.div2k"} <= ids  # points, fixed params
    assert "realesrgan-x2plus.df2k-ost" not in ids
    assert main(["list", "--task", "super-resolution", "--setting", "scale=2"]) == 0
    ids2 = {line.split()[0] for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert "realesrgan-x2plus.df2k-ost" in ids2 and "espcn-x4.samples" not in ids2
    assert main(["list", "--setting", "scale=4", "--setting", "quality=50"]) == 0
    assert capsys.readouterr().out.strip() == ""  # both must hold: no method has both
    assert main(["list", "--setting", "scale"]) == 2
    assert "expected KEY=VALUE" in capsys.readouterr().err
