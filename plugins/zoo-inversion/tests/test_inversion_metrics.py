"""Inversion metrics: edit-inside, edit-outside and path-smoothness, on hand-made cases with known values."""

import math

import pytest
import torch

from zoo.errors import MetricError
from zoo.metrics import build_metric
from zoo_inversion.metrics import EditInside, EditOutside, PathSmoothness, masked_psnr, path_smoothness


def test_masked_psnr_counts_only_the_mask():
    x = torch.zeros(1, 3, 4, 4)
    y = x.clone()
    y[..., :2, :] = 0.1  # error only in the top half
    top = torch.zeros(1, 1, 4, 4)
    top[..., :2, :] = 1
    assert float(masked_psnr(x, y, top)) == pytest.approx(20.0)
    assert math.isinf(float(masked_psnr(x, y, 1 - top)))


def test_edit_metrics_read_mask_scribble_and_input():
    start = torch.full((2, 3, 8, 8), 0.5)
    mask = torch.zeros(2, 1, 8, 8)
    mask[..., 2:6, 2:6] = 1
    scribble = torch.ones(2, 3, 8, 8)
    out = start.clone()
    out[0, :, 2:6, 2:6] = 1.0  # item 0 reached the scribble inside, kept the outside
    out[1] = 0.4  # item 1 changed everywhere a little
    inside = EditInside()(out, mask=mask, scribble=scribble)
    outside = EditOutside()(out, input=start, mask=mask)
    assert math.isinf(float(inside[0])) and float(inside[1]) == pytest.approx(-20 * math.log10(0.6), abs=1e-4)
    assert math.isinf(float(outside[0])) and float(outside[1]) == pytest.approx(20.0, abs=1e-4)
    assert EditInside.needs == ("mask", "scribble") and EditOutside.needs == ("input", "mask")
    assert not EditInside.needs_reference and not EditOutside.needs_reference
    with pytest.raises(MetricError, match="mask"):
        EditInside()(out, scribble=scribble)
    with pytest.raises(MetricError, match="mask shape"):
        EditOutside()(out, input=start, mask=torch.ones(2, 1, 4, 4))


def test_path_smoothness_is_one_for_even_steps_and_drops_with_a_jump():
    assert path_smoothness(torch.tensor([1.0, 1.0, 1.0])) == 1.0
    assert path_smoothness(torch.tensor([0.1, 0.1, 1.0])) == pytest.approx(0.4)
    with pytest.raises(MetricError):
        path_smoothness(torch.tensor([]))


def test_path_smoothness_metric_on_frames():
    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(1, 3, 32, 32, generator=g), torch.rand(1, 3, 32, 32, generator=g)
    even = torch.cat([torch.lerp(a, b, t) for t in torch.linspace(0, 1, 5).tolist()])
    jumpy = torch.cat([a, a, a, a, b])
    m = PathSmoothness()
    m.update(even[:3])
    m.update(even[3:])
    smooth = float(m.compute())
    assert float(m(jumpy)) < 0.3 < smooth
    assert isinstance(build_metric("path-smoothness"), PathSmoothness)
    assert isinstance(build_metric("edit-inside"), EditInside)
