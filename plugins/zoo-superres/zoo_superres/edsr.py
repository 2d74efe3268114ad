"""EDSR and EDSR-baseline in the official layout (``sub_mean``/``head``/``body``/``tail``/``add_mean``).

Lim et al., "Enhanced Deep Residual Networks for Single Image Super-Resolution", CVPRW 2017
(arXiv:1707.02921). Official checkpoints work on RGB in 0-255 with the DIV2K mean
subtracted; this module takes and returns [0, 1] and scales inside.
EDSR: 32 residual blocks, 256 features, residual scaling 0.1; baseline: 16, 64, 1.
"""

from __future__ import annotations

import math

import torch

from zoo.errors import OptionsError
from torch import nn

from zoo_superres.base import NetSR

DIV2K_MEAN = (0.4488, 0.4371, 0.4040)


def _conv(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, padding=1)


class MeanShift(nn.Conv2d):
    """1x1 conv adding (sign=+1) or subtracting (sign=-1) the DIV2K mean, on 0-255 values."""

    def __init__(self, sign: int, rgb_range: float = 255.0) -> None:
        super().__init__(3, 3, 1)
        with torch.no_grad():
            self.weight.copy_(torch.eye(3).view(3, 3, 1, 1))
            self.bias.copy_(sign * rgb_range * torch.tensor(DIV2K_MEAN))
        self.requires_grad_(False)


class ResBlock(nn.Module):
    def __init__(self, feats: int, res_scale: float) -> None:
        super().__init__()
        self.body = nn.Sequential(_conv(feats, feats), nn.ReLU(inplace=True), _conv(feats, feats))
        self.res_scale = res_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x) * self.res_scale


def upsampler(scale: int, feats: int) -> nn.Sequential:
    if scale == 3:
        return nn.Sequential(_conv(feats, 9 * feats), nn.PixelShuffle(3))
    if scale & (scale - 1) == 0:
        layers: list[nn.Module] = []
        for _ in range(int(math.log2(scale))):
            layers += [_conv(feats, 4 * feats), nn.PixelShuffle(2)]
        return nn.Sequential(*layers)
    raise OptionsError("EDSR", "scale", scale, "2, 3, 4, 8 (powers of 2, or 3)")


class EDSR(NetSR):
    def __init__(self, scale: int = 4, blocks: int = 16, feats: int = 64, res_scale: float = 1.0,
                 tile: int | None = None, tile_pad: int | None = None) -> None:
        super().__init__(scale, tile, tile_pad)
        self.sub_mean = MeanShift(-1)
        self.add_mean = MeanShift(+1)
        self.head = nn.Sequential(_conv(3, feats))
        self.body = nn.Sequential(*[ResBlock(feats, res_scale) for _ in range(blocks)], _conv(feats, feats))
        self.tail = nn.Sequential(upsampler(scale, feats), _conv(feats, 3))
        self.receptive_radius = 1 + 2 * blocks + 1 + 2  # head, blocks, body conv, tail convs


    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        x = self.head(self.sub_mean(lr * 255.0))
        x = self.tail(self.body(x) + x)
        return self.add_mean(x) / 255.0
