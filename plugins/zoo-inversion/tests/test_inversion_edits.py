"""Editing API: interpolation (endpoints, slerp in z, strip and GIF), style mixing, scribble edits,
inpainting, and PULSE-style super-resolution (also as a registered super-resolution method)."""

import pytest
import torch

import zoo
from zoo.datasets.degrade import bicubic_down, imresize
from zoo.errors import ContractError
from zoo_inversion import edits
from zoo_inversion.metrics import masked_psnr
from zoo_inversion.offline import lfw_faces

torch.set_num_threads(1)

#: stated thresholds (README)
OUTSIDE_PSNR = 15.0     # scribble edit (lam 10, 60 steps): outside the mask stays above this PSNR vs the start (measured 17.0)
PULSE_LR_PSNR = 21.0    # PULSE x4, 100 steps: bicubic-down(output) vs the LR input of held-out faces (measured 24.5, 27.8)


@pytest.fixture(scope="module")
def inverted():
    m = zoo.load("sg2-optim.lfw32", space="w+", steps=60, perceptual=0.0, lr=0.1)
    x = lfw_faces("heldout")[:2]
    return m, x, m.invert(x[:1]), m.invert(x[1:2])


def test_interpolation_endpoints_reproduce_the_two_inversions(inverted):
    m, _, a, b = inverted
    frames = edits.interpolation_frames(m, a, b, n=5)
    assert frames.shape == (5, 3, 32, 32)
    assert torch.equal(frames[0:1], m.generate(a)) and torch.equal(frames[-1:], m.generate(b))
    mid = m.generate(edits.interpolate(a, b, 0.5))
    assert not torch.equal(mid, frames[0:1]) and not torch.equal(mid, frames[-1:])


def test_slerp_in_z_keeps_the_norm_and_lerp_in_w(inverted):
    a, b = torch.randn(1, 64), torch.randn(1, 64)
    b = b * a.norm() / b.norm()
    mid = edits.slerp(a, b, 0.3)
    assert torch.allclose(mid.norm(), a.norm(), rtol=1e-4)
    za, zb = zoo.tasks.Latent("z", a), zoo.tasks.Latent("z", b)
    assert torch.allclose(edits.interpolate(za, zb, 0.3).code, mid)
    wa, wb = zoo.tasks.Latent("w", a), zoo.tasks.Latent("w", b)
    assert torch.allclose(edits.interpolate(wa, wb, 0.3).code, torch.lerp(a, b, 0.3))
    with pytest.raises(ContractError, match="spaces"):
        edits.interpolate(za, wb, 0.5)


def test_strip_and_gif_writers(inverted, tmp_path):
    from PIL import Image

    m, _, a, b = inverted
    frames = edits.interpolation_frames(m, a, b, n=4)
    strip = edits.write_strip(tmp_path / "strip.png", frames)
    assert Image.open(strip).size == (4 * 32, 32)
    gif = Image.open(edits.write_gif(tmp_path / "path.gif", frames))
    assert gif.n_frames == 4 + 2  # there and back


def test_style_mixing_swaps_the_named_layer_groups(inverted):
    m, _, a, b = inverted
    assert list(edits.style_layers(8, 32, "coarse")) == [0, 1, 2, 3]
    assert list(edits.style_layers(8, 32, "middle")) == [4, 5]
    assert list(edits.style_layers(8, 32, "fine")) == [6, 7]
    assert list(edits.style_layers(18, 1024, "coarse")) == [0, 1, 2, 3]
    assert list(edits.style_layers(18, 1024, "middle")) == [4, 5, 6, 7]
    assert list(edits.style_layers(18, 1024, "fine")) == list(range(8, 18))
    mixed = edits.style_mix(m, a, b, "coarse")
    assert torch.equal(mixed.code[:, :4], b.code[:, :4]) and torch.equal(mixed.code[:, 4:], a.code[:, 4:])
    with pytest.raises(ContractError, match="group"):
        edits.style_mix(m, a, b, "everything")


def test_scribble_edit_moves_the_mask_towards_the_scribble_and_keeps_the_rest(inverted):
    m, _, a, _ = inverted
    start = m.generate(a)
    mask = torch.zeros(1, 1, 32, 32)
    mask[..., 8:20, 8:24] = 1
    scribble = start.clone()
    scribble[..., 8:20, 8:24] = torch.tensor([0.9, 0.9, 0.9]).view(1, 3, 1, 1)  # paint a bright patch
    edited = m.generate(edits.scribble_edit(m, a, scribble, mask, lam=10.0, steps=60))
    before = float(masked_psnr(start, scribble, mask))
    after = float(masked_psnr(edited, scribble, mask))
    assert after > before + 6.0, (before, after)  # measured 9.3 -> 21.4 dB
    assert float(masked_psnr(edited, start, 1 - mask)) > OUTSIDE_PSNR


def test_a_mask_of_the_wrong_size_is_refused(inverted):
    m, _, a, _ = inverted
    with pytest.raises(ContractError, match=r"mask is 16x16.*32x32"):
        edits.scribble_edit(m, a, torch.rand(1, 3, 32, 32), torch.ones(1, 1, 16, 16))
    with pytest.raises(ContractError, match="mask"):
        edits.inpaint(m, torch.rand(1, 3, 32, 32), torch.ones(1, 1, 32, 31))


def test_inpainting_keeps_known_pixels_and_fills_the_hole_plausibly(inverted):
    m, x, _, _ = inverted
    mask = torch.zeros(1, 1, 32, 32)
    mask[..., 12:22, 10:22] = 1
    out, lat = edits.inpaint(m, x[:1], mask, steps=60)
    assert torch.equal(out * (1 - mask), x[:1] * (1 - mask))
    filled = float(masked_psnr(out, x[:1], mask))
    grey = float(masked_psnr(torch.full_like(out, 0.5), x[:1], mask))
    assert filled > grey + 2.0, (filled, grey)  # measured 21.6 vs 17.9 dB


def test_pulse_output_downscaled_matches_the_lr_input():
    sr = zoo.load("pulse-sg2.lfw32", scale=4, steps=100)
    hr = lfw_faces("heldout")[:2]
    lr, _ = bicubic_down(hr, 4)
    out = sr.upscale(lr)
    assert out.shape == (2, 3, 32, 32)
    down = imresize(out, size=(8, 8)).clamp(0, 1)
    for i in range(2):
        p = float(-10 * torch.log10((down[i] - lr[i]).pow(2).mean()))
        assert p >= PULSE_LR_PSNR, p
    assert sr.stats["lr_psnr"] >= PULSE_LR_PSNR
    with pytest.raises(ContractError, match=r"8x8"):
        sr.upscale(torch.rand(1, 3, 10, 10))


def test_method_edit_is_invert_then_scribble_edit(inverted):
    m, x, _, _ = inverted
    mask = torch.zeros(1, 1, 32, 32)
    mask[..., 4:12, 4:28] = 1
    scribble = x[:1] * (1 - mask) + 0.1 * mask
    out = m.edit(x[:1], mask, scribble, steps=30)
    assert out.shape == (1, 3, 32, 32) and m.stats["edit_steps"] == 30.0
    assert float(masked_psnr(out, scribble, mask)) > float(masked_psnr(m.generate(m.invert(x[:1])), scribble, mask))


def test_the_methods_interpolate_is_spherical_in_z():
    m = zoo.load("sg2-optim.lfw32", space="z")
    a, b = zoo.tasks.Latent("z", torch.randn(1, 64)), zoo.tasks.Latent("z", torch.randn(1, 64))
    assert torch.allclose(m.interpolate(a, b, 0.4).code, edits.slerp(a.code, b.code, 0.4))


def test_edit_steps_and_lam_are_operating_points_of_the_edit_benchmark():
    from zoo.errors import OptionsError

    m = zoo.load("sg2-optim.lfw32", space="w+", steps=3, perceptual=0.0, edit_steps=4, edit_lam=1.0)
    x = lfw_faces("heldout")[:1]
    mask = torch.zeros(1, 1, 32, 32)
    mask[..., 4:12, 4:28] = 1
    m.edit(x, mask, x * (1 - mask) + 0.9 * mask)
    assert m.stats["edit_steps"] == 4.0 and m.edit_lam == 1.0
    with pytest.raises(OptionsError, match="edit_steps"):
        zoo.load("sg2-optim.lfw32", edit_steps=0)
