"""pix2pix and CycleGAN networks in the layout of the official PyTorch checkpoints.

The official code is junyanz/pytorch-CycleGAN-and-pix2pix (BSD licence). The module tree
here is built so that ``state_dict()`` has the official key names, shapes and order
(``tests/golden/*.json`` record them from the reference definitions), so an official
``latest_net_G.pth`` loads key for key:

* :class:`UnetGenerator`: Isola et al., "Image-to-Image Translation with Conditional
  Adversarial Networks", CVPR 2017, arXiv:1611.07004. Batch norm, dropout in the
  innermost 512-channel blocks; ``unet_256`` = 8 downsamplings, ``unet_128`` = 7::

      x -> down1 -------------------------------------- up1 -> tanh
             \\-> down2 ------------------------ up2 -/
                   \\-> ... -> innermost -> ... -/          (skip = channel concat)

* :class:`ResnetGenerator`: Zhu et al., "Unpaired Image-to-Image Translation using
  Cycle-Consistent Adversarial Networks", ICCV 2017, arXiv:1703.10593 (the generator of
  Johnson et al. 2016). Instance norm without affine parameters or running statistics,
  two stride-2 convolutions, ``n_blocks`` residual blocks, two transposed convolutions.

* :class:`NLayerDiscriminator`: the 70x70 PatchGAN of pix2pix, used for training.

Networks work in [-1, 1] (the official ``Normalize((0.5,)*3, (0.5,)*3)``); the [0, 1]
contract of imagezoo is kept by :mod:`zoo_translation.translator`.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

#: official generator names -> (kind, depth)
GENERATORS: dict[str, tuple[str, int]] = {
    "unet_256": ("unet", 8),
    "unet_128": ("unet", 7),
    "resnet_9blocks": ("resnet", 9),
    "resnet_6blocks": ("resnet", 6),
}


class BatchNorm(nn.BatchNorm2d):
    """``nn.BatchNorm2d`` (same state_dict) that can normalise with the statistics of the
    batch it is given without touching its running statistics.

    ``batch_stats = True`` is what the official pix2pix test script does, because it never
    calls ``model.eval()``: with its batch size of 1, every image is normalised with its own
    statistics (Isola et al. 2017, section 3.3: "we apply batch normalization using the
    statistics of the test batch").
    """

    batch_stats: bool = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.batch_stats and not self.training:
            return F.batch_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)
        return super().forward(x)


class SeededDropout(nn.Dropout):
    """Dropout that can stay on at inference with masks drawn from a fixed seed.

    When ``seed`` is set (and the module is in eval mode) each call draws its masks from a
    fresh ``torch.Generator`` seeded with ``seed``, on the CPU, so the output is reproducible,
    the same on every device, and the same for an image whether it comes alone or in a batch
    (:class:`UnetGenerator` runs such images one at a time). In training mode it is plain
    ``nn.Dropout``.
    """

    seed: int | None = None
    generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training or self.generator is None:
            return super().forward(x)
        keep = 1.0 - self.p
        mask = torch.bernoulli(torch.full(x.shape, keep), generator=self.generator).to(x.device, x.dtype)
        return x * mask / keep


class UnetBlock(nn.Module):
    """One level of the U-Net: down, the inner levels, up, and the skip concat.

    The child list reproduces the official ``UnetSkipConnectionBlock.model`` indices:
    outermost ``[down, inner, relu, up, tanh]``, innermost ``[lrelu, down, relu, up, norm]``,
    others ``[lrelu, down, norm, inner, relu, up, norm(, dropout)]``.
    """

    def __init__(self, outer: int, inner: int, submodule: nn.Module | None = None, in_ch: int | None = None,
                 outermost: bool = False, dropout: bool = False) -> None:
        super().__init__()
        self.outermost = outermost
        down = nn.Conv2d(in_ch or outer, inner, 4, 2, 1, bias=False)
        if outermost:
            layers = [down, submodule, nn.ReLU(True), nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1), nn.Tanh()]
        elif submodule is None:  # innermost: no norm after the 1x1 bottleneck
            layers = [nn.LeakyReLU(0.2, True), down, nn.ReLU(True),
                      nn.ConvTranspose2d(inner, outer, 4, 2, 1, bias=False), BatchNorm(outer)]
        else:
            layers = [nn.LeakyReLU(0.2, True), down, BatchNorm(inner), submodule, nn.ReLU(True),
                      nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1, bias=False), BatchNorm(outer)]
            if dropout:
                layers.append(SeededDropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.model(x)
        return y if self.outermost else torch.cat([x, y], 1)


class UnetGenerator(nn.Module):
    """pix2pix U-Net generator (arXiv:1611.07004), official ``unet_128`` / ``unet_256`` layout.

    Args:
        num_downs: number of stride-2 levels (8 for ``unet_256``, 7 for ``unet_128``); input
            sides must be multiples of ``2 ** num_downs`` (the translator pads for you).
        ngf: filters of the outermost level (64 in the published models); inner levels use
            2x, 4x, then 8x.
        dropout: dropout (p = 0.5) in the ``num_downs - 5`` innermost 8*ngf levels.
    """

    def __init__(self, in_ch: int = 3, out_ch: int = 3, num_downs: int = 8, ngf: int = 64, dropout: bool = True) -> None:
        super().__init__()
        if num_downs < 5:
            raise ValueError(f"UnetGenerator: num_downs must be >= 5 (the official nets use 7 or 8), got {num_downs}")
        self.num_downs = num_downs
        block = UnetBlock(ngf * 8, ngf * 8)
        for _ in range(num_downs - 5):
            block = UnetBlock(ngf * 8, ngf * 8, block, dropout=dropout)
        for mult in (4, 2, 1):
            block = UnetBlock(ngf * mult, ngf * mult * 2, block)
        self.model = UnetBlock(out_ch, ngf, block, in_ch=in_ch, outermost=True)

    @property
    def multiple(self) -> int:
        return 2 ** self.num_downs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def _instance_norm(ch: int) -> nn.InstanceNorm2d:
    # affine=False, track_running_stats=False as upstream get_norm_layer('instance'): no state
    return nn.InstanceNorm2d(ch, affine=False, track_running_stats=False)


def _norm(kind: str, ch: int) -> nn.Module:
    return _instance_norm(ch) if kind == "instance" else BatchNorm(ch)


class ResnetBlock(nn.Module):
    """``x + [pad, conv3x3, norm, ReLU, (dropout), pad, conv3x3, norm](x)`` (official ``conv_block``)."""

    def __init__(self, dim: int, dropout: bool = False, norm: str = "instance") -> None:
        super().__init__()
        bias = norm == "instance"  # upstream: convolutions before a batch norm carry no bias
        layers: list[nn.Module] = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias), _norm(norm, dim), nn.ReLU(True)]
        if dropout:
            layers.append(SeededDropout(0.5))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias), _norm(norm, dim)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    """CycleGAN ResNet generator (arXiv:1703.10593), official ``resnet_9blocks`` / ``resnet_6blocks`` layout.

    Args:
        n_blocks: residual blocks at 1/4 resolution (9 or 6 in the published models).
        ngf: filters of the first convolution (64 published); 2x and 4x after each downsampling.
        dropout: dropout in the residual blocks (the published CycleGAN models use none).
        norm: ``"instance"`` (published models) or ``"batch"`` (upstream ``--norm batch``:
            convolutions without bias, batch norm with running statistics).
    """

    multiple = 4

    def __init__(self, in_ch: int = 3, out_ch: int = 3, ngf: int = 64, n_blocks: int = 9, dropout: bool = False,
                 norm: str = "instance") -> None:
        super().__init__()
        if norm not in ("batch", "instance"):
            raise ValueError(f"ResnetGenerator: norm must be 'batch' or 'instance', got {norm!r}")
        b = norm == "instance"
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(in_ch, ngf, 7, bias=b), _norm(norm, ngf), nn.ReLU(True)]
        for mult in (1, 2):
            layers += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, 2, 1, bias=b), _norm(norm, ngf * mult * 2), nn.ReLU(True)]
        layers += [ResnetBlock(ngf * 4, dropout, norm) for _ in range(n_blocks)]
        for mult in (4, 2):
            layers += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, 2, 1, output_padding=1, bias=b),
                       _norm(norm, ngf * mult // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_ch, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class NLayerDiscriminator(nn.Module):
    """PatchGAN discriminator of pix2pix (arXiv:1611.07004), official ``basic`` / ``n_layers`` layout.

    Args:
        in_ch: 6 for pix2pix (condition and image concatenated), 3 for CycleGAN.
        norm: ``"batch"`` (pix2pix) or ``"instance"`` (CycleGAN); convolutions before a
            batch norm carry no bias, as upstream.
    """

    def __init__(self, in_ch: int = 6, ndf: int = 64, n_layers: int = 3, norm: str = "batch") -> None:
        super().__init__()
        if norm not in ("batch", "instance"):
            raise ValueError(f"NLayerDiscriminator: norm must be 'batch' or 'instance', got {norm!r}")
        bias = norm == "instance"
        make_norm = _instance_norm if norm == "instance" else BatchNorm
        layers: list[nn.Module] = [nn.Conv2d(in_ch, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        prev = 1
        for n in range(1, n_layers + 1):
            mult = min(2**n, 8)
            stride = 2 if n < n_layers else 1
            layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride, 1, bias=bias), make_norm(ndf * mult), nn.LeakyReLU(0.2, True)]
            prev = mult
        layers.append(nn.Conv2d(ndf * prev, 1, 4, 1, 1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def build_generator(net: str, ngf: int = 64, dropout: bool | None = None, num_downs: int | None = None,
                    n_blocks: int | None = None, in_ch: int = 3, out_ch: int = 3) -> nn.Module:
    """An official generator by its upstream name (``unet_256``, ``resnet_9blocks`` ...).

    ``dropout`` defaults to the published models' choice: on for U-Nets (pix2pix), off for
    ResNets (CycleGAN's ``--no_dropout``). ``num_downs`` / ``n_blocks`` override the depth
    (used by the small translators trained here); ``in_ch`` / ``out_ch`` 1 / 2 make upstream's
    colorization generator (L -> ab).
    """
    if net not in GENERATORS:
        raise ValueError(f"unknown generator {net!r}; choose from {', '.join(GENERATORS)}")
    kind, depth = GENERATORS[net]
    if kind == "unet":
        return UnetGenerator(in_ch, out_ch, num_downs=num_downs or depth, ngf=ngf, dropout=True if dropout is None else dropout)
    return ResnetGenerator(in_ch, out_ch, ngf=ngf, n_blocks=n_blocks or depth, dropout=bool(dropout))
