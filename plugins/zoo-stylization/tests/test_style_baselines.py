"""Reinhard transfer and histogram matching: known answers and the conformance kit."""

import pytest
import torch

import zoo
from zoo.images import rgb_to_lab
from zoo.testing import check_method
from zoo_stylization.baselines import match_histograms, reinhard, reinhard_lab

from conftest import smooth


def test_reinhard_lab_gives_the_style_mean_and_std_exactly():
    g = torch.Generator().manual_seed(0)
    c = torch.randn(3, 20, 30, generator=g, dtype=torch.float64) * 7 + 40
    s = torch.randn(3, 16, 16, generator=g, dtype=torch.float64) * 3 - 5
    out = reinhard_lab(c, s, eps=0)
    assert torch.allclose(out.mean((1, 2)), s.mean((1, 2)), atol=1e-10)
    assert torch.allclose(out.std((1, 2), correction=0), s.std((1, 2), correction=0), atol=1e-10)


def test_reinhard_rgb_reaches_the_style_lab_statistics_for_in_gamut_images():
    content = 0.3 + 0.4 * smooth(1, 32, seed=1)[0]
    style = (0.25 + 0.5 * smooth(1, 24, seed=2)[0]) * torch.tensor([1.0, 0.8, 0.6]).view(3, 1, 1)
    out = reinhard(content.double(), style.double())
    assert 0 < out.min() and out.max() < 1  # nothing clipped, so the statistics must match
    lo, ls = rgb_to_lab(out), rgb_to_lab(style.double())
    assert torch.allclose(lo.mean((1, 2)), ls.mean((1, 2)), atol=1e-6)
    assert torch.allclose(lo.std((1, 2), correction=0), ls.std((1, 2), correction=0), atol=1e-6)


def test_histogram_matching_reproduces_the_style_values_at_equal_size():
    c = torch.rand(3, 16, 16, generator=torch.Generator().manual_seed(3))  # no ties
    s = smooth(1, 16, seed=4)[0]
    out = match_histograms(c, s)
    assert torch.allclose(out.reshape(3, -1).sort(1).values, s.reshape(3, -1).sort(1).values, atol=1e-6)
    # and keeps the content's order within each channel
    order = c.reshape(3, -1).argsort(dim=1)
    assert (out.reshape(3, -1).gather(1, order).diff(dim=1) >= 0).all()


def test_histogram_matching_to_a_different_size_matches_quantiles():
    c, s = smooth(1, 40, seed=5)[0], smooth(1, 12, seed=6)[0]
    out = match_histograms(c, s)
    q = torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64)
    assert torch.allclose(out.reshape(3, -1).double().quantile(q, dim=1), s.reshape(3, -1).double().quantile(q, dim=1), atol=0.02)


@pytest.mark.parametrize("method_id", ["reinhard.classical", "histmatch.classical"])
def test_baselines_conformance(method_id):
    check_method(method_id)


def test_baselines_need_a_style_image():
    with pytest.raises(zoo.errors.ContractError, match="style"):
        zoo.load("reinhard.classical").stylize(smooth(1, 16))
