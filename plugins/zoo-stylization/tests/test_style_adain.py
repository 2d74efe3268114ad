"""AdaIN controls: alpha = 0 is the decoder's reconstruction, blending with weights (1, 0) is
single-style transfer, masks, colour preservation; the conformance kit on the official layout
(seeded weights) and on the EfficientNet-Lite0 variant."""

import pytest
import torch

from zoo.errors import ContractError, ZooError
from zoo.testing import check_method
from zoo_stylization.adain import AdaIN, AdaINLite, adain, coral, mean_std

from conftest import smooth


def official(**options) -> AdaIN:
    torch.manual_seed(0)
    m = AdaIN(**options)  # PyTorch's default init, seeded: outputs of moderate size
    state = {k: v * (2.5 if k.endswith("weight") else 1.0) for k, v in m.state_dict().items()}
    state["decoder.28.bias"] = torch.full((3,), 0.5)  # around mid-grey, not clamped away
    m.load_weights(state)
    m.id = "adain-test"
    return m.eval()


def test_adain_statistics_become_the_style_statistics():
    c, s = torch.randn(2, 8, 6, 7) * 3 + 1, torch.randn(2, 8, 5, 5) * 0.5 - 2
    t = adain(c, s)
    (tm, ts), (sm, ss) = mean_std(t), mean_std(s)
    assert torch.allclose(tm, sm, atol=1e-5) and torch.allclose(ts, ss, atol=1e-3)


def test_alpha_zero_returns_the_decoder_reconstruction_of_the_content():
    m = official(alpha=0.0)
    c, s = smooth(1, 40, seed=1), smooth(1, 40, seed=2)
    assert torch.allclose(m.stylize(c, s), m.reconstruct(c), atol=1e-6)
    assert (official(alpha=1.0).stylize(c, s) - m.reconstruct(c)).abs().max() > 1e-3


def test_blend_with_weights_one_and_zero_equals_single_style_and_mixes_otherwise():
    m = official()
    c, s1, s2 = smooth(1, 40, seed=1), smooth(1, 40, seed=2), smooth(1, 32, seed=3, w=48)
    single = m.stylize(c, s1)
    assert torch.allclose(m.blend(c, [s1, s2], [1.0, 0.0]), single, atol=1e-6)
    assert (m.blend(c, [s1, s2], [0.5, 0.5]) - single).abs().max() > 1e-3
    with pytest.raises(ZooError, match="weights"):
        m.blend(c, [s1, s2], [1.0])


def test_mask_of_ones_uses_only_the_foreground_style():
    m = official()
    c, s1, s2 = smooth(1, 40, seed=1), smooth(1, 40, seed=2), smooth(1, 40, seed=3)
    ones = torch.ones(1, 1, 40, 40)
    assert torch.allclose(m.spatial(c, ones, s1, s2), m.stylize(c, s1), atol=1e-5)
    half = torch.zeros(1, 1, 40, 40)
    half[..., :, :20] = 1
    y = m.spatial(c, half, s1, s2)
    assert y.shape == c.shape
    with pytest.raises(ContractError, match="mask"):
        m.spatial(c, torch.ones(1, 1, 8, 8), s1, s2)


def test_colour_preservation_recolours_the_style_with_the_content_statistics():
    c = smooth(1, 32, seed=1)[0]
    s = (smooth(1, 32, seed=2)[0] * torch.tensor([1.0, 0.3, 0.1]).view(3, 1, 1)).clamp(0, 1)
    r = coral(s, c)
    assert torch.allclose(r.reshape(3, -1).mean(1), c.reshape(3, -1).mean(1), atol=0.02)
    a, b = official(preserve_color=True), official()
    assert (a.stylize(c[None], s[None]) - b.stylize(c[None], s[None])).abs().max() > 1e-3


def test_bad_alpha_names_the_option():
    with pytest.raises(ZooError, match="alpha"):
        AdaIN(alpha=1.5)


def test_adain_official_layout_conformance():
    check_method(official(), size=40)


def test_adain_lite_conformance_and_weights_round_trip():
    m = AdaINLite()
    g = torch.Generator().manual_seed(0)
    m.load_weights({f"decoder.{k}": torch.randn(v.shape, generator=g) * 0.05 for k, v in m.decoder.state_dict().items()})
    m2 = AdaINLite()
    m2.load_weights(m.weights_state_dict())
    assert all(torch.equal(a, b) for a, b in zip(m.decoder.state_dict().values(), m2.decoder.state_dict().values()))
    m.id = "adain-lite-test"
    check_method(m.eval(), size=40)
