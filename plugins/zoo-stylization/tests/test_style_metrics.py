"""Style, content and colour metrics: known answers, needs, fingerprints; ArtFID unavailable with the reason."""

import pytest
import torch

import zoo
from zoo.errors import MetricError, MetricUnavailable
from zoo_stylization.features import gram
from zoo_stylization.metrics import ContentDistance, StyleDistance, histogram_distance, style_distance

from conftest import smooth


def test_style_distance_formula_on_known_features():
    f = torch.ones(1, 2, 2, 2)  # gram = ones(2,2)
    g = 2 * torch.ones(1, 2, 2, 2)  # gram = 4 * ones
    d = style_distance({"a": f}, {"a": g})
    assert d.item() == pytest.approx((3.0**2 * 4) / (4 * 2 * 2))
    assert torch.allclose(gram(f), torch.ones(1, 2, 2))


def test_histogram_distance_of_constant_images_is_their_difference():
    a, b = torch.full((1, 3, 8, 8), 0.2), torch.full((1, 3, 8, 8), 0.7)
    assert histogram_distance(a, b, bins=100).item() == pytest.approx(0.5, abs=0.011)
    assert histogram_distance(a, a).item() == 0.0


def test_metrics_are_registered_with_needs_and_network_fingerprints():
    s, c = zoo.metric("style-distance"), zoo.metric("content-distance")
    assert s.needs == ("style",) and c.needs == ("input",) and not s.needs_reference
    assert "effnet-lite0(sha=" in s.fingerprint and "stage2" in c.fingerprint
    assert zoo.metric("color-hist-distance").needs == ("style",)


def test_style_and_content_distances_are_zero_for_identical_images_and_grow_with_change():
    x, y = smooth(2, 48, seed=1), smooth(2, 48, seed=2)
    s, c = StyleDistance(), ContentDistance()
    assert torch.allclose(s(x, style=x), torch.zeros(2, dtype=torch.float64), atol=1e-9)
    assert torch.allclose(c(x, input=x), torch.zeros(2, dtype=torch.float64), atol=1e-9)
    assert (s(x, style=y) > 0).all() and (c(x, input=y) > 0).all()
    # style is size-independent enough to compare with a style image of another size
    assert s(x, style=smooth(2, 64, seed=2)).shape == (2,)


def test_metrics_say_what_they_miss():
    x = smooth(1, 32)
    with pytest.raises(MetricError, match="style"):
        StyleDistance()(x)
    with pytest.raises(MetricError, match="input"):
        ContentDistance()(x)
    with pytest.raises(MetricUnavailable, match="vgg19"):
        StyleDistance(net="vgg19")


def test_artfid_is_unavailable_with_the_reason():
    with pytest.raises(MetricUnavailable, match="art_inception"):
        zoo.metric("artfid")


def test_samples_style_dataset_pairs_heldout_photos_with_package_styles():
    ds = zoo.dataset("samples-style", styles=["ihc"], crop=64)
    assert ds.ids == ["chelsea~ihc", "rocket~ihc", "flower~ihc", "grace_hopper~ihc"]
    item = ds[0]
    assert item.image.shape == (3, 64, 64) and item.extras["style"].shape == (3, 256, 256)
    with pytest.raises(zoo.errors.ZooError, match="starry"):
        zoo.dataset("samples-style", styles=["starry"])


def test_style_pairs_pairs_any_two_datasets():
    ds = zoo.dataset("style-pairs", content={"name": "samples", "split": "heldout"},
                     style={"name": "samples", "split": "train", "limit": 2}, style_size=32, limit=3)
    assert ds.ids == ["chelsea~astronaut", "rocket~coffee", "flower~astronaut"]
    assert ds[1].extras["style"].shape == (3, 32, 32)
    with pytest.raises(zoo.errors.ZooError, match="name"):
        zoo.dataset("style-pairs", content={"split": "heldout"}, style={"name": "samples"})
