"""SRCNN, 9-5-5 on the Y channel.

Dong et al., "Image Super-Resolution Using Deep Convolutional Networks", TPAMI 2016
(arXiv:1501.00092). The network refines the luma of a bicubic upscale; chroma is the
bicubic chroma. Layout of the widely used PyTorch port (``conv1``/``conv2``/``conv3``,
single channel, Y in [0, 1] from BT.601 studio-swing YCbCr).
"""

from __future__ import annotations

import torch
from torch import nn

from zoo.datasets.degrade import imresize
from zoo.images import rgb_to_ycbcr, ycbcr_to_rgb
from zoo_superres.base import NetSR


class SRCNN(NetSR):
    def __init__(self, scale: int = 3, tile: int | None = None, tile_pad: int | None = None) -> None:
        super().__init__(scale, tile, tile_pad)
        self.conv1 = nn.Conv2d(1, 64, 9, padding=4)
        self.conv2 = nn.Conv2d(64, 32, 5, padding=2)
        self.conv3 = nn.Conv2d(32, 1, 5, padding=2)
        self.relu = nn.ReLU(inplace=True)
        self.receptive_radius = 3 + -(-8 // scale)  # bicubic reach plus 4+2+2 HR pixels


    def refine_y(self, y: torch.Tensor) -> torch.Tensor:
        return self.conv3(self.relu(self.conv2(self.relu(self.conv1(y)))))

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        ycc = rgb_to_ycbcr(imresize(lr, float(self.scale)).clamp(0, 1))
        y = self.refine_y(ycc[:, :1]).clamp(0, 1)
        return ycbcr_to_rgb(torch.cat([y, ycc[:, 1:]], 1))
