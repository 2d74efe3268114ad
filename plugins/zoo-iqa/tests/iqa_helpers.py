"""Images and distortions the parity and known-answer tests share."""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image
from scipy import ndimage

import zoo


def q8(x: torch.Tensor) -> torch.Tensor:
    """Round to uint8 levels, as the harness does to every output."""
    return torch.round(x.clamp(0, 1) * 255) / 255


def photo(i: int, h: int | None = None, w: int | None = None) -> torch.Tensor:
    """Held-out sample photograph ``i`` (1 x 3 x H x W), optionally cropped top-left."""
    x = zoo.dataset("samples", split="heldout")[i].image.unsqueeze(0)
    return q8(x[..., : h or x.shape[-2], : w or x.shape[-1]])


def blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    if not sigma:
        return x
    return q8(torch.from_numpy(np.stack([ndimage.gaussian_filter(c, sigma) for c in x[0].double().numpy()])).float()[None])


def noise(x: torch.Tensor, sigma: float, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return q8(x + sigma * torch.randn(x.shape, generator=g))


def jpeg(x: torch.Tensor, quality: int | None) -> torch.Tensor:
    if quality is None:
        return x
    buf = io.BytesIO()
    Image.fromarray((x[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)).save(buf, "JPEG", quality=quality)
    return torch.from_numpy(np.asarray(Image.open(buf)).astype(np.float32) / 255).permute(2, 0, 1)[None]


DISTORTIONS = {"blur": (blur, [0, 1, 2, 4]), "noise": (noise, [0, 0.02, 0.05, 0.1]), "jpeg": (jpeg, [None, 50, 20, 5])}
