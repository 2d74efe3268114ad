"""Classical interpolation upscalers (no weights): nearest, bilinear, bicubic, Lanczos.

``bicubic`` is MATLAB's ``imresize`` (Keys kernel a=-0.5), the same kernel the harness
uses to make LR images, so bicubic x4 numbers here match published "Bicubic" rows.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from zoo.datasets.degrade import imresize
from zoo.errors import ContractError, OptionsError
from zoo.tasks import SuperResolver

KERNELS = ("nearest", "bilinear", "bicubic", "lanczos")


def _lanczos(x: torch.Tensor, scale: int) -> torch.Tensor:
    """Pillow's Lanczos-3 on float32 planes (no uint8 rounding inside)."""
    n, c, h, w = x.shape
    out = np.empty((n, c, h * scale, w * scale), dtype=np.float32)
    arr = x.detach().cpu().numpy()
    for i in range(n):
        for j in range(c):
            img = Image.fromarray(arr[i, j], mode="F").resize((w * scale, h * scale), Image.LANCZOS)
            out[i, j] = np.asarray(img)
    return torch.from_numpy(out).to(x.device)


class Interpolation(SuperResolver):
    """Upscale by ``scale`` with a fixed interpolation kernel."""

    def __init__(self, kernel: str = "bicubic", scale: int = 4) -> None:
        super().__init__()
        if kernel not in KERNELS:
            raise ContractError(f"interpolation: kernel must be one of {KERNELS}, got {kernel!r}")
        if scale not in (2, 3, 4):
            raise OptionsError("interpolation", "scale", scale, [2, 3, 4])
        self.kernel, self.scale = kernel, scale

    def _upscale(self, lr: torch.Tensor) -> torch.Tensor:
        if self.kernel == "bicubic":
            y = imresize(lr, float(self.scale))
        elif self.kernel == "lanczos":
            y = _lanczos(lr, self.scale)
        elif self.kernel == "bilinear":
            y = F.interpolate(lr, scale_factor=self.scale, mode="bilinear", align_corners=False)
        else:
            y = F.interpolate(lr, scale_factor=self.scale, mode="nearest")
        return y.clamp(0, 1)
