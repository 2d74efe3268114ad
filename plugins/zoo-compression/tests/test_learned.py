"""Learned codecs through CompressAI: parity with CompressAI's own compress/decompress on
weights the test creates, the bitstream format, official checkpoint handling, and the
bundled codec trained here."""

import pytest
import torch
import torch.nn.functional as F

import zoo
from zoo.errors import WeightsError, ZooError
from zoo.testing import sample_batch
from zoo_compression.learned import QUALITIES, pack, unpack


def photos(h: int = 70, w: int = 90) -> torch.Tensor:
    """Two real photographs, cropped to a size that is not a multiple of 64."""
    ds = zoo.dataset("samples", split="heldout")
    return torch.stack([ds[i].image[:, 40 : 40 + h, 60 : 60 + w] for i in (0, 2)])


def compressai_reference(net, x: torch.Tensor):
    """CompressAI's evaluation path (compressai.utils.eval_model): centred zero pad to 64,
    compress, decompress, crop; bpp from the strings alone."""
    h, w = x.shape[-2:]
    nh, nw = (h + 63) // 64 * 64, (w + 63) // 64 * 64
    left, top = (nw - w) // 2, (nh - h) // 2
    pad = (left, nw - w - left, top, nh - h - top)
    with torch.no_grad():
        enc = net.compress(F.pad(x, pad, mode="constant", value=0))
        dec = net.decompress(enc["strings"], enc["shape"])
    x_hat = F.pad(dec["x_hat"], tuple(-p for p in pad))
    return enc["strings"], x_hat


def make_checkpoint(arch: str, path, seed: int = 0) -> torch.nn.Module:
    from compressai.zoo.image import cfgs, model_architectures

    torch.manual_seed(seed)
    net = model_architectures[arch](*cfgs[arch][1]).eval()
    net.update(force=True)
    torch.save(net.state_dict(), path)
    return net


@pytest.mark.parametrize("arch", ["bmshj2018-factorized", "bmshj2018-hyperprior", "mbt2018-mean", "mbt2018", "cheng2020-anchor"])
def test_parity_with_compressai_compress_decompress(arch, tmp_path):
    ckpt = tmp_path / f"{arch}-1.pth.tar"
    net = make_checkpoint(arch, ckpt)
    codec = zoo.load(f"{arch}-mse.vimeo90k", weights=str(ckpt), quality=1)
    x = photos()
    ref_strings, ref_hat = compressai_reference(net, x)
    streams = codec.compress(x)
    y = codec.decompress(streams)
    h, w = x.shape[-2:]
    for i, s in enumerate(streams):
        hh, ww, groups = unpack(s)
        assert (hh, ww) == (h, w)
        assert groups == [g[i] for g in ref_strings]  # byte-identical CompressAI strings
        payload = sum(len(g[i]) for g in ref_strings)
        header = len(s) - payload
        assert header <= 12  # magic, version, size, lengths, crc32
        ours_bpp = float(zoo.metric("bpp")(y[i : i + 1], x[i : i + 1], bitstreams=[s]))
        assert ours_bpp == 8 * (payload + header) / (h * w)  # exactly: every byte counted
    assert torch.allclose(y, ref_hat.clamp(0, 1), atol=1e-6)
    for name in ("psnr", "ms-ssim"):
        if name == "ms-ssim" and min(h, w) < 161:
            continue
        m = zoo.metric(name)
        assert torch.allclose(m(y, x), m(ref_hat.clamp(0, 1), x), atol=1e-4)


def test_parity_psnr_and_ms_ssim_on_a_full_photo(tmp_path):
    ckpt = tmp_path / "f.pth.tar"
    net = make_checkpoint("bmshj2018-factorized", ckpt)
    codec = zoo.load("bmshj2018-factorized-mse.vimeo90k", weights=str(ckpt), quality=1)
    x = photos(200, 230)
    _, ref_hat = compressai_reference(net, x)
    y = codec.decompress(codec.compress(x))
    for name in ("psnr", "ms-ssim"):
        m = zoo.metric(name)
        assert torch.allclose(m(y, x), m(ref_hat.clamp(0, 1), x), atol=1e-4), name


def test_official_checkpoint_layout_old_entropy_bottleneck_names_and_dataparallel_prefix(tmp_path):
    """CompressAI's published files predate its renames (ParameterList `_biases.N`, `module.`);
    they load through CompressAI's own conversion, and missing CDF tables are computed."""
    ckpt = tmp_path / "new.pth.tar"
    net = make_checkpoint("bmshj2018-factorized", ckpt)
    old = {}
    for k, v in net.state_dict().items():
        if "_quantized_cdf" in k or "_offset" in k or "_cdf_length" in k:
            continue  # a training checkpoint without CDF tables
        for stem, plural in (("_bias", "_biases"), ("_matrix", "_matrices"), ("_factor", "_factors")):
            if k.startswith(f"entropy_bottleneck.{stem}") and k[-1].isdigit():
                k = f"entropy_bottleneck.{plural}.{k[-1]}"
        old["module." + k] = v
    torch.save(old, tmp_path / "old.pth.tar")
    codec = zoo.load("bmshj2018-factorized-mse.vimeo90k", weights=str(tmp_path / "old.pth.tar"), quality=1)
    x = photos()
    ref_strings, _ = compressai_reference(net, x)
    assert unpack(codec.compress(x)[0])[2] == [ref_strings[0][0]]


def test_wrong_quality_or_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(ZooError, match=r"option quality=7 is not allowed; allowed: 1, 2, 3, 4, 5, 6"):
        zoo.load("cheng2020-attn-mse.vimeo90k", weights="x", quality=7)
    ckpt = tmp_path / "f1.pth.tar"
    make_checkpoint("bmshj2018-factorized", ckpt)
    with pytest.raises(ZooError, match="does not match bmshj2018-factorized"):
        zoo.load("bmshj2018-factorized-mse.vimeo90k", weights=str(ckpt), quality=8)  # q8 is 192/320 wide


def test_catalog_has_every_published_model_and_explains_missing_mirrors():
    from compressai.zoo.image import model_urls

    from zoo.catalog import get_card

    for arch, qs in QUALITIES.items():
        for metric in ("mse", "ms-ssim"):
            card = get_card(f"{arch}-{metric}.vimeo90k")
            assert [s["quality"] for s in card.settings] == list(qs)
            assert [r.source for r in card.weights] == [model_urls[arch][metric][q] for q in qs]
    with pytest.raises(WeightsError, match=r"bmshj2018-hyperprior-ms-ssim-3-92dd7878\.pth\.tar.*--weights"):
        zoo.load("bmshj2018-hyperprior-ms-ssim.vimeo90k", quality=3)


def test_bitstream_header_round_trip_and_corruption():
    groups = [b"\x01" * 300, b"", b"abc"]
    s = pack(70, 90, groups)
    assert unpack(s) == (70, 90, groups)
    assert len(s) - sum(map(len, groups)) == 1 + 1 + 4 + 2 + 1 + 4  # magic, ver, HxW, leb128(300)=2, leb128(0)=1, crc
    for bad in (s[:-1], s[:5], s[:12] + bytes([s[12] ^ 1]) + s[13:], b"J" + s[1:]):
        with pytest.raises(ValueError):
            unpack(bad)
    with pytest.raises(ZooError, match="65535"):
        pack(70000, 10, groups)


def test_corrupt_or_truncated_learned_bitstream_is_a_clear_error(tmp_path):
    ckpt = tmp_path / "f.pth.tar"
    make_checkpoint("bmshj2018-hyperprior", ckpt)
    codec = zoo.load("bmshj2018-hyperprior-mse.vimeo90k", weights=str(ckpt), quality=1)
    s = codec.compress(sample_batch(1, 40))[0]
    flipped = s[:-3] + bytes([s[-3] ^ 0x10]) + s[-2:]
    for bad in (s[: len(s) // 2], flipped, b"\x00" * 50):
        with pytest.raises(ZooError, match="corrupt or truncated"):
            codec.decompress([bad])


def test_bundled_compressai_table_equals_compressai():
    import json
    from pathlib import Path

    from compressai.zoo.image import model_urls, root_url

    import zoo_compression

    table = json.loads((Path(zoo_compression.__file__).parent / "compressai_models.json").read_text())
    assert table["root_url"] == root_url
    assert {a: {m: {int(q): f"{root_url}/{f}" for q, f in qs.items()} for m, qs in ms.items()} for a, ms in table["files"].items()} == model_urls


@pytest.mark.slow
def test_training_script_runs_a_few_steps_and_writes_a_loadable_codec(tmp_path):
    from zoo_compression.train_codec import main

    out = tmp_path / "r1.safetensors"
    assert main(["--rate", "1", "--steps", "3", "--out", str(out)]) == 0
    codec = zoo.load("factorized-small.samples", weights=str(out), rate=1)
    x = sample_batch(1, 64)
    assert codec.decompress(codec.compress(x)).shape == x.shape


def test_zoo_convert_writes_a_safetensors_file_that_loads_back(tmp_path, capsys):
    from zoo.cli import main

    ckpt = tmp_path / "bmshj2018-hyperprior-1.pth.tar"
    make_checkpoint("bmshj2018-hyperprior", ckpt)
    out = tmp_path / "q1.safetensors"
    assert main(["convert", "bmshj2018-hyperprior-mse.vimeo90k", str(ckpt), "-o", str(out), "--setting", "quality=1"]) == 0
    assert "sha256" in capsys.readouterr().out
    a = zoo.load("bmshj2018-hyperprior-mse.vimeo90k", weights=str(ckpt), quality=1)
    b = zoo.load("bmshj2018-hyperprior-mse.vimeo90k", weights=str(out), quality=1)
    x = photos()
    assert a.compress(x) == b.compress(x)
