"""Tolerances of the regression gate: absolute, relative to the baseline value, or both.

``0.01`` (absolute), ``0.1%`` (of |baseline|), ``0.01+0.1%`` (both added, as in
:func:`numpy.isclose`), ``inf`` (values ignored). Used by ``--tolerance``, a suite's
``tolerances:`` block and :attr:`zoo.metrics.Metric.tolerance`; the gate itself is
:mod:`zoo.report.compare`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Tolerance:
    """How far a value may move: ``absolute + relative * |baseline|``; and where that rule came from."""

    absolute: float = 0.0
    relative: float = 0.0  # a fraction: 0.001 is 0.1 %
    source: str = "default"  # "--tolerance", "suite", "metric", "default"

    def limit(self, baseline: float) -> float:
        """The largest |Δ| allowed for a value whose baseline is ``baseline``."""
        if math.isinf(self.absolute) or math.isinf(self.relative):
            return math.inf
        scale = abs(baseline) if np.isfinite(baseline) else 0.0
        return self.absolute + self.relative * scale

    @property
    def ignores_values(self) -> bool:
        return math.isinf(self.absolute) or math.isinf(self.relative)

    def __str__(self) -> str:
        parts = ([f"{self.absolute:g}"] if self.absolute or not self.relative else []) + \
                ([f"{self.relative * 100:g}%"] if self.relative else [])
        return "+".join(parts)

    def __format__(self, spec: str) -> str:
        return format(str(self), "s" if spec in ("", "g", "s") else spec)


def parse_tolerance(value: Any, source: str = "--tolerance", where: str = "--tolerance") -> Tolerance:
    """``0.01`` / ``"0.1%"`` / ``"0.01+0.1%"`` / ``"inf"`` -> :class:`Tolerance`.

    Raises:
        ZooError: not one of those forms, or NaN / negative (``where`` names the place).
    """
    from zoo.errors import ZooError

    form = "a number (absolute, e.g. 0.01), a percentage of the baseline (0.1%), or both (0.01+0.1%)"
    if isinstance(value, bool):
        raise ZooError(f"{where}: tolerance {value!r} must be {form}")
    if isinstance(value, (int, float)):
        a, r = float(value), 0.0
    else:
        text = str(value).strip()
        try:
            if not text.endswith("%"):
                a, r = float(text), 0.0
            else:
                try:
                    a, r = 0.0, float(text[:-1]) / 100
                except ValueError:
                    head, plus, tail = text[:-1].rpartition("+")
                    if not plus:
                        raise
                    a, r = float(head), float(tail) / 100
        except ValueError:
            raise ZooError(f"{where}: tolerance {text!r} must be {form}") from None
    if math.isnan(a) or math.isnan(r) or a < 0 or r < 0:
        raise ZooError(f"{where}: a tolerance must be >= 0 (inf ignores the values), got {value}")
    return Tolerance(a, r, source)


def suite_tolerances(block: object, where: str) -> dict[str, Tolerance]:
    """A suite's ``tolerances:`` mapping (NAME: TOL) parsed; ``where`` names the file for errors."""
    from zoo.errors import SuiteError, ZooError

    if block is None:
        return {}
    if not isinstance(block, Mapping):
        raise SuiteError(f"{where}: tolerances must be a mapping NAME: TOL, e.g. {{psnr: 0.05, kd-effnetlite0: 1%}}")
    out = {}
    for name, val in block.items():
        try:
            out[str(name)] = parse_tolerance(val, source="suite", where=f"{where}: tolerances.{name}")
        except ZooError as exc:
            raise SuiteError(str(exc)) from None
    return out
