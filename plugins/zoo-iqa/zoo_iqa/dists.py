"""DISTS: Ding, Ma, Wang and Simoncelli, "Image Quality Assessment: Unifying Structure and
Texture Similarity", IEEE TPAMI 44(5), 2022 (arXiv:2004.07728).

The network of the authors' ``DISTS_pytorch`` release: torchvision's VGG-16 (ImageNet) with
its max-pools replaced by L2 pooling (3x3 Hann window, stride 2), the image and five stages'
features compared by their means (texture) and covariances (structure), weighted by the
learned alpha / beta (``weights.pt``, 12 KB, shipped in the ``DISTS_pytorch`` wheel and read
here with ``torch.load(weights_only=True)``). The VGG-16 trunk (``vgg16-397923af.pth``) is a
download: without it in the torch hub cache the metric is unavailable, with the command that
fetches it. Inputs are used at their size (the release's ``prepare_image`` only resizes in its
command-line demo). 0 for identical images; lower is better.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from zoo.errors import MetricError, MetricUnavailable
from zoo.metrics import Metric
from zoo.metrics.perceptual import lpips_trunk_file

CHANNELS = (3, 64, 128, 256, 512, 512)


def dists_weights_file() -> Path:
    """``weights.pt`` inside the installed DISTS_pytorch package (found without importing it)."""
    spec = importlib.util.find_spec("DISTS_pytorch")
    if spec is None or not spec.submodule_search_locations:
        raise MetricUnavailable("dists: the DISTS_pytorch package (the published alpha/beta weights) is not installed; "
                                "pip install DISTS_pytorch")
    path = Path(next(iter(spec.submodule_search_locations))) / "weights.pt"
    if not path.exists():
        raise MetricUnavailable(f"dists: {path} is missing from the DISTS_pytorch install; reinstall DISTS_pytorch")
    return path


def random_vgg16_features(seed: int) -> nn.Sequential:
    """VGG-16's ``features`` with torchvision's initialisation, seeded (tests; no 100M-parameter classifier built)."""
    from torchvision.models.vgg import cfgs, make_layers

    torch.manual_seed(seed)
    features = make_layers(cfgs["D"], batch_norm=False)
    for m in features.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            nn.init.constant_(m.bias, 0)
    return features


class L2Pool(nn.Module):
    """sqrt(conv(x^2, hann3 x hann3 / sum, stride 2, pad 1) + 1e-12), per channel (the release's L2pooling)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        a = torch.hann_window(5, periodic=False, dtype=torch.float64)[1:-1]  # numpy.hanning(5)[1:-1] = [.5, 1, .5]
        g = a[:, None] * a[None, :]
        self.register_buffer("filter", (g / g.sum()).float()[None, None].repeat(channels, 1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (F.conv2d(x * x, self.filter, stride=2, padding=1, groups=x.shape[1]) + 1e-12).sqrt()


def _stages(features: nn.Sequential) -> nn.ModuleList:
    """VGG-16 ``features`` cut after relu1_2, 2_2, 3_3, 4_3, 5_3, each max-pool replaced by L2 pooling."""
    cuts = [(0, 4, None), (5, 9, 64), (10, 16, 128), (17, 23, 256), (24, 30, 512)]
    stages = []
    for start, stop, pool in cuts:
        layers = ([L2Pool(pool)] if pool else []) + [features[i] for i in range(start, stop)]
        stages.append(nn.Sequential(*layers))
    return nn.ModuleList(stages)


class DISTSNet(nn.Module):
    """The DISTS network; ``forward(x, y)`` -> distance per item for images in [0, 1]."""

    def __init__(self, vgg_features: nn.Sequential, alpha: torch.Tensor, beta: torch.Tensor) -> None:
        super().__init__()
        self.stages = _stages(vgg_features)
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, -1, 1, 1))
        self.register_buffer("alpha", alpha.float().reshape(1, -1, 1, 1))
        self.register_buffer("beta", beta.float().reshape(1, -1, 1, 1))

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats, h = [x], (x - self.mean) / self.std
        for stage in self.stages:
            h = stage(h)
            feats.append(h)
        return feats

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        fx, fy = self.features(x), self.features(y)
        w_sum = self.alpha.sum() + self.beta.sum()
        alpha = torch.split(self.alpha / w_sum, list(CHANNELS), dim=1)
        beta = torch.split(self.beta / w_sum, list(CHANNELS), dim=1)
        d1 = d2 = 0
        c1 = c2 = 1e-6
        for k in range(len(CHANNELS)):
            xm, ym = fx[k].mean([2, 3], keepdim=True), fy[k].mean([2, 3], keepdim=True)
            s1 = (2 * xm * ym + c1) / (xm**2 + ym**2 + c1)
            d1 = d1 + (alpha[k] * s1).sum(1, keepdim=True)
            xv = ((fx[k] - xm) ** 2).mean([2, 3], keepdim=True)
            yv = ((fy[k] - ym) ** 2).mean([2, 3], keepdim=True)
            cov = (fx[k] * fy[k]).mean([2, 3], keepdim=True) - xm * ym
            s2 = (2 * cov + c2) / (xv + yv + c2)
            d2 = d2 + (beta[k] * s2).sum(1, keepdim=True)
        return (1 - (d1 + d2)).flatten()


class DISTS(Metric):
    """DISTS (Ding et al. 2020) with the published alpha/beta and torchvision's ImageNet VGG-16."""

    name = "dists"
    higher_is_better = False
    ideal = 0.0

    def __init__(self, random_trunk: bool = False, seed: int = 0) -> None:
        trunk = lpips_trunk_file("vgg")
        if not random_trunk and not trunk.exists():
            raise MetricUnavailable(
                f"dists: the ImageNet VGG-16 trunk is not in the torch hub cache ({trunk}). Fetch it once where the "
                f"internet is reachable: python -c \"import torchvision; torchvision.models.vgg16(weights='IMAGENET1K_V1')\"")
        from torchvision.models import vgg16

        weights = torch.load(dists_weights_file(), map_location="cpu", weights_only=True)
        if set(weights) != {"alpha", "beta"} or weights["alpha"].numel() != sum(CHANNELS):
            raise MetricError(f"dists: {dists_weights_file()} does not hold alpha/beta of {sum(CHANNELS)} channels")
        self.random_trunk, self.seed = bool(random_trunk), int(seed)
        if random_trunk:  # tests only: an untrained trunk with the published alpha/beta
            features = random_vgg16_features(seed)
        else:
            net = vgg16(weights=None)
            net.load_state_dict(torch.load(trunk, map_location="cpu", weights_only=True))
            features = net.features
        self.net = DISTSNet(features, weights["alpha"], weights["beta"]).eval()
        super().__init__()

    def options(self) -> dict[str, Any]:
        opts: dict[str, Any] = {"trunk": "vgg16-397923af", "weights": "DISTS_pytorch-0.1"}
        if self.random_trunk:
            opts["random_trunk_seed"] = self.seed
        return opts

    def to(self, device):
        self.net.to(device)
        return super().to(device)

    @torch.inference_mode()
    def _values(self, output, reference, **extras) -> torch.Tensor:
        if min(output.shape[-2:]) < 32:
            raise MetricError(f"dists: images must be at least 32x32 (five stages of stride-2 pooling), got {tuple(output.shape[-2:])}")
        # DISTS_pytorch's forward(x, y) is called as model(reference, distorted); the index is symmetric
        return self.net(reference.to(self._device), output.to(self._device)).double().cpu()
