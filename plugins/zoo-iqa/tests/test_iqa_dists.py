"""DISTS: the published alpha/beta from the DISTS_pytorch wheel; parity with DISTS_pytorch on a random trunk."""

from __future__ import annotations

from unittest import mock

import pytest
import torch

import zoo
from zoo.errors import MetricUnavailable
from zoo.testing import check_metric
from zoo_iqa.dists import CHANNELS, dists_weights_file, random_vgg16_features

from iqa_helpers import noise, photo


def _release(seed: int):
    """DISTS_pytorch's own model, its VGG-16 download replaced by the same seeded random trunk."""
    from types import SimpleNamespace

    import DISTS_pytorch.DISTS_pt as release

    def random_vgg16(pretrained=True, **kw):  # the release only reads .features
        return SimpleNamespace(features=random_vgg16_features(seed))

    with mock.patch.object(release.models, "vgg16", random_vgg16):
        return release.DISTS().eval()


@pytest.mark.parametrize("seed", [3])
def test_dists_equals_dists_pytorch_on_a_random_trunk(seed):
    ours = zoo.metric("dists", random_trunk=True, seed=seed)
    theirs = _release(seed)
    x = photo(0, 96, 128)
    y = noise(x, 0.05)
    a = ours(torch.cat([y, x]), torch.cat([x, x]))
    with torch.no_grad():
        b = torch.stack([theirs(x, y), theirs(x, x)])
    assert a.tolist() == pytest.approx(b.double().tolist(), abs=1e-6)
    assert float(a[0]) > 1e-3 and abs(float(a[1])) < 1e-6


def test_published_weights_come_from_the_wheel():
    w = torch.load(dists_weights_file(), weights_only=True)
    assert set(w) == {"alpha", "beta"} and w["alpha"].numel() == sum(CHANNELS) == 1475
    assert (w["alpha"] > 0).any() and (w["beta"] > 0).any()
    net = zoo.metric("dists", random_trunk=True).net
    assert torch.equal(net.alpha.flatten(), w["alpha"].float().flatten())


def test_dists_without_the_vgg_trunk_is_unavailable_with_the_fetch_command(tmp_path):
    old = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path))
    try:
        with pytest.raises(MetricUnavailable, match=r"vgg16-397923af\.pth.*torchvision\.models\.vgg16"):
            zoo.metric("dists")
    finally:
        torch.hub.set_dir(old)


def test_dists_passes_the_kit():
    check_metric(zoo.metric("dists", random_trunk=True), size=64, n=2, atol=1e-5)
