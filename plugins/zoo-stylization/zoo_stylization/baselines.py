"""Weight-free colour baselines: the floor every stylizer is compared with.

* Reinhard colour transfer: Reinhard, Ashikhmin, Gooch and Shirley, "Color Transfer between
  Images", IEEE CG&A 2001. Each channel of the content is shifted and scaled so that its mean
  and standard deviation equal the style's. The paper works in Ruderman's l-alpha-beta space;
  here it is CIELAB (D65), as most re-implementations do.
* Histogram matching: each RGB channel of the content is mapped through the style's quantile
  function, so its histogram becomes the style's (classic histogram specification, Gonzalez
  and Woods, "Digital Image Processing").
"""

from __future__ import annotations

import torch

from zoo.images import lab_to_rgb, rgb_to_lab
from zoo.tasks import Stylizer
from zoo_stylization.base import pair_styles


def reinhard_lab(content_lab: torch.Tensor, style_lab: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Per-channel mean/std transfer on ``... x 3 x H x W`` Lab tensors (population std)."""
    cm = content_lab.mean((-2, -1), keepdim=True)
    cs = content_lab.std((-2, -1), keepdim=True, correction=0)
    sm = style_lab.mean((-2, -1), keepdim=True)
    ss = style_lab.std((-2, -1), keepdim=True, correction=0)
    return (content_lab - cm) / (cs + eps) * ss + sm


def reinhard(content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """Reinhard transfer of RGB images in [0, 1]; computed in float64 Lab, clamped to the sRGB gamut."""
    lab = reinhard_lab(rgb_to_lab(content.double()), rgb_to_lab(style.double()))
    return lab_to_rgb(lab).to(content.dtype)


def match_histograms(content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """Map each channel of ``content`` (C x H x W) through the quantile function of ``style``.

    Pixel ``k`` of rank ``r`` among ``n`` takes the style's value at quantile ``(r + 0.5) / n``
    (linear interpolation between the sorted style values), so equal sizes give exactly the
    style's sorted values.
    """
    c, h, w = content.shape
    src = content.reshape(c, -1).double()
    ref = style.reshape(c, -1).double().sort(dim=1).values
    n, m = src.shape[1], ref.shape[1]
    order = src.argsort(dim=1, stable=True)
    pos = ((torch.arange(n, dtype=torch.float64) + 0.5) / n * m - 0.5).clamp(0, m - 1)
    lo = pos.floor().long()
    hi = (lo + 1).clamp(max=m - 1)
    frac = pos - lo
    values = ref[:, lo] * (1 - frac) + ref[:, hi] * frac
    out = torch.empty_like(src)
    out.scatter_(1, order, values)
    return out.reshape(c, h, w).to(content.dtype)


class Reinhard(Stylizer):
    """Reinhard et al. (IEEE CG&A 2001) colour transfer: Lab mean and std of the style image."""

    needs_style = True

    def _stylize(self, content: torch.Tensor, style: torch.Tensor | None) -> torch.Tensor:
        return torch.stack([reinhard(c, s) for c, s in zip(content, pair_styles(self.id, content, style))]).clamp(0, 1)


class HistogramMatching(Stylizer):
    """Per-channel RGB histogram specification to the style image's histogram."""

    needs_style = True

    def _stylize(self, content: torch.Tensor, style: torch.Tensor | None) -> torch.Tensor:
        return torch.stack([match_histograms(c, s) for c, s in zip(content, pair_styles(self.id, content, style))]).clamp(0, 1)
