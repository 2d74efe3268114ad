"""Cycle consistency of two-way translators, a model-level metric.

For a translator with a forward map G (the benchmark's direction) and a backward map F
(the other direction), Zhu et al. 2017 (CycleGAN, arXiv:1703.10593) train for
``F(G(x)) ~ x``. These metrics measure how well that holds on the benchmark's inputs:

* ``cycle-l1``: mean absolute error ``||F(G(x)) - x||_1 / (3 H W)`` per image, lower is better;
* ``cycle-psnr``: PSNR of ``F(G(x))`` against ``x`` in dB (data range 1), higher is better.

Both need ``("input", "method")``: the method's input batch and the Method itself. The
round trip is ``method.translate(method.translate(x, d), reverse(d))`` with the direction
``d`` the method runs by default (its ``direction`` setting).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from zoo.errors import MetricError
from zoo.metrics import Metric
from zoo.tasks import Translator

REVERSE = {"AtoB": "BtoA", "BtoA": "AtoB"}


def cycle_l1(x: torch.Tensor, cycled: torch.Tensor) -> torch.Tensor:
    """Per-image mean absolute difference between ``x`` and its round trip (N x 3 x H x W)."""
    return (cycled.double() - x.double()).abs().flatten(1).mean(1)


def cycle_psnr(x: torch.Tensor, cycled: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR (dB, data range 1) of the round trip against ``x``; +inf when identical."""
    mse = (cycled.double() - x.double()).pow(2).flatten(1).mean(1)
    return 10.0 * torch.log10(1.0 / mse)


def round_trip(method: Any, x: torch.Tensor, direction: str | None = None) -> torch.Tensor:
    """``F(G(x))`` for a two-way translator; a clear error for anything else."""
    name = getattr(method, "id", type(method).__name__)
    if not isinstance(method, Translator):
        raise MetricError(f"cycle metrics need a translation method, got {name!r}")
    dirs = tuple(method.directions)
    d = direction or dirs[0]
    back = REVERSE.get(d)
    if back not in dirs:
        raise MetricError(
            f"cycle metrics need a two-way translator (directions AtoB and BtoA); {name} has {list(dirs)}"
        )
    with torch.no_grad():
        return method.translate(method.translate(x, d), back)


class _Cycle(Metric):
    needs: ClassVar[tuple[str, ...]] = ("input", "method")
    needs_reference = False

    def __init__(self, direction: str | None = None) -> None:
        if direction is not None and direction not in REVERSE:
            raise MetricError(f"{self.name}: direction must be 'AtoB' or 'BtoA', got {direction!r}")
        self.direction = direction
        super().__init__()

    def options(self) -> dict[str, Any]:
        return {"direction": self.direction or "default"}

    def _values(self, output: torch.Tensor, reference: torch.Tensor | None = None, *, input: torch.Tensor | None = None,
                method: Any = None, **extras: Any) -> torch.Tensor:
        if input is None or method is None:
            raise MetricError(f"{self.name}: needs the method's input batch and the method (needs={self.needs})")
        x = input.to(output.device)
        return self._score(x, round_trip(method, x, self.direction).to(x.device))


class CycleL1(_Cycle):
    """``||F(G(x)) - x||_1`` per pixel and channel (Zhu et al. 2017, arXiv:1703.10593)."""

    name = "cycle-l1"
    higher_is_better = False

    def _score(self, x: torch.Tensor, cycled: torch.Tensor) -> torch.Tensor:
        return cycle_l1(x, cycled)


class CyclePSNR(_Cycle):
    """PSNR of ``F(G(x))`` against ``x`` (Zhu et al. 2017, arXiv:1703.10593)."""

    name = "cycle-psnr"
    unit = "dB"

    def _score(self, x: torch.Tensor, cycled: torch.Tensor) -> torch.Tensor:
        return cycle_psnr(x, cycled)
