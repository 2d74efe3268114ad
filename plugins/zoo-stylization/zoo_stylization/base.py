"""Helpers shared by the stylizers: option checks, style pairing, resizing, luminance transfer."""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F

from zoo.errors import ContractError, OptionsError
from zoo.images import rgb_to_ycbcr, ycbcr_to_rgb



def pair_styles(who: str, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """One style image per content image: a batch of N, or 1 shared by all."""
    if style.shape[0] == content.shape[0]:
        return style
    if style.shape[0] == 1:
        return style.expand(content.shape[0], -1, -1, -1)
    raise ContractError(f"{who}: {style.shape[0]} style images for {content.shape[0]} content images; pass 1 or {content.shape[0]}")


def resize_long(x: torch.Tensor, size: int | None) -> torch.Tensor:
    """Resize so the longer side is ``size`` (bicubic, antialiased), keeping the aspect ratio."""
    if size is None:
        return x
    h, w = x.shape[-2:]
    s = size / max(h, w)
    hw = (max(1, round(h * s)), max(1, round(w * s)))
    if hw == (h, w):
        return x
    return F.interpolate(x, size=hw, mode="bicubic", antialias=True, align_corners=False).clamp(0, 1)


def resize_to(x: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
    if tuple(x.shape[-2:]) == tuple(hw):
        return x
    return F.interpolate(x, size=hw, mode="bicubic", antialias=True, align_corners=False).clamp(0, 1)


def luminance(x: torch.Tensor) -> torch.Tensor:
    """BT.601 luma rescaled to [0, 1], replicated to three channels (a grey RGB image)."""
    y = (rgb_to_ycbcr(x)[:, :1] * 255 - 16) / 219
    return y.clamp(0, 1).expand(-1, 3, -1, -1).contiguous()


def match_luminance(style_grey: torch.Tensor, content_grey: torch.Tensor) -> torch.Tensor:
    """Shift and scale the style's luminance to the content's mean and std (Gatys et al. 2016b, eq. 1)."""
    sm, ss = style_grey.mean((-2, -1), keepdim=True), style_grey.std((-2, -1), keepdim=True)
    cm, cs = content_grey.mean((-2, -1), keepdim=True), content_grey.std((-2, -1), keepdim=True)
    return ((style_grey - sm) / (ss + 1e-6) * cs + cm).clamp(0, 1)


def with_content_colour(stylized: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Luminance of ``stylized`` with the chroma (Cb, Cr) of ``content``: colour preservation."""
    y = luminance(stylized)[:, :1] * 219 / 255 + 16 / 255
    return ycbcr_to_rgb(torch.cat([y, rgb_to_ycbcr(content)[:, 1:]], 1)).clamp(0, 1)


def check_blend(who: str, styles: Sequence[torch.Tensor], weights: Sequence[float] | None) -> list[float]:
    """Validated blend weights for several style images (default: equal), normalised to sum 1."""
    if not styles:
        raise OptionsError(who, "styles", styles, "one or more style images")
    w = [1.0] * len(styles) if weights is None else [float(v) for v in weights]
    if len(w) != len(styles):
        raise OptionsError(who, "weights", list(weights or []), f"{len(styles)} numbers, one per style image")
    if any(v < 0 for v in w) or sum(w) <= 0:
        raise OptionsError(who, "weights", w, "non-negative numbers with a positive sum")
    total = sum(w)
    return [v / total for v in w]
