"""Pieces shared by the two training scripts: init, GAN losses, patch sampling, evaluation."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def init_weights(net: nn.Module, gain: float = 0.02) -> nn.Module:
    """The pix2pix / CycleGAN initialisation: N(0, 0.02) convolutions, N(1, 0.02) batch-norm scales."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)
    return net


def gan_loss(pred: torch.Tensor, real: bool, mode: str) -> torch.Tensor:
    """``vanilla`` (BCE on logits, pix2pix) or ``lsgan`` (least squares, CycleGAN)."""
    target = torch.ones_like(pred) if real else torch.zeros_like(pred)
    if mode == "vanilla":
        return F.binary_cross_entropy_with_logits(pred, target)
    if mode == "lsgan":
        return F.mse_loss(pred, target)
    raise ValueError(f"gan mode must be 'vanilla' or 'lsgan', got {mode!r}")


def paired_patches(pairs: list[tuple[torch.Tensor, torch.Tensor]], n: int, size: int, gen: torch.Generator
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` aligned random crops (half mirrored) of (input, target) image pairs."""
    xs, ys = [], []
    for _ in range(n):
        x, y = pairs[int(torch.randint(len(pairs), (1,), generator=gen))]
        h, w = x.shape[-2:]
        top = int(torch.randint(h - size + 1, (1,), generator=gen))
        left = int(torch.randint(w - size + 1, (1,), generator=gen))
        px, py = x[:, top : top + size, left : left + size], y[:, top : top + size, left : left + size]
        if torch.rand(1, generator=gen) < 0.5:
            px, py = px.flip(-1), py.flip(-1)
        xs.append(px)
        ys.append(py)
    return torch.stack(xs), torch.stack(ys)
