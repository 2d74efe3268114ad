"""Gatys et al. optimisation: the loss reaches a stated fraction of its start, multi-style blending,
colour preservation, texture synthesis, operating-point checks, and the conformance kit."""

import math

import pytest
import torch

import zoo
from zoo.errors import ZooError
from zoo.images import rgb_to_ycbcr
from zoo.testing import check_method
from zoo_stylization.features import gram
from zoo_stylization.gatys import Gatys, style_loss

from conftest import smooth

SMALL = {"size": 32, "iterations": 8}


def test_lbfgs_from_noise_reaches_30_percent_of_the_starting_loss_within_30_iterations():
    m = Gatys(texture=True, fraction=0.3, size=48, iterations=30)
    m.stylize(smooth(1, 48, seed=1), smooth(1, 48, seed=2))
    s = m.stats
    assert s["loss_final"] <= 0.3 * s["loss_start"], s
    assert 1 <= s["evals_to_fraction"] <= s["evaluations"] and s["time_to_fraction_s"] <= s["time_s"]
    assert s["iterations"] <= 30


def test_adam_lowers_the_loss_too():
    m = Gatys(optimizer="adam", lr=0.05, init="noise", size=32, iterations=20, fraction=0.5)
    m.stylize(smooth(1, 32, seed=1), smooth(1, 32, seed=2))
    assert m.stats["loss_final"] <= 0.5 * m.stats["loss_start"], m.stats
    assert not math.isnan(m.stats["time_to_fraction_s"])


def test_style_loss_is_zero_at_the_target_and_positive_elsewhere():
    f = torch.rand(1, 4, 5, 5)
    g = {"a": gram(f)}
    assert float(style_loss(g, g, {"a": 1.0})) == 0.0
    assert float(style_loss({"a": gram(f * 2)}, g, {"a": 1.0})) > 0


def test_blend_with_weights_one_and_zero_equals_single_style():
    c, s1, s2 = smooth(1, 40, seed=1), smooth(1, 40, seed=2), smooth(1, 32, seed=3)
    single = Gatys(**SMALL).stylize(c, s1)
    blended = Gatys(**SMALL).blend(c, [s1, s2], [1.0, 0.0])
    assert torch.allclose(single, blended, atol=1e-6)
    both = Gatys(**SMALL).blend(c, [s1, s2], [0.5, 0.5])
    assert (both - single).abs().max() > 1e-3  # the second style matters once it has weight


def test_blend_target_is_the_weighted_gram_average():
    m = Gatys(**SMALL)
    s1, s2 = smooth(1, 48, seed=2), smooth(1, 48, seed=3)
    t = m._target_grams([s1, s2], [0.25, 0.75], (48, 48))
    g1, g2 = m.style_grams(s1), m.style_grams(s2)
    for n in m.style_layers:
        assert torch.allclose(t[n], 0.25 * g1[n] + 0.75 * g2[n])


def test_style_grams_are_cached_by_image_content():
    m = Gatys(**SMALL)
    s = smooth(1, 48, seed=2)
    a = m.style_grams(s)
    assert m.style_grams(s.clone()) is a
    assert m.style_grams(smooth(1, 48, seed=3)) is not a


def test_colour_preservation_keeps_the_content_chroma():
    c = smooth(1, 48, seed=1)
    s = torch.rand(1, 3, 48, 48, generator=torch.Generator().manual_seed(2))  # a busy, colourful texture
    y = Gatys(preserve_color=True, size=None, iterations=8, ratio=1e-6).stylize(c, s)
    chroma = lambda x: rgb_to_ycbcr(x)[:, 1:]
    assert (chroma(y) - chroma(c)).abs().mean() < 0.01
    assert (rgb_to_ycbcr(y)[:, :1] - rgb_to_ycbcr(c)[:, :1]).abs().mean() > 0.005  # the luminance did change


def test_texture_synthesis_ignores_the_content():
    s = smooth(1, 48, seed=2)
    a = Gatys(texture=True, **SMALL).stylize(smooth(1, 48, seed=1), s)
    b = Gatys(texture=True, **SMALL).stylize(smooth(1, 48, seed=9), s)
    assert torch.equal(a, b)  # only the size of the content is used
    assert Gatys(texture=True).ratio == 0 and Gatys(texture=True).init == "noise"


def test_runs_under_inference_mode_as_the_harness_calls_it():
    m = Gatys(**SMALL)  # loaded outside, called inside inference mode (the harness, the kit)
    with torch.inference_mode():
        y = m.stylize(smooth(1, 48, seed=1), smooth(1, 48, seed=2))
    assert y.shape == (1, 3, 48, 48)


@pytest.mark.parametrize("option, value", [("optimizer", "sgd"), ("init", "zeros"), ("iterations", 0),
                                           ("ratio", -1.0), ("size", 4), ("fraction", 1.5)])
def test_bad_operating_points_name_the_option_and_value(option, value):
    with pytest.raises(ZooError, match=option):
        Gatys(**{option: value})


def test_unknown_layer_lists_the_network_layers():
    with pytest.raises(ZooError, match="stage2"):
        Gatys(content_layer="relu4_2")


def test_gatys_conformance():
    check_method("gatys-effnet-lite0.imagenet", setting={"ratio": 1e-3, "iterations": 4, "size": 32}, size=32)


def test_gatys_vgg19_conformance_on_a_torchvision_layout_file(tmp_path):
    from zoo_stylization.features import VGG19Features

    g = torch.Generator().manual_seed(0)
    state = {k: torch.randn(v.shape, generator=g) * 0.02 for k, v in VGG19Features().state_dict().items()}
    state["classifier.6.bias"] = torch.zeros(1000)
    torch.save(state, tmp_path / "vgg19-dcbb9e9d.pth")
    m = check_method("gatys-vgg19.imagenet", setting={"ratio": 1e-3, "iterations": 3, "size": 32}, size=32,
                     weights=str(tmp_path / "vgg19-dcbb9e9d.pth"))
    assert m.net.pool == "avg" and m.stats["iterations"] >= 1


def test_card_names_the_offline_feature_network():
    card = zoo.catalog.get_card("gatys-effnet-lite0.imagenet")
    assert "EfficientNet-Lite0" in card.description and card.params["net"] == "effnet-lite0"
    assert [s["ratio"] for s in card.settings] == [1e-6, 1e-5, 1e-4]
