"""The example plugin's method, metric and dataset (imported only when first used)."""

from __future__ import annotations

import torch

from zoo.datasets import Dataset, Item
from zoo.metrics import Metric
from zoo.tasks import Translator


class Grayscale(Translator):
    """Colour -> gray translation (ITU-R BT.601 luma replicated to 3 channels)."""

    def __init__(self, weights: tuple[float, float, float] = (0.299, 0.587, 0.114)) -> None:
        super().__init__()
        self.register_buffer("w", torch.tensor(weights, dtype=torch.float32).view(1, 3, 1, 1))

    def _translate(self, x: torch.Tensor, direction: str) -> torch.Tensor:
        return (x * self.w).sum(1, keepdim=True).clamp(0, 1).expand_as(x).contiguous()


class MeanAbsoluteError(Metric):
    """Mean absolute error per image, in [0, 1]."""

    name = "example-mae"
    higher_is_better = False
    ideal = 0.0

    def _values(self, output, reference, **extras) -> torch.Tensor:
        return (output.double() - reference.double()).abs().flatten(1).mean(1)


def gradients(n: int = 4, size: int = 64) -> Dataset:
    """Synthetic colour gradients: ``n`` images of ``size`` x ``size``."""

    def make(i: int) -> Item:
        yy, xx = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
        img = torch.stack([xx, yy, (xx + yy + i / max(n, 1)) % 1.0])
        return Item(f"gradient-{i}", img.float())

    return Dataset("gradients", [(f"gradient-{i}", (lambda i=i: make(i))) for i in range(n)], {"n": n, "size": size})
