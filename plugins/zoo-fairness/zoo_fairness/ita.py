"""Individual Typology Angle (ITA): a classifier-free skin-tone measurement in CIELAB.

ITA = atan((L* - 50) / b*) * 180 / pi over skin pixels, with L* and b* from sRGB converted
to CIELAB (D65, 2 degree observer; :func:`zoo.images.rgb_to_lab`, the same formula as
scikit-image's ``rgb2lab``). Higher is lighter; the range is (-90, 90) degrees.

Chardon, Cretois and Hourseau, "Skin colour typology and suntanning pathways", Int. J.
Cosmetic Science 13(4), 1991 (the angle); Del Bino et al., "Relationship between skin
response to ultraviolet exposure and skin color type", Pigment Cell Research 19(6), 2006
(the six categories in :data:`DEL_BINO`).

What ITA is not: race, ethnicity or Fitzpatrick phototype. Lighting and white balance move
it, so this module's main use is *paired*: the same pixels of a reference and of a method's
output, where lighting is shared and only the method differs.

The angle is unstable as b* approaches 0 (grey or grayscale pixels) and meaningless for
b* < 0 (bluish, not skin): :func:`skin_tone` then returns NaN with the reason, it never
drops the item silently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from zoo.images import rgb_to_lab

#: Del Bino et al. 2006 six categories as (name, lower bound exclusive); the last has none.
#: very_light > 55 >= light > 41 >= intermediate > 28 >= tan > 10 >= brown > -30 >= dark.
DEL_BINO: tuple[tuple[str, float], ...] = (
    ("very_light", 55.0), ("light", 41.0), ("intermediate", 28.0), ("tan", 10.0), ("brown", -30.0),
    ("dark", -math.inf),
)
DEL_BINO_CLASSES: tuple[str, ...] = tuple(name for name, _ in DEL_BINO)

#: Monk Skin Tone scale (Ellis Monk / Google, 2022): the ten published swatch colours.
MONK_SKIN_TONES: dict[int, str] = {
    1: "#f6ede4", 2: "#f3e7db", 3: "#f7ead0", 4: "#eadaba", 5: "#d7bd96",
    6: "#a07e56", 7: "#825c43", 8: "#604134", 9: "#3a312a", 10: "#292420",
}

STATISTICS = ("trimmed", "median", "mean")


def hex_to_rgb(code: str) -> tuple[float, float, float]:
    """``"#a07e56"`` -> (R, G, B) floats in [0, 1]."""
    s = code.lstrip("#")
    if len(s) != 6:
        raise ValueError(f"colour {code!r} is not a #rrggbb hex code")
    return tuple(int(s[i : i + 2], 16) / 255.0 for i in (0, 2, 4))  # type: ignore[return-value]


def swatch(code: str, size: int = 8) -> torch.Tensor:
    """A uniform ``3 x size x size`` float32 patch of one hex colour."""
    return torch.tensor(hex_to_rgb(code), dtype=torch.float32).view(3, 1, 1).expand(3, size, size).clone()


def ita_degrees(lightness: float | torch.Tensor, b: float | torch.Tensor) -> float | torch.Tensor:
    """ITA in degrees from L* and b* (elementwise for tensors): atan((L* - 50) / b*) * 180 / pi."""
    if isinstance(lightness, torch.Tensor) or isinstance(b, torch.Tensor):
        lightness, b = torch.as_tensor(lightness, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
        return torch.rad2deg(torch.atan((lightness - 50.0) / b))
    return math.degrees(math.atan((lightness - 50.0) / b))


def del_bino(ita: float) -> str | None:
    """Del Bino category of an ITA value (None for NaN)."""
    if ita != ita:
        return None
    for name, lower in DEL_BINO:
        if ita > lower:
            return name
    return DEL_BINO[-1][0]


def bin_index(ita: float, thresholds: tuple[float, ...]) -> int | None:
    """Index of the bin of ``ita`` for descending lower bounds ``thresholds`` (len K-1): 0 = lightest."""
    if ita != ita:
        return None
    for i, lower in enumerate(thresholds):
        if ita > lower:
            return i
    return len(thresholds)


def robust_center(values: torch.Tensor, statistic: str = "trimmed", trim: float = 0.1) -> float:
    """A robust central value of a 1-D tensor.

    Args:
        statistic: ``trimmed`` (mean of the values between the ``trim`` and ``1 - trim``
            quantiles), ``median``, or ``mean``.
        trim: fraction cut from each end for ``trimmed``, in [0, 0.5).
    """
    if statistic not in STATISTICS:
        raise ValueError(f"statistic {statistic!r} is not one of {STATISTICS}")
    v = values.to(torch.float64).flatten()
    if v.numel() == 0:
        return math.nan
    if statistic == "median":
        return float(v.median())
    if statistic == "mean" or trim <= 0:
        return float(v.mean())
    if not 0 <= trim < 0.5:
        raise ValueError(f"trim must lie in [0, 0.5), got {trim}")
    s, _ = v.sort()
    k = int(math.floor(trim * s.numel()))
    kept = s[k : s.numel() - k] if s.numel() - 2 * k > 0 else s
    return float(kept.mean())


@dataclass(frozen=True)
class SkinTone:
    """ITA measured over a region; ``ita`` is NaN when ``reason`` says why."""

    ita: float
    lightness: float
    b: float
    n_pixels: int
    reason: str | None = None

    @property
    def category(self) -> str | None:
        return del_bino(self.ita)


def skin_tone(image: torch.Tensor, mask: torch.Tensor | None = None, statistic: str = "trimmed",
              trim: float = 0.1, b_min: float = 1.0, min_pixels: int = 1, lab: torch.Tensor | None = None) -> SkinTone:
    """ITA of one image over ``mask``.

    Robust L* and b* are taken first (per channel, :func:`robust_center`), then the angle:
    the ITA of the robust colour, not the mean of per-pixel angles.

    Args:
        image: 3 x H x W sRGB float in [0, 1].
        mask: H x W bool (None: every pixel).
        b_min: below this |b*| (and for any b* < b_min) the angle is not reported.
        min_pixels: fewer mask pixels than this: not reported.
        lab: the image already converted to Lab (3 x H x W), to skip the conversion.
    """
    if image.dim() != 3 or image.shape[0] != 3:
        raise ValueError(f"skin_tone takes one 3 x H x W image, got shape {tuple(image.shape)}")
    lab = rgb_to_lab(image.to(torch.float64)) if lab is None else lab.to(torch.float64)
    if mask is None:
        lv, bv = lab[0].flatten(), lab[2].flatten()
    else:
        if mask.shape != image.shape[-2:]:
            raise ValueError(f"mask shape {tuple(mask.shape)} differs from image size {tuple(image.shape[-2:])}")
        m = mask.to(torch.bool)
        lv, bv = lab[0][m], lab[2][m]
    n = int(lv.numel())
    if n < max(1, min_pixels):
        return SkinTone(math.nan, math.nan, math.nan, n, f"skin region has {n} pixels (fewer than {max(1, min_pixels)})")
    lightness, b = robust_center(lv, statistic, trim), robust_center(bv, statistic, trim)
    if b < b_min:
        why = "negative (bluish, not a skin colour)" if b < -b_min else f"within {b_min} of 0 (grey or grayscale pixels)"
        return SkinTone(math.nan, lightness, b, n, f"b* = {b:.2f} is {why}: ITA = atan((L*-50)/b*) is undefined or unstable")
    return SkinTone(float(ita_degrees(lightness, b)), lightness, b, n, None)
