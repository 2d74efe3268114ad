"""SRVGGNetCompact, the compact VGG-style network of Real-ESRGAN's v3 models.

Wang et al., "Real-ESRGAN: Training Real-World Blind Super-Resolution with Pure Synthetic
Data", ICCVW 2021 (arXiv:2107.10833). Convolutions at low resolution, one pixel shuffle at
the end, plus the nearest-neighbour upscaled input. realesr-general-x4v3: 32 convs;
realesr-animevideov3: 16 convs; both 64 features with PReLU.

``net_scale``: a network trained at another factor than ``scale`` (the Real-ESRGAN ncnn
release runs realesr-animevideov3 ×4 for ×2 and ×3 and resizes its output bicubically,
align_corners=False, no antialiasing, by ``scale / net_scale``); default ``scale``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from zoo_superres.base import NetSR


def _act(kind: str, feats: int) -> nn.Module:
    if kind == "prelu":
        return nn.PReLU(num_parameters=feats)
    if kind == "relu":
        return nn.ReLU(inplace=True)
    if kind == "leakyrelu":
        return nn.LeakyReLU(0.1, inplace=True)
    raise ValueError(f"SRVGGNetCompact: activation must be prelu, relu or leakyrelu, got {kind!r}")


class SRVGGNetCompact(NetSR):
    def __init__(self, scale: int = 4, feats: int = 64, convs: int = 16, act: str = "prelu",
                 net_scale: int | None = None, tile: int | None = None, tile_pad: int | None = None) -> None:
        super().__init__(scale, tile, tile_pad)
        self.net_scale = net = net_scale or scale
        layers: list[nn.Module] = [nn.Conv2d(3, feats, 3, padding=1), _act(act, feats)]
        for _ in range(convs):
            layers += [nn.Conv2d(feats, feats, 3, padding=1), _act(act, feats)]
        layers.append(nn.Conv2d(feats, 3 * net * net, 3, padding=1))
        self.body = nn.ModuleList(layers)
        self.upsampler = nn.PixelShuffle(net)
        self.receptive_radius = convs + 2 + (net != scale)  # the bicubic resize reaches 2 output pixels


    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        out = lr
        for layer in self.body:
            out = layer(out)
        out = self.upsampler(out) + F.interpolate(lr, scale_factor=self.net_scale, mode="nearest")
        if self.net_scale != self.scale:
            size = (lr.shape[-2] * self.scale, lr.shape[-1] * self.scale)
            out = F.interpolate(out, size=size, mode="bicubic", align_corners=False)
        return out
