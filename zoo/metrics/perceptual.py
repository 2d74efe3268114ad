"""Perceptual (deep-feature) distances.

* ``lpips``: Zhang et al., "The Unreasonable Effectiveness of Deep Features as a
  Perceptual Metric", CVPR 2018 (arXiv:1801.03924), through the ``lpips`` package's
  networks and v0.1 linear heads; inputs converted from [0, 1] to [-1, 1] here. The
  AlexNet/VGG/SqueezeNet trunks come from torchvision's download cache; without them the
  metric is unavailable (with the reason) rather than silently using random trunks.
* ``deepdist-effnetlite0``: an LPIPS-style distance *without learned heads* on the
  offline EfficientNet-Lite0: unit-normalise each stage's features along channels,
  squared difference, mean over space and channels, summed over stages. Not LPIPS: it
  has not been calibrated against human judgements.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from zoo.errors import MetricError, MetricUnavailable
from zoo.metrics import Metric

# torchvision's IMAGENET1K_V1 file for each trunk lpips.LPIPS(net=...) loads (a test keeps
# these equal to torchvision's own table; importing torchvision here would cost ~2 s per run)
TRUNK_FILES = {"alex": "alexnet-owt-7be5be79.pth", "vgg": "vgg16-397923af.pth", "squeeze": "squeezenet1_1-b8a52dc0.pth"}


def lpips_trunk_file(net: str) -> Path:
    """Where torchvision caches the ImageNet trunk that ``lpips.LPIPS(net=net)`` loads."""
    return Path(torch.hub.get_dir()) / "checkpoints" / TRUNK_FILES[net]


class LPIPS(Metric):
    """LPIPS v0.1 with the ``lpips`` package's linear heads. Lower is more similar."""

    name = "lpips"
    higher_is_better = False
    ideal = 0.0

    def __init__(self, net: str = "alex", random_trunk: bool = False, seed: int = 0) -> None:
        if net not in TRUNK_FILES:
            raise MetricError(f"lpips: net must be one of {sorted(TRUNK_FILES)}, got {net!r}")
        trunk = lpips_trunk_file(net)
        if not random_trunk and not trunk.exists():
            raise MetricUnavailable(
                f"lpips: the ImageNet {net} trunk weights are not in the torch hub cache ({trunk}). "
                f"Fetch them once where the internet is reachable: python -c \"import lpips; lpips.LPIPS(net='{net}')\""
            )
        import lpips

        self.net, self.random_trunk, self.seed = net, random_trunk, seed
        if random_trunk:  # tests only: the trunk is untrained, the heads are the real v0.1 heads
            torch.manual_seed(seed)
        self.model = lpips.LPIPS(net=net, version="0.1", pretrained=True, pnet_rand=random_trunk, verbose=False).eval()
        super().__init__()

    def options(self) -> dict[str, Any]:
        opts: dict[str, Any] = {"net": self.net, "version": "0.1"}
        if self.random_trunk:
            opts["random_trunk_seed"] = self.seed
        return opts

    def to(self, device):
        self.model.to(device)
        return super().to(device)

    @torch.inference_mode()
    def _values(self, output, reference, **extras) -> torch.Tensor:
        d = self.model(output.to(self._device) * 2 - 1, reference.to(self._device) * 2 - 1)
        return d.flatten().double().cpu()


class DeepDistEffNetLite0(Metric):
    """Unweighted LPIPS-style distance on EfficientNet-Lite0 stages (not LPIPS)."""

    name = "deepdist-effnetlite0"
    higher_is_better = False
    ideal = 0.0
    tolerance = "1e-6+0.01%"  # a float32 network; measured noise 1.0e-7 relative (threads, batching; docs/ci.md)

    def __init__(self) -> None:
        from zoo.metrics.features import EffNetLite0

        self.extractor = EffNetLite0()
        super().__init__()

    def options(self) -> dict[str, Any]:
        return {"features": self.extractor.fingerprint.replace("224px,bilinear-aa", "native-res")}

    def _values(self, output, reference, **extras) -> torch.Tensor:
        if min(output.shape[-2:]) < 32:
            raise MetricError(f"deepdist-effnetlite0: images must be at least 32x32, got {tuple(output.shape[-2:])}")
        fo = self.extractor.stages(output.to(self._device))
        fr = self.extractor.stages(reference.to(self._device))
        total = torch.zeros(output.shape[0], dtype=torch.float64)
        for a, b in zip(fo, fr):
            a = a / (a.norm(dim=1, keepdim=True) + 1e-10)
            b = b / (b.norm(dim=1, keepdim=True) + 1e-10)
            total += (a - b).pow(2).sum(1).mean((1, 2)).double().cpu()
        return total
