"""Differentiable losses for inversion: pixel, perceptual (EfficientNet-Lite0 stages), latent and noise priors."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

import torch
import torch.nn.functional as F

from zoo.metrics.features import IMAGENET_MEAN, IMAGENET_STD, effnet_lite0


@contextlib.contextmanager
def optimizing() -> Iterator[None]:
    """Gradients on, even when the caller runs under ``torch.inference_mode`` or ``no_grad``.

    Tensors made under inference mode cannot enter autograd: clone inputs inside this block.
    """
    with torch.inference_mode(False), torch.enable_grad():
        yield


@functools.lru_cache(maxsize=1)
def _trunk() -> torch.nn.Module:
    model = effnet_lite0()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def perceptual_features(x: torch.Tensor, size: int = 64, stages: int = 3) -> list[torch.Tensor]:
    """Unit-normalised EfficientNet-Lite0 feature maps (stem + first ``stages`` stages), with gradients.

    The offline ImageNet classifier of :mod:`zoo.metrics.features` (Tan and Le, ICML 2019,
    arXiv:1905.11946) used as an LPIPS-style feature space (Zhang et al., CVPR 2018,
    arXiv:1801.03924) without learned weights. ``x`` in [0, 1] is resized to ``size``.
    """
    m = _trunk().to(x.device)
    if x.shape[-1] != size or x.shape[-2] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=x.shape[-1] > size)
    mean = torch.tensor(IMAGENET_MEAN, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=x.device).view(1, 3, 1, 1)
    h = m.bn1(m.conv_stem((x - mean) / std))
    feats = [h]
    for stage in m.blocks[:stages]:
        h = stage(h)
        feats.append(h)
    return [f / (f.norm(dim=1, keepdim=True) + 1e-8) for f in feats]


def perceptual_distance(x: torch.Tensor, ref_feats: list[torch.Tensor], size: int = 64, stages: int = 3) -> torch.Tensor:
    """Per-image distance (N) between ``x`` and precomputed :func:`perceptual_features` of a reference."""
    total = x.new_zeros(x.shape[0])
    for a, b in zip(perceptual_features(x, size, stages), ref_feats):
        total = total + (a - b).pow(2).sum(1).mean((1, 2))
    return total


def pixel_loss(x: torch.Tensor, y: torch.Tensor, kind: str = "l2", mask: torch.Tensor | None = None) -> torch.Tensor:
    """Per-image mean L2 (squared) or L1 error, over ``mask`` (N x 1 x H x W, 1 = counted) if given."""
    d = (x - y).pow(2) if kind == "l2" else (x - y).abs()
    if mask is None:
        return d.flatten(1).mean(1)
    m = mask.expand_as(d)
    return (d * m).flatten(1).sum(1) / m.flatten(1).sum(1).clamp_min(1.0)


def noise_regularization(noises: list[torch.Tensor]) -> torch.Tensor:
    """Per-image multi-scale autocorrelation penalty of StyleGAN2's noise maps (Karras et al. 2020, §D)."""
    total = noises[0].new_zeros(noises[0].shape[0])
    for n in noises:
        while True:
            total = total + (n * torch.roll(n, 1, dims=3)).mean((1, 2, 3)).pow(2)
            total = total + (n * torch.roll(n, 1, dims=2)).mean((1, 2, 3)).pow(2)
            if n.shape[-1] <= 8:
                break
            n = F.avg_pool2d(n, 2)
    return total


def normalize_noise_(noises: list[torch.Tensor]) -> None:
    """Re-standardise each image's noise maps to zero mean, unit variance (in place)."""
    with torch.no_grad():
        for n in noises:
            mean = n.mean((1, 2, 3), keepdim=True)
            std = n.std((1, 2, 3), keepdim=True)
            n.sub_(mean).div_(std + 1e-8)


def psnr(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR in dB (data range 1)."""
    mse = (x - y).pow(2).flatten(1).mean(1).clamp_min(1e-12)
    return -10 * torch.log10(mse)
