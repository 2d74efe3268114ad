import numpy as np
import pytest
import torch

import zoo
from zoo.errors import ZooError
from zoo.report.rd import bd_psnr, bd_rate
from zoo.testing import check_method, sample_batch

CODECS = [("jpeg.pil", {"quality": 50}), ("jpeg444.pil", {"quality": 50}), ("jpeg2000.pil", {"quality": 32}),
          ("webp.pil", {"quality": 50}), ("webp-lossless.pil", {}), ("avif.pil", {"quality": 50}),
          ("png.pil", {}), ("jpegxl.pil", {"quality": 50}), ("factorized-small.samples", {"rate": 1})]


@pytest.mark.parametrize("mid,setting", CODECS)
def test_codec_conforms_and_round_trips_what_metrics_see(mid, setting):
    check_method(mid, setting=setting, size=32)
    codec = zoo.load(mid, **setting)
    x = sample_batch(2, 40)
    streams = codec.compress(x)
    y = codec.decompress(streams)
    assert torch.equal(codec.decompress(streams), y)  # decoding is deterministic: what the metrics saw
    bpp = zoo.metric("bpp")(y, x, bitstreams=streams)
    assert bpp.tolist() == [8 * len(s) / (40 * 40) for s in streams]
    if mid in ("png.pil", "webp-lossless.pil"):
        assert torch.equal(zoo.images.quantize(x), y)


@pytest.mark.parametrize("mid,setting", CODECS)
def test_corrupt_or_truncated_bitstream_is_a_clear_error(mid, setting):
    codec = zoo.load(mid, **setting)
    s = codec.compress(sample_batch(1, 40))[0]
    for bad in (s[: len(s) // 3], b"\x00" * 50):
        with pytest.raises(ZooError, match="corrupt or truncated"):
            codec.decompress([bad])


def test_quality_out_of_range_is_refused():
    with pytest.raises(ZooError, match="option quality=.* is not allowed; allowed: an integer in 0..100"):
        zoo.load("jpeg.pil", quality=150)


# Crossing RD curves (the test is worse at low rates, better at high rates), so BD-rate depends on
# the whole curve's shape and not just on a uniform scaling of the rate.
ANCHOR = (np.array([0.2, 0.45, 0.9, 1.8]), np.array([27.1, 30.4, 33.6, 36.2]))
CROSSING = [(np.array([0.25, 0.5, 0.85, 1.5]), np.array([26.0, 30.1, 34.0, 37.5])),
            (np.array([0.3, 0.5, 0.8, 1.2]), np.array([28.5, 31.0, 33.0, 34.8])),
            (np.array([0.15, 0.4, 1.0, 2.4]), np.array([25.0, 29.9, 34.4, 38.0]))]


@pytest.mark.parametrize("test", CROSSING)
def test_bd_rate_and_bd_psnr_match_the_bjontegaard_package_on_crossing_curves(test):
    """Our PCHIP BD figures against an independent implementation (PyPI ``bjontegaard``, the
    piecewise-cubic variant) to 1e-9; the original VCEG-M33 cubic polynomial fit gives nearby but
    different numbers on crossing curves (a different interpolant, so within 0.5 % and 0.05 dB)."""
    bj = pytest.importorskip("bjontegaard")
    (ra, da), (rt, dt) = ANCHOR, test
    kw = {"require_matching_points": True, "min_overlap": 0}
    assert bd_rate(ra, da, rt, dt) == pytest.approx(bj.bd_rate(ra, da, rt, dt, method="pchip", **kw), abs=1e-9)
    assert bd_psnr(ra, da, rt, dt) == pytest.approx(bj.bd_psnr(ra, da, rt, dt, method="pchip", **kw), abs=1e-9)
    assert bd_rate(ra, da, rt, dt) == pytest.approx(bj.bd_rate(ra, da, rt, dt, method="cubic", **kw), abs=0.5)
    assert bd_psnr(ra, da, rt, dt) == pytest.approx(bj.bd_psnr(ra, da, rt, dt, method="cubic", **kw), abs=0.05)
    # the curves really cross: the test's quality is below the anchor's at one rate and above at another
    diff = np.interp(np.log10(ra), np.log10(rt), dt) - da
    assert (diff < 0).any() and (diff > 0).any()


def test_bd_rate_known_offset():
    rate = np.array([0.25, 0.5, 1.0, 2.0])
    psnr = np.array([28.0, 31.0, 34.0, 37.0])
    assert bd_rate(rate, psnr, rate * 0.8, psnr) == pytest.approx(-20.0, abs=1e-9)
    assert bd_rate(rate, psnr, rate * 1.5, psnr) == pytest.approx(50.0, abs=1e-9)
    assert bd_psnr(rate, psnr, rate, psnr + 0.7) == pytest.approx(0.7, abs=1e-9)
