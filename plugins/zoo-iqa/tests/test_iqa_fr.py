"""FSIM / FSIMc, VIF and GMSD: parity with piq and sewar, the releases' MATLAB conventions, known answers, the kit."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.signal import convolve2d

import zoo
from zoo.testing import check_metric
from zoo_iqa.fr import box_down, conv2_same, round_half_away, yiq255

from iqa_helpers import DISTORTIONS, blur, noise, photo

FR = ["fsim", "fsimc", "vif", "gmsd"]


def _pair(i: int = 0, h: int = 160, w: int = 224, sigma: float = 0.05):
    x = photo(i, h, w)
    return x, noise(x, sigma, seed=i)


def test_conv2_same_is_matlabs():
    """Odd kernels: as scipy's convolve2d 'same'. Even kernels: MATLAB keeps full(floor(k/2) + 1 : ...), one later than scipy."""
    g = torch.Generator().manual_seed(0)
    a = torch.rand(1, 1, 7, 9, generator=g, dtype=torch.float64)
    k3 = torch.rand(3, 3, generator=g, dtype=torch.float64)
    np.testing.assert_allclose(conv2_same(a, k3)[0, 0].numpy(), convolve2d(a[0, 0].numpy(), k3.numpy(), mode="same"), atol=1e-12)
    k2 = torch.full((2, 2), 0.25, dtype=torch.float64)
    full = convolve2d(a[0, 0].numpy(), k2.numpy(), mode="full")
    np.testing.assert_allclose(conv2_same(a, k2)[0, 0].numpy(), full[1:8, 1:10], atol=1e-12)
    # so the 2x2 box + subsample of GMSD.m / FSIM.m averages (2i, 2i+1), a zero row/column past an odd edge
    d = box_down(a, 2)[0, 0].numpy()
    assert d.shape == (4, 5)
    assert d[0, 0] == pytest.approx(a[0, 0, :2, :2].mean().item())
    assert d[3, 4] == pytest.approx(a[0, 0, 6, 8].item() / 4)
    assert [round_half_away(v) for v in (1.5, 2.5, 1.4999)] == [2, 3, 1]  # MATLAB round, for FSIM's F


def test_yiq_is_fsim_releases_conversion():
    x = torch.tensor([[[[1.0]], [[0.0]], [[0.0]]]])
    assert yiq255(x).flatten().tolist() == pytest.approx([0.299 * 255, 0.596 * 255, 0.211 * 255])


@pytest.mark.parametrize("i", [0, 3])
def test_vif_equals_piq_and_sewar(i):
    import piq
    import sewar

    x, y = _pair(i)
    ours = float(zoo.metric("vif")(y, x))
    assert float(piq.vif_p(y.double(), x.double(), data_range=1.0)) == pytest.approx(ours, abs=1e-7)
    # sewar.vifp on the same luma (0-255), sigma_nsq = 2 as vifp_mscale.m
    assert sewar.vifp(yiq255(x)[0, 0].numpy(), yiq255(y)[0, 0].numpy(), sigma_nsq=2) == pytest.approx(ours, abs=1e-7)


@pytest.mark.parametrize("i,size", [(0, (160, 224)), (3, (161, 223))])
def test_gmsd_equals_piq_up_to_std_normalisation(i, size):
    """piq's deviation divides by N, MATLAB's std2 by N - 1: equal after rescaling by sqrt((N-1)/N)."""
    import piq

    x, y = _pair(i, *size)
    ours = float(zoo.metric("gmsd")(y, x))
    n = math.ceil(size[0] / 2) * math.ceil(size[1] / 2)
    theirs = float(piq.gmsd(y.double(), x.double(), data_range=1.0, reduction="none"))
    assert theirs == pytest.approx(ours * math.sqrt((n - 1) / n), rel=1e-9)
    assert ours != pytest.approx(theirs, rel=1e-6)


def test_fsim_equals_piq_when_no_downsampling():
    """Below 384 px (F = 1) piq and the release compute the same phase congruency and gradients."""
    import piq

    x, y = _pair(0, 200, 300)
    ours = float(zoo.metric("fsim")(y, x))
    assert float(piq.fsim(y.double(), x.double(), data_range=1.0, chromatic=False, reduction="none")) == pytest.approx(ours, abs=2e-6)


def test_fsim_downsampling_differs_from_piq_on_odd_sides():
    """Documented difference: with F = 2, FSIM.m keeps ceil(H/2) rows (the last averaged with zeros);
    piq's avg_pool2d keeps floor(H/2). On an even-sized image the two agree again."""
    import piq

    x, y = _pair(1, 427, 400)
    ours = float(zoo.metric("fsim")(y, x))
    theirs = float(piq.fsim(y.double(), x.double(), data_range=1.0, chromatic=False, reduction="none"))
    assert 5e-5 < abs(ours - theirs) < 5e-3
    x2, y2 = x[..., :426, :], y[..., :426, :]
    ours2 = float(zoo.metric("fsim")(y2, x2))
    # measured: 3.8e-6 apart at F = 2 on even sides (unexplained residual, both in float64), 2e-4 on the odd side
    assert float(piq.fsim(y2.double(), x2.double(), data_range=1.0, chromatic=False, reduction="none")) == pytest.approx(ours2, abs=1e-5)


def test_fsimc_chroma_differs_from_piq_as_documented():
    """FSIMc: MATLAB's real((S_I S_Q)^0.03) is |.|^0.03 cos(0.03 pi) where S_I S_Q < 0; piq takes |.|^0.03, and
    its YIQ rows differ in the 4th digit (0.5959 vs 0.596). Same luma part, close chroma, never equal."""
    import piq

    x, y = _pair(0, 200, 300)
    ours = float(zoo.metric("fsimc")(y, x))
    theirs = float(piq.fsim(y.double(), x.double(), data_range=1.0, chromatic=True, reduction="none"))
    assert 1e-7 < abs(ours - theirs) < 1e-4
    # opposite chroma (I and Q negated, luma kept): S_I S_Q < 0 on many pixels, where the cos(0.03 pi) factor shows
    from zoo_iqa.fr import YIQ

    yiq = torch.einsum("ij,njhw->nihw", YIQ, x.double())
    yiq[:, 1:] *= -1
    flipped = torch.einsum("ij,njhw->nihw", torch.linalg.inv(YIQ), yiq).clamp(0, 1).float()
    a = float(zoo.metric("fsimc")(flipped, x))
    b = float(piq.fsim(flipped.double(), x.double(), data_range=1.0, chromatic=True, reduction="none"))
    assert a < b - 1e-3


def test_flat_images_fsim_is_skipped_with_a_reason():
    m = zoo.metric("fsim")
    v = m(torch.full((1, 3, 32, 32), 0.5), torch.full((1, 3, 32, 32), 0.5))
    assert math.isnan(float(v)) and "phase congruency" in m.item_reasons[0]


@pytest.mark.parametrize("name", FR)
def test_identical_images_score_the_ideal(name):
    x = photo(2, 128, 160)
    m = zoo.metric(name)
    # VIF: vifp_mscale.m floors sv^2 at 1e-10, so num's sigma_n^2 + 1e-10 vs den's sigma_n^2 leaves 5e-11
    assert float(m(x, x.clone())) == pytest.approx(m.ideal, abs=1e-9 if name == "vif" else 1e-12)


@pytest.mark.parametrize("kind", ["blur", "noise", "jpeg"])
def test_full_reference_scores_worsen_with_distortion(kind):
    f, levels = DISTORTIONS[kind]
    x = photo(3, 128, 128)
    for name in FR:
        m = zoo.metric(name)
        vals = [float(m(f(x, level), x)) for level in levels]
        ranked = sorted(vals, reverse=m.higher_is_better)
        assert vals == ranked and abs(vals[-1] - vals[0]) > 0.05, f"{name} under {kind}: {vals}"


def test_symmetric_and_asymmetric():
    x, y = _pair(2, 128, 160)
    for name in ("fsim", "fsimc", "gmsd"):
        m = zoo.metric(name)
        assert float(m(y, x)) == pytest.approx(float(m(x, y)), rel=1e-12)
    vif = zoo.metric("vif")  # information fidelity is measured relative to the reference
    assert abs(float(vif(y, x)) - float(vif(x, y))) > 1e-3


@pytest.mark.parametrize("name", FR)
def test_full_reference_metrics_pass_the_kit(name):
    check_metric(name, size=64, n=2)


def test_too_small_images_are_refused():
    from zoo.errors import MetricError

    with pytest.raises(MetricError, match="at least 41x41"):
        zoo.metric("vif")(torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32))


def test_flat_reference_vif_is_skipped_with_a_reason():
    m = zoo.metric("vif")
    v = m(blur(photo(0, 64, 64), 1), torch.full((1, 3, 64, 64), 0.5))
    assert math.isnan(float(v)) and "flat reference" in m.item_reasons[0]
