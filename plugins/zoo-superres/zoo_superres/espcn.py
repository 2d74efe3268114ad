"""ESPCN with a bicubic skip, trained by this plugin on the embedded photographs.

Shi et al., "Real-Time Single Image and Video Super-Resolution Using an Efficient
Sub-Pixel Convolutional Neural Network", CVPR 2016 (arXiv:1609.05158).

    lr ──► conv5x5(64) ─ReLU─► [conv3x3(64) ─ReLU─] x3 ─► conv3x3(3·r²) ─► PixelShuffle(r) ─┐
     └──────────────────────── MATLAB bicubic x r ─────────────────────────────────────► (+) ─► clamp ─► hr

Works on RGB (not the paper's Y channel) and learns the residual over bicubic.
"""

from __future__ import annotations

import torch
from torch import nn

from zoo.datasets.degrade import imresize
from zoo_superres.base import NetSR


class ESPCN(NetSR):
    def __init__(self, scale: int = 4, channels: int = 64, depth: int = 3, tile: int | None = None,
                 tile_pad: int | None = None) -> None:
        super().__init__(scale, tile, tile_pad)
        layers: list[nn.Module] = [nn.Conv2d(3, channels, 5, padding=2), nn.ReLU(inplace=True)]
        for _ in range(depth):
            layers += [nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(inplace=True)]
        layers += [nn.Conv2d(channels, 3 * scale * scale, 3, padding=1), nn.PixelShuffle(scale)]
        self.body = nn.Sequential(*layers)
        self.receptive_radius = 2 + depth + 1 + 3  # convs, plus the bicubic kernel's reach

    def residual(self, lr: torch.Tensor) -> torch.Tensor:
        return self.body(lr - 0.5)

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        return imresize(lr, float(self.scale)) + self.residual(lr)
