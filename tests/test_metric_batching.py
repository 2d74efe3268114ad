"""Deep-feature metrics give each image the same value whatever batch it is computed in.

LPIPS (random trunk, the real v0.1 heads), the EfficientNet-Lite0 distance and the
EfficientNet-Lite0 Fréchet / kernel distances: one batch of 6 against the same images one at a
time and in batches of 2 and 4 (uneven: a batch-size-dependent normalisation or padding would
show). Differences allowed: float32 summation order inside the convolutions (measured below 1e-6).
"""

import pytest
import torch

import zoo


def _images(n=6, size=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    ref = torch.rand(n, 3, size, size, generator=g)
    out = (ref + 0.1 * torch.randn(n, 3, size, size, generator=g)).clamp(0, 1)
    return out, ref


def _in_batches(metric, out, ref, sizes):
    parts, i = [], 0
    for b in sizes:
        parts.append(metric(out[i : i + b], ref[i : i + b]))
        i += b
    return torch.cat(parts)


@pytest.mark.parametrize("name,options", [("lpips", {"net": "alex", "random_trunk": True, "seed": 1}),
                                          ("deepdist-effnetlite0", {})])
def test_paired_deep_metrics_do_not_depend_on_batch_size(name, options):
    m = zoo.metric(name, **options)
    out, ref = _images()
    whole = m(out, ref)
    assert whole.std() > 1e-4  # the items differ, so a swap or a batch-mean would show
    for sizes in ([1] * 6, [2, 4], [4, 2]):
        assert torch.allclose(_in_batches(m, out, ref, sizes), whole, rtol=1e-5, atol=1e-7), sizes
    # a value computed on the mean of the batch would not pass the check above
    assert not torch.allclose(whole, whole.mean().expand_as(whole), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", ["fd-effnetlite0", "kd-effnetlite0"])
def test_distribution_features_do_not_depend_on_batch_size(name):
    out, ref = _images(n=6, size=48)
    whole = zoo.metric(name)
    whole.update(out, ref)
    split = zoo.metric(name)
    for i, b in ((0, 1), (1, 2), (3, 3)):
        split.update(out[i : i + b], ref[i : i + b])
    a, b = float(whole.compute()), float(split.compute())
    assert abs(a - b) <= 1e-5 * max(1.0, abs(a)), (a, b)
    feats_one = torch.cat([whole.extractor.pooled(out[i : i + 1]) for i in range(6)])
    assert torch.allclose(whole.extractor.pooled(out), feats_one, rtol=1e-5, atol=1e-6)
