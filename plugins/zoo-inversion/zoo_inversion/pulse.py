"""PULSE-style super-resolution by inversion.

Menon et al., "PULSE: Self-Supervised Photo Upsampling via Latent Space Exploration of
Generative Models", CVPR 2020 (arXiv:2003.03808). Searches the latent sphere for a
generated image whose bicubic downscale matches the low-resolution input:

    z_i ∈ √D·S^{D−1} (one per w+ layer) ─► mapping ─► w+ ─► G ─► hr ─► MATLAB bicubic ↓s ─► ‖· − lr‖²
    + geocross · mean pairwise geodesic distance between the z_i; Adam, then re-projection on the sphere

Differences from the paper, stated: the z_i go through the generator's real mapping
network (PULSE approximates it with a Gaussian fit and a leaky ReLU), the noise maps are
the stored ones, and the search runs a fixed number of steps (no early stop at an eps).
:class:`PulseSG1SR` runs the same search with PULSE's own generator (StyleGAN v1 FFHQ 1024,
:mod:`zoo_inversion.stylegan1`) and PULSE's Gaussian-fit latent map instead of the mapping network.
The downscaler is :func:`zoo.datasets.degrade.imresize`, the MATLAB ``imresize`` that
:func:`zoo.datasets.degrade.bicubic_down` uses to make SR benchmarks.
"""

from __future__ import annotations

import math
import time
from typing import Any, ClassVar

import torch

from zoo.datasets.degrade import imresize
from zoo.errors import ContractError, OptionsError
from zoo.tasks import Latent, SuperResolver
from zoo_inversion.inverters import GANInverter
from zoo_inversion.losses import optimizing


def geocross(z: torch.Tensor) -> torch.Tensor:
    """Per-image mean squared pairwise geodesic angle between the per-layer latents (N x L x D)."""
    u = z / z.norm(dim=-1, keepdim=True)
    cos = (u @ u.transpose(1, 2)).clamp(-1 + 1e-6, 1 - 1e-6)
    ang = torch.acos(cos)
    n = z.shape[1]
    return ang.pow(2).sum((1, 2)) / max(n * (n - 1), 1)


def _project(z: torch.Tensor) -> None:
    with torch.no_grad():
        z.mul_(math.sqrt(z.shape[-1]) / z.norm(dim=-1, keepdim=True))


def pulse_search(method: GANInverter, lr_img: torch.Tensor, scale: int, steps: int = 150, step_size: float = 0.5,
                 geocross_weight: float = 0.01, seed: int = 0) -> tuple[torch.Tensor, Latent, dict[str, float]]:
    """Search for HR images (N x 3 x size x size) whose downscale by ``scale`` matches ``lr_img``.

    Returns (hr in [0, 1], the latent as w+, stats with the LR-consistency PSNR).
    """
    size = method.size
    want = (size // scale, size // scale)
    if size % scale or tuple(lr_img.shape[-2:]) != want:
        raise ContractError(
            f"{method.id}: low-resolution input is {tuple(lr_img.shape[-2:])} but this generator makes {size}x{size} "
            f"images, so x{scale} needs {want[0]}x{want[1]} inputs; crop or resize the input, or pick another scale")
    t0 = time.perf_counter()
    n, g = lr_img.shape[0], method.generator
    z0 = torch.randn(1, g.n_latent, g.style_dim, generator=torch.Generator().manual_seed(seed)).to(lr_img.device)
    with optimizing():
        lr_img = lr_img.detach().clone()
        z = z0.expand(n, -1, -1).clone()
        _project(z)
        z.requires_grad_(True)
        opt = torch.optim.Adam([z], lr=step_size)
        for it in range(steps):
            for gr in opt.param_groups:  # linear decay, as PULSE's default schedule
                gr["lr"] = step_size * (1 - it / steps) + 1e-3
            hr = method.synthesize(g.mapping(z.flatten(0, 1)).view(n, g.n_latent, -1), None, "w+")
            down = imresize(hr, size=want)
            loss = (down - lr_img).pow(2).flatten(1).mean(1) + geocross_weight * geocross(z)
            opt.zero_grad(set_to_none=True)
            loss.sum().backward()
            opt.step()
            _project(z)
    with torch.no_grad():
        wplus = g.mapping(z.flatten(0, 1)).view(n, g.n_latent, -1)
        hr = method.synthesize(wplus, None, "w+")
        mse = (imresize(hr, size=want).clamp(0, 1) - lr_img).pow(2).flatten(1).mean(1).clamp_min(1e-12)
    stats = {"iterations": float(steps), "seconds": time.perf_counter() - t0,
             "lr_psnr": float((-10 * torch.log10(mse)).mean())}
    return hr, Latent("w+", wplus), stats


class PulseSR(SuperResolver):
    """PULSE-style x``scale`` super-resolution with a StyleGAN2 generator (Menon et al., CVPR 2020, arXiv:2003.03808).

    Args:
        scale: upscaling factor; the input must be (size / scale) pixels square.
        steps: search iterations (an operating point).
        step_size, geocross_weight, seed: search settings.
        size, style_dim, n_mlp, channel_multiplier, channels: the generator's configuration.
    """

    needs_grad: ClassVar[bool] = True

    def __init__(self, scale: int = 4, steps: int = 150, step_size: float = 0.5, geocross_weight: float = 0.01,
                 seed: int = 0, **generator: Any) -> None:
        super().__init__()
        self.inv = self._searcher(**generator)
        if not isinstance(scale, int) or scale < 1 or self.inv.size % scale:
            raise OptionsError("PulseSR", "scale", scale, f"a divisor of the generator size {self.inv.size} (e.g. 2, 4, 8)")
        if not isinstance(steps, int) or steps < 1:
            raise OptionsError("PulseSR", "steps", steps, "an integer >= 1")
        self.scale, self.steps, self.step_size = scale, steps, float(step_size)
        self.geocross_weight, self.seed = float(geocross_weight), int(seed)
        self.stats: dict[str, float] = {}

    def _searcher(self, **generator: Any) -> Any:
        """The object :func:`pulse_search` drives (size, id, generator.mapping / n_latent / style_dim, synthesize)."""
        return GANInverter(space="w+", **generator)

    def load_weights(self, state: dict, part: str | None = None) -> None:
        if part not in (None, "generator") or any(k.startswith("body.") for k in state):
            return  # an encoder file in a shared catalog entry is not needed here
        self.inv.load_weights(state, "generator")

    def weights_state_dict(self) -> dict[str, torch.Tensor]:
        return self.inv.weights_state_dict()

    def _upscale(self, lr: torch.Tensor) -> torch.Tensor:
        self.inv.id = self.id
        hr, _, self.stats = pulse_search(self.inv, lr, self.scale, self.steps, self.step_size, self.geocross_weight, self.seed)
        return hr


class PulseSG1SR(PulseSR):
    """PULSE x``scale`` super-resolution with PULSE's own generator, StyleGAN v1 FFHQ 1024 (Menon et al., CVPR 2020).

    The search is :func:`pulse_search`, the same as :class:`PulseSR`'s; the latent path is
    PULSE's: 18 per-layer latents on the sphere of radius sqrt(512) ─► ``lrelu(l · std + mean)``
    (Gaussian fit of the mapping network, :class:`zoo_inversion.stylegan1.PulseStyleGAN1`) ─►
    synthesis ─► (y + 1) / 2. Weights: two parts, ``synthesis`` and ``mapping``, PULSE's state
    dicts key for key. Differences from PULSE's defaults: fixed seeded noise maps (PULSE
    optimises the first five), our fixed-step schedule and loss weights, fit on 10^5 samples.

    Args:
        scale, steps, step_size, geocross_weight, seed: as :class:`PulseSR`.
        resolution, dlatent_size, fmap_base, fmap_max: the synthesis network (FFHQ: 1024, 512, 8192, 512).
        fit_samples: mapping samples for the Gaussian fit.
    """

    def _searcher(self, resolution: int = 1024, dlatent_size: int = 512, fmap_base: int = 8192, fmap_max: int = 512,
                  fit_samples: int = 100_000) -> Any:
        from zoo_inversion.stylegan1 import PulseStyleGAN1

        if not isinstance(fit_samples, int) or fit_samples < 2:
            raise OptionsError("PulseSG1SR", "fit_samples", fit_samples, "an integer >= 2")
        return PulseStyleGAN1(resolution, dlatent_size, fmap_base, fmap_max, fit_samples=fit_samples)

    def load_weights(self, state: dict, part: str | None = None) -> None:
        """Load ``synthesis`` (``blocks.*``, ``torgb.*``) or ``mapping`` (``dense0..7``; then fits the Gaussian)."""
        if part is None:
            part = "mapping" if "dense0.weight" in state else "synthesis"
        if part == "synthesis":
            self.inv.synthesis.load_state_dict(state, strict=True)
        elif part == "mapping":
            self.inv.mapping_net.load_state_dict(state, strict=True)
            self.inv.fit_gaussian()
        else:
            raise ValueError(f"{self.id}: unknown weights part {part!r}; expected 'synthesis' or 'mapping'")
        for p in self.inv.parameters():
            p.requires_grad_(False)

    def weights_state_dict(self) -> dict[str, torch.Tensor]:
        """The synthesis network in PULSE's layout (the mapping part is a separate file)."""
        return dict(self.inv.synthesis.state_dict())
