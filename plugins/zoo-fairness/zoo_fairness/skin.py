"""Face and skin region: one mask computed on the reference, applied to reference and output alike.

Faces are found with the frontal-face LBP cascade that scikit-image ships
(``skimage.data.lbp_frontal_face_cascade_filename()``, OpenCV's
``lbpcascade_frontalface``; Liao et al., "Learning Multi-scale Block Local Binary
Patterns for Face Recognition", ICB 2007), run by ``skimage.feature.Cascade``. Nothing
is downloaded. The cascade misses dark faces against a light background (measured on the
counterfactual set: Monk tones 8-10 of the astronaut photograph), a detector bias that would
drop exactly the dark-skinned items; when it finds nothing, it runs once more on the image
after contrast-limited adaptive histogram equalisation (scikit-image ``equalize_adapthist``).

The skin mask is geometric, then relative: an ellipse inside the largest face box
(forehead, cheeks, nose), from which pixels far from the ellipse's own median colour are
removed (hair, eyes, brows, lips, glasses, background), with a tolerance of ``k`` robust
standard deviations (1.4826 MAD) per Lab channel. No fixed colour threshold is used: fixed
HSV/YCrCb skin thresholds drop the darkest or the lightest skin and so are biased by tone.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch

from zoo.images import rgb_to_lab

REGIONS = ("face", "whole")


@dataclass(frozen=True)
class Box:
    """A face box in pixels: top row, left column, height, width."""

    top: int
    left: int
    height: int
    width: int


@functools.lru_cache(maxsize=1)
def _cascade():
    from skimage.data import lbp_frontal_face_cascade_filename
    from skimage.feature import Cascade

    return Cascade(lbp_frontal_face_cascade_filename())


def detect_faces(image: torch.Tensor, min_size: int | None = None) -> list[Box]:
    """Frontal faces in a 3 x H x W image, largest first.

    Args:
        min_size: smallest face side in pixels (default: max(24, min(H, W) // 10)); the
            cascade's own window is 24 x 24.
    """
    h, w = image.shape[-2:]
    side = min(h, w)
    if side < 24:
        return []
    gray = (0.2125 * image[0] + 0.7154 * image[1] + 0.0721 * image[2]).to(torch.float64).cpu().numpy()
    lo = max(24, side // 10) if min_size is None else max(24, int(min_size))
    found = _cascade().detect_multi_scale(img=np.ascontiguousarray(gray), scale_factor=1.2, step_ratio=1,
                                          min_size=(lo, lo), max_size=(side, side))
    if not found:  # the cascade misses dark faces on light backgrounds: retry on locally equalised contrast
        from skimage.exposure import equalize_adapthist

        eq = equalize_adapthist(np.clip(gray, 0, 1), clip_limit=0.02)
        found = _cascade().detect_multi_scale(img=np.ascontiguousarray(eq), scale_factor=1.2, step_ratio=1,
                                              min_size=(lo, lo), max_size=(side, side))
    boxes = [Box(int(d["r"]), int(d["c"]), int(d["height"]), int(d["width"])) for d in found]
    return sorted(boxes, key=lambda b: -b.height * b.width)


def ellipse_mask(h: int, w: int, box: Box, rx: float = 0.34, ry: float = 0.42, cy: float = 0.55) -> torch.Tensor:
    """H x W bool ellipse centred in ``box`` (centre at ``cy`` of its height), semi-axes rx*width, ry*height."""
    yy = torch.arange(h, dtype=torch.float64).view(-1, 1)
    xx = torch.arange(w, dtype=torch.float64).view(1, -1)
    y0, x0 = box.top + cy * box.height, box.left + 0.5 * box.width
    return ((xx - x0) / (rx * box.width)) ** 2 + ((yy - y0) / (ry * box.height)) ** 2 <= 1.0


def reject_outliers(lab: torch.Tensor, mask: torch.Tensor, k: float = 2.5, floor: float = 1.0) -> torch.Tensor:
    """Keep mask pixels within ``k`` robust SDs (1.4826 MAD, at least ``floor``) of the median, per Lab channel."""
    keep = mask.clone()
    for c in range(3):
        v = lab[c][mask]
        if v.numel() == 0:
            return keep
        med = v.median()
        mad = max(float((v - med).abs().median()) * 1.4826, floor)
        keep &= (lab[c] - med).abs() <= k * mad
    return keep


@dataclass(frozen=True)
class SkinRegion:
    """The mask (None when there is none, with ``reason``), the face box it came from, and its share of the image."""

    mask: torch.Tensor | None
    box: Box | None
    fraction: float
    reason: str | None = None


def skin_region(image: torch.Tensor, region: str = "face", k: float = 2.5, min_pixels: int = 64,
                lab: torch.Tensor | None = None, box: Box | None = None) -> SkinRegion:
    """The skin mask of one 3 x H x W image.

    Args:
        region: ``face`` (detect, ellipse, outlier rejection) or ``whole`` (every pixel, then
            outlier rejection: for images that are already skin crops or uniform patches).
        k: outlier tolerance in robust SDs.
        min_pixels: a smaller region is reported as missing.
        box: the face box, when it is known (``face`` only): no detection.
    """
    if region not in REGIONS:
        raise ValueError(f"region {region!r} is not one of {REGIONS}")
    h, w = image.shape[-2:]
    lab = rgb_to_lab(image.to(torch.float64)) if lab is None else lab
    if region == "face":
        if box is None:
            faces = detect_faces(image)
            if not faces:
                return SkinRegion(None, None, 0.0, f"no frontal face found by the LBP cascade in the {w}x{h} reference")
            box = faces[0]
        base = ellipse_mask(h, w, box)
    else:
        box = None
        base = torch.ones(h, w, dtype=torch.bool)
    mask = reject_outliers(lab, base, k)
    n = int(mask.sum())
    if n < min_pixels:
        return SkinRegion(None, box, n / (h * w), f"skin region has {n} pixels after outlier rejection (fewer than {min_pixels})")
    return SkinRegion(mask, box, n / (h * w), None)
