"""A task added by a plugin: denoising. The spec, the method base class and one method.

Degradation: additive white Gaussian noise of standard deviation ``sigma`` (in 8-bit
levels) on the clean image, clipped to [0, 1], drawn from a generator seeded by the item
id so every run and every method sees the same noisy input. Reference: the clean image.
"""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from zoo.errors import ContractError, OptionsError
from zoo.taskspec import Batch, Outcome, Sample, TaskSpec
from zoo.tasks import Method


class Denoiser(Method):
    """``denoise(noisy) -> clean`` of the same shape."""

    task: ClassVar[str] = "denoising"

    def denoise(self, x: torch.Tensor) -> torch.Tensor:
        x = self._in(x)
        y = self._out(self._denoise(x))
        if y.shape != x.shape:
            raise ContractError(f"{self.id}: denoise returned shape {tuple(y.shape)}, expected {tuple(x.shape)}")
        return y

    def _denoise(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


def add_noise(image: torch.Tensor, sigma: float, item_id: str) -> torch.Tensor:
    """``image`` + N(0, (sigma/255)^2), clipped; the noise is a function of the item id alone."""
    seed = int.from_bytes(hashlib.sha256(item_id.encode()).digest()[:8], "little")
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(image.shape, generator=g, dtype=torch.float32)
    return (image + noise * (sigma / 255.0)).clamp(0, 1)


class DenoisingSpec(TaskSpec):
    """Clean image -> noisy input (``noise: {gaussian: SIGMA}``); reference = the clean image."""

    name = "denoising"
    method_class = Denoiser
    bench_keys = {"noise": "{gaussian: SIGMA}: white Gaussian noise, SIGMA in 8-bit levels (e.g. 25)"}

    def validate(self, options: dict[str, Any]) -> str | None:
        noise = options.get("noise")
        if not isinstance(noise, dict) or set(noise) != {"gaussian"}:
            return f"denoising needs `noise: {{gaussian: SIGMA}}`, got {noise!r}"
        sigma = noise["gaussian"]
        if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not 0 < sigma <= 255:
            return f"noise sigma must be a number in (0, 255] (8-bit levels), got {sigma!r}"
        return None

    def sample(self, item: Any, options: dict[str, Any]) -> Sample:
        noisy = add_noise(item.image, float(options["noise"]["gaussian"]), item.id)
        return Sample(item.id, noisy, item.image, dict(item.attributes), dict(item.extras))

    def run(self, method: Denoiser, batch: Batch, options: dict[str, Any]) -> Outcome:
        return Outcome(method.denoise(batch.input))

    def check(self, method: Denoiser, x: torch.Tensor, y: torch.Tensor) -> str | None:
        return None if y.shape == x.shape else f"output shape {tuple(y.shape)} != input {tuple(x.shape)}"


class GaussianBlur(Denoiser):
    """Separable Gaussian blur of standard deviation ``sigma`` pixels (0: identity)."""

    def __init__(self, sigma: float = 1.0) -> None:
        super().__init__()
        if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not 0 <= sigma <= 10:
            raise OptionsError("example-gaussian-blur", "sigma", sigma, "a number of pixels in [0, 10]")
        self.sigma = float(sigma)
        radius = max(1, int(3 * self.sigma + 0.5))
        t = torch.arange(-radius, radius + 1, dtype=torch.float32)
        k = torch.exp(-0.5 * (t / max(self.sigma, 1e-6)) ** 2)
        self.register_buffer("kernel", (k / k.sum()).view(1, 1, 1, -1), persistent=False)

    def _denoise(self, x: torch.Tensor) -> torch.Tensor:
        if self.sigma == 0:
            return x.clone()
        r = self.kernel.shape[-1] // 2
        k = self.kernel.expand(3, 1, 1, -1)
        y = F.conv2d(F.pad(x, (r, r, 0, 0), mode="replicate"), k, groups=3)
        y = F.conv2d(F.pad(y, (0, 0, r, r), mode="replicate"), k.transpose(-1, -2), groups=3)
        return y.clamp(0, 1)
