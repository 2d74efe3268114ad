"""Editing on the generator's manifold, starting from inversions.

Plain functions over a loaded :class:`~zoo_inversion.inverters.GANInverter` (any of the
inversion methods: they share the generator):

* :func:`interpolate` / :func:`interpolation_frames` / :func:`write_strip` / :func:`write_gif`:
  linear in w and w+, spherical in z (Shoemake, "Animating rotation with quaternion
  curves", SIGGRAPH 1985; White, "Sampling Generative Networks", arXiv:1609.04468).
* :func:`style_mix`: swap the coarse / middle / fine codes of w+ (Karras et al., StyleGAN,
  CVPR 2019, arXiv:1812.04948, §3.1).
* :func:`scribble_edit`: latent* = argmin ‖M ⊙ (G(l) − S)‖² + λ‖l − l₀‖² from an inversion
  (Zhu et al., "Generative Visual Manipulation on the Natural Image Manifold", ECCV 2016,
  arXiv:1609.03552).
* :func:`inpaint`: invert only the known pixels, fill the hole from G (Yeh et al.,
  "Semantic Image Inpainting with Deep Generative Models", CVPR 2017, arXiv:1607.07539).
* :func:`pulse_upscale`: PULSE-style super-resolution (Menon et al., CVPR 2020,
  arXiv:2003.03808) — see :mod:`zoo_inversion.pulse`.

Masks are N x 1 x H x W (or 1 x H x W) in [0, 1], 1 = the region edited / filled, at the
size of the generated image.
"""

from __future__ import annotations

from pathlib import Path

import torch

from zoo.errors import ContractError
from zoo.tasks import Latent, check_images
from zoo_inversion.inverters import GANInverter, OptimizationInverter, check_mask, interpolate, scribble_edit, slerp
from zoo_inversion.losses import optimizing, pixel_loss
from zoo_inversion.pulse import pulse_search


# -- interpolation (slerp, interpolate: beside GANInverter in zoo_inversion.inverters) -----------------
@torch.no_grad()
def interpolation_frames(method: GANInverter, a: Latent, b: Latent, n: int = 8) -> torch.Tensor:
    """``n`` frames (n x 3 x H x W) from ``a`` to ``b`` inclusive; each latent must hold one image."""
    if n < 2:
        raise ContractError(f"interpolation_frames: n must be >= 2, got {n}")
    if a.code.shape[0] != 1:
        raise ContractError(f"interpolation_frames: pass latents of one image each, got a batch of {a.code.shape[0]}")
    return torch.cat([method.generate(interpolate(a, b, i / (n - 1))) for i in range(n)])


def write_strip(path: str | Path, frames: torch.Tensor) -> Path:
    """Write frames side by side as one PNG."""
    from zoo.images import write_image

    check_images(frames, "write_strip", "frames")
    return write_image(path, torch.cat(list(frames), dim=-1))


def write_gif(path: str | Path, frames: torch.Tensor, ms_per_frame: int = 120, loop: bool = True) -> Path:
    """Write frames as an animated GIF (there and back when ``loop``)."""
    from PIL import Image

    from zoo.images import to_uint8

    check_images(frames, "write_gif", "frames")
    seq = list(frames) + (list(frames.flip(0))[1:-1] if loop else [])
    imgs = [Image.fromarray(to_uint8(f).permute(1, 2, 0).numpy()) for f in seq]
    path = Path(path)
    imgs[0].save(path, save_all=True, append_images=imgs[1:], duration=ms_per_frame, loop=0)
    return path


# -- style mixing ----------------------------------------------------------------------------------
def layer_resolution(i: int) -> int:
    """Output resolution that w+ code ``i`` modulates (codes 0, 1: 4 px; 2, 3: 8 px; ...)."""
    return 2 ** (i // 2 + 2)


def style_layers(n_latent: int, size: int, group: str | tuple[int, int]) -> range:
    """The w+ indices of a layer group: ``coarse`` (4-8 px), ``middle`` (16-32 px, or up to
    size/2 for small generators), ``fine`` (the rest), or an explicit ``(start, stop)``."""
    if isinstance(group, (tuple, list)):
        start, stop = int(group[0]), int(group[1])
        if not 0 <= start < stop <= n_latent:
            raise ContractError(f"style_layers: range {group} must satisfy 0 <= start < stop <= {n_latent}")
        return range(start, stop)
    top_middle = 32 if size >= 64 else size // 2
    res = [layer_resolution(i) for i in range(n_latent)]
    groups = {
        "coarse": [i for i, r in enumerate(res) if r <= 8],
        "middle": [i for i, r in enumerate(res) if 8 < r <= top_middle],
        "fine": [i for i, r in enumerate(res) if r > top_middle],
    }
    if group not in groups:
        raise ContractError(f"style_layers: group must be 'coarse', 'middle', 'fine' or (start, stop), got {group!r}")
    idx = groups[group]
    return range(idx[0], idx[-1] + 1) if idx else range(0)


def _as_wplus(method: GANInverter, latent: Latent) -> torch.Tensor:
    with torch.no_grad():
        return method.to_wplus(latent.code.to(method.device), latent.space).clone()


def style_mix(method: GANInverter, base: Latent, donor: Latent, group: str | tuple[int, int] = "fine") -> Latent:
    """``base`` with the w+ codes of ``group`` taken from ``donor`` (both converted to w+)."""
    wa, wb = _as_wplus(method, base), _as_wplus(method, donor)
    if wa.shape != wb.shape:
        raise ContractError(f"style_mix: latent batches differ {tuple(wa.shape)} vs {tuple(wb.shape)}")
    layers = style_layers(method.generator.n_latent, method.size, group)
    wa[:, layers.start: layers.stop] = wb[:, layers.start: layers.stop]
    return Latent("w+", wa, {k: v for k, v in base.extras.items() if k != "noise"})


def generate_any(method: GANInverter, latent: Latent) -> torch.Tensor:
    """Generate from a latent in any space (the method's own ``generate`` checks the space)."""
    with torch.no_grad():
        return method.synthesize(latent.code.to(method.device), latent.extras.get("noise"), latent.space)


# -- masked edits (check_mask, scribble_edit: beside GANInverter in zoo_inversion.inverters) ----------
def inpaint(method: OptimizationInverter, x: torch.Tensor, mask: torch.Tensor, steps: int | None = None) -> tuple[torch.Tensor, Latent]:
    """Fill the masked region (mask 1 = missing) of ``x`` from an inversion of the known pixels.

    Returns (composite image: known pixels kept, hole from G; the latent).
    """
    if not isinstance(method, OptimizationInverter):
        raise ContractError(f"inpaint: needs an optimisation or hybrid inversion method, got {type(method).__name__}")
    x = method._fit_size(method._in(x))
    mask = check_mask(method, mask, x.shape[0])
    with optimizing():
        x, mask = x.clone(), mask.clone()
        known = 1 - mask
        code, noise, _, _ = method.fit(x, method.start_code(x * known + 0.5 * mask, 0), mask=known, steps=steps)
    with torch.no_grad():
        y = method.synthesize(code, noise)
    return x * known + y * mask, method._latent(code, x, noise)


def masked_psnr(x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR (dB) over the pixels where ``mask`` is 1."""
    mse = pixel_loss(x, y, "l2", mask).clamp_min(1e-12)
    return -10 * torch.log10(mse)


def pulse_upscale(method: GANInverter, lr: torch.Tensor, scale: int, **options) -> torch.Tensor:
    """PULSE-style super-resolution with ``method``'s generator; see :class:`zoo_inversion.pulse.PulseSR`."""
    return pulse_search(method, lr, scale, **options)[0]


__all__ = [
    "interpolate", "interpolation_frames", "write_strip", "write_gif", "slerp", "style_mix", "style_layers",
    "scribble_edit", "inpaint", "masked_psnr", "pulse_upscale", "generate_any", "layer_resolution", "check_mask",
]
