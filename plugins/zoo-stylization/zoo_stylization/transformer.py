"""Fast neural style: a feed-forward image transformation network trained for one style.

Johnson, Alahi and Fei-Fei, "Perceptual Losses for Real-Time Style Transfer and
Super-Resolution", ECCV 2016 (arXiv:1603.08155), with instance normalisation (Ulyanov, Vedaldi
and Lempitsky, arXiv:1607.08022) and resize-convolution upsampling, as in pytorch/examples'
``fast_neural_style`` whose saved models (candy, mosaic, rain_princess, udnie) load key for key.

    x·255 ─► conv9(32) IN ReLU ─► conv3/2(64) IN ReLU ─► conv3/2(128) IN ReLU ─► 5 × residual(128)
         ─► up×2 conv3(64) IN ReLU ─► up×2 conv3(32) IN ReLU ─► conv9(3) ─► /255, clamp ─► y
    (every conv: reflection padding k//2; residual: conv IN ReLU conv IN, + input)

The network works on 0-255 values: the scaling happens inside, images stay in [0, 1] outside.
Widths and the number of residual blocks are parameters so that the smaller network trained by
this plugin (``train_fast_style.py``) shares the official key names.
"""

from __future__ import annotations

import re

import torch
from torch import nn

from zoo.errors import OptionsError
from zoo.tasks import Stylizer

_STALE_IN = re.compile(r"(^|\.)in\d+\.(running_mean|running_var|num_batches_tracked)$")


class ConvLayer(nn.Module):
    """Reflection padding then a convolution (key: ``conv2d``); optional nearest upsampling first."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, upsample: int | None = None) -> None:
        super().__init__()
        self.upsample = upsample
        self.pad = nn.ReflectionPad2d(kernel // 2)
        self.conv2d = nn.Conv2d(c_in, c_out, kernel, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.upsample:
            x = nn.functional.interpolate(x, scale_factor=self.upsample, mode="nearest")
        return self.conv2d(self.pad(x))


class ResidualBlock(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv1 = ConvLayer(c, c, 3)
        self.in1 = nn.InstanceNorm2d(c, affine=True)
        self.conv2 = ConvLayer(c, c, 3)
        self.in2 = nn.InstanceNorm2d(c, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.in2(self.conv2(torch.relu(self.in1(self.conv1(x))))) + x


class TransformerNet(Stylizer):
    """Johnson et al. (ECCV 2016) style network in pytorch/examples' layout.

    Args:
        widths: channels of the three encoder convolutions (official: 32, 64, 128).
        blocks: residual blocks (official: 5).
    """

    def __init__(self, widths: tuple[int, int, int] | list[int] = (32, 64, 128), blocks: int = 5) -> None:
        super().__init__()
        if len(widths) != 3 or any(int(w) < 1 for w in widths):
            raise OptionsError("transformer-net", "widths", widths, "three positive channel counts")
        if not isinstance(blocks, int) or blocks < 1:
            raise OptionsError("transformer-net", "blocks", blocks, "an integer >= 1")
        a, b, c = (int(w) for w in widths)
        self.conv1, self.in1 = ConvLayer(3, a, 9), nn.InstanceNorm2d(a, affine=True)
        self.conv2, self.in2 = ConvLayer(a, b, 3, 2), nn.InstanceNorm2d(b, affine=True)
        self.conv3, self.in3 = ConvLayer(b, c, 3, 2), nn.InstanceNorm2d(c, affine=True)
        for i in range(blocks):
            setattr(self, f"res{i + 1}", ResidualBlock(c))
        self.blocks = blocks
        self.deconv1, self.in4 = ConvLayer(c, b, 3, upsample=2), nn.InstanceNorm2d(b, affine=True)
        self.deconv2, self.in5 = ConvLayer(b, a, 3, upsample=2), nn.InstanceNorm2d(a, affine=True)
        self.deconv3 = ConvLayer(a, 3, 9)

    @staticmethod
    def convert_state_dict(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Drop the deprecated InstanceNorm running statistics old PyTorch saved (as ``stylize()`` does)."""
        return {k: v for k, v in state.items() if not _STALE_IN.search(k)}

    def net(self, x255: torch.Tensor) -> torch.Tensor:
        """The network on 0-255 input, unclamped 0-255 output (the reference's ``forward``)."""
        y = torch.relu(self.in1(self.conv1(x255)))
        y = torch.relu(self.in2(self.conv2(y)))
        y = torch.relu(self.in3(self.conv3(y)))
        for i in range(self.blocks):
            y = getattr(self, f"res{i + 1}")(y)
        y = torch.relu(self.in4(self.deconv1(y)))
        y = torch.relu(self.in5(self.deconv2(y)))
        return self.deconv3(y)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """RGB in [0, 1] -> stylized RGB; cropped to the input size (the strides need multiples of 4)."""
        h, w = x.shape[-2:]
        ph, pw = (-h) % 4, (-w) % 4
        if ph or pw:
            x = nn.functional.pad(x, (0, pw, 0, ph), mode="reflect" if min(h, w) > max(ph, pw) else "replicate")
        return self.net(x * 255)[..., :h, :w] / 255

    def _stylize(self, content: torch.Tensor, style: torch.Tensor | None) -> torch.Tensor:
        with torch.inference_mode():
            return self(content).clamp_(0, 1)
