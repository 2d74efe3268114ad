"""Synthetic data for the probe tests: Monk swatches, Lab edits and checkerboard offsets."""

import torch

from zoo.images import lab_to_rgb, rgb_to_lab
from zoo_fairness.ita import MONK_SKIN_TONES, swatch

LIGHT, DARK = (1, 2, 3, 4), (6, 7, 8)


def patches(tones, size: int = 8) -> torch.Tensor:
    return torch.stack([swatch(MONK_SKIN_TONES[t], size) for t in tones])


def shift_lightness(x: torch.Tensor, dl: float, where: torch.Tensor | None = None) -> torch.Tensor:
    """Add ``dl`` to L* (in CIELAB) of every image, or of the images flagged in ``where``."""
    lab = rgb_to_lab(x.to(torch.float64))
    add = torch.full((x.shape[0],), float(dl), dtype=torch.float64) if where is None else where.to(torch.float64) * dl
    lab[:, 0] += add.view(-1, 1, 1)
    return lab_to_rgb(lab).to(torch.float32)


def checker(h: int, w: int) -> torch.Tensor:
    yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    return ((yy + xx) % 2 * 2 - 1).to(torch.float32)  # +1 / -1


def offset_by(ref: torch.Tensor, deltas) -> torch.Tensor:
    """ref + delta * (+1/-1 checkerboard): MSE = delta^2 exactly (no clipping on mid-grey)."""
    s = checker(*ref.shape[-2:])
    return torch.stack([(r + float(d) * s).clamp(0, 1) for r, d in zip(ref, deltas)])
