"""Metrics: a small base class in the torchmetrics spirit, and the metric factory lookup.

A paired metric returns one value per item (``Tensor[B]``, or a mapping of named
``Tensor[B]`` for a metric with several per-item figures); a distribution metric (FID,
KID) accumulates over a whole set and returns one value. ``fingerprint`` names every
choice that changes the value (channel, crop, rounding, resizer, feature extractor and
its weights hash), so results measured differently never get compared.

What a metric reads besides the output is declared in ``needs`` (``reference``,
``input``, ``style``, ``target``, ``mask``, ``bitstreams``, ``latents``, ``attributes``,
``items``, ``method`` ...): the harness hands each as a keyword argument and refuses, at
suite load, a metric whose needs the benchmark's task cannot supply.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch

from zoo.errors import MetricError, UnknownNameError
from zoo.plugins import registry, unknown_message


def _float64(v: Any) -> Any:
    """A value tensor (or a mapping of them) as float64; anything else as it is."""
    if isinstance(v, torch.Tensor):
        return v.to(torch.float64)
    if isinstance(v, dict):
        return {k: _float64(t) for k, t in v.items()}
    return v


class Metric:
    """Base metric.

    Subclasses set ``name`` and ``higher_is_better`` and implement either
    :meth:`_values` (paired: per-item values) or :meth:`_update`/:meth:`_compute`
    (distribution). ``m(output, reference)`` is the functional form and leaves the
    accumulated state alone for paired metrics.
    """

    name: ClassVar[str] = ""
    higher_is_better: ClassVar[bool] = True
    paired: ClassVar[bool] = True
    needs_reference: ClassVar[bool] = True
    #: what the metric reads besides ``output`` (and ``reference`` when ``needs_reference``)
    needs: ClassVar[tuple[str, ...]] = ()
    #: the value for an output identical to its reference (``inf`` for PSNR, 1 for SSIM, 0 for a
    #: distance); None where it is not defined (bpp). The conformance kit checks it.
    ideal: ClassVar[float | None] = None
    unit: ClassVar[str] = ""
    #: the regression gate's tolerance for this metric's values when neither ``--tolerance`` nor the
    #: suite sets one: its noise floor across machines and thread counts, absolute (``1e-4``), relative
    #: to the baseline value (``"0.01%"``) or both (``"1e-6+0.01%"``); None: the gate's default 1e-4
    tolerance: ClassVar[float | str | None] = None

    def requirements(self) -> set[str]:
        """Every input this metric reads besides the output (an instance may narrow or widen ``needs``)."""
        return set(self.needs) | ({"reference"} if self.needs_reference else set())

    def aggregate(self, values: dict[str, list[float]], attributes: list[dict]) -> dict[str, float] | None:
        """Summary figures over a unit's items (e.g. per-group gaps); None: the report's mean and CI."""
        return None

    def state(self) -> dict[str, Any]:
        """A distribution metric's accumulated state, mergeable across shards (numpy arrays)."""
        raise NotImplementedError(f"{type(self).__name__} does not keep mergeable state")

    def merge_states(self, states: list[dict[str, Any]]) -> None:
        """Replace this metric's state by the merge of ``states`` (shards of one dataset)."""
        raise NotImplementedError(f"{type(self).__name__} does not keep mergeable state")

    @property
    def mergeable(self) -> bool:
        return type(self).state is not Metric.state

    def __init__(self) -> None:
        self._device = torch.device("cpu")
        self.reset()

    # -- identity ----------------------------------------------------------------------------
    @property
    def fingerprint(self) -> str:
        """Every option that changes the value, as ``name(k=v,...)``."""
        opts = ",".join(f"{k}={v}" for k, v in sorted(self.options().items()))
        return f"{self.name}({opts})"

    def options(self) -> dict[str, Any]:
        return {}

    def to(self, device: str | torch.device) -> "Metric":
        self._device = torch.device(device)
        return self

    # -- state -------------------------------------------------------------------------------
    def reset(self) -> None:
        self._per_item: list[torch.Tensor] = []
        #: per-item reasons for NaN values of the last call (None where a value was measured)
        self.item_reasons: list[str | None] = []

    def update(self, output: torch.Tensor, reference: torch.Tensor | None = None, **extras: Any) -> None:
        """Accumulate a batch."""
        if self.paired:
            self._per_item.append(self(output, reference, **extras).detach().cpu())
        else:
            self._check(output, reference)
            self._update(output, reference, **extras)

    def compute(self) -> torch.Tensor:
        """Per-item values of everything seen (paired), or the set's single value (float64)."""
        if self.paired:
            return torch.cat(self._per_item) if self._per_item else torch.empty(0, dtype=torch.float64)
        return _float64(self._compute())

    def __call__(self, output: torch.Tensor, reference: torch.Tensor | None = None, **extras: Any) -> torch.Tensor:
        """The values as float64, whatever precision the metric computed in (one dtype for every metric)."""
        self._check(output, reference)
        if self.paired:
            return _float64(self._values(output, reference, **extras))
        self.reset()
        self._update(output, reference, **extras)
        return _float64(self._compute())

    # -- checks ------------------------------------------------------------------------------
    def _check(self, output: Any, reference: Any) -> None:
        self._check_one(output, "output")
        if self.needs_reference:
            if reference is None:
                raise MetricError(f"{self.name}: needs a reference image batch")
            self._check_one(reference, "reference")
            if self.paired and reference.shape != output.shape:
                raise MetricError(
                    f"{self.name}: output shape {tuple(output.shape)} differs from reference shape "
                    f"{tuple(reference.shape)}; paired metrics compare images of equal size"
                )

    def _check_one(self, x: Any, what: str) -> None:
        if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[1] != 3:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise MetricError(f"{self.name}: {what} must be an N x 3 x H x W tensor, got {shape}")
        if not x.is_floating_point():
            raise MetricError(f"{self.name}: {what} must be float in [0, 1], got {x.dtype} (use zoo.images.to_float)")
        lo_t, hi_t = torch.aminmax(x.detach())  # one pass; NaN propagates into min/max
        lo, hi = float(lo_t), float(hi_t)
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise MetricError(f"{self.name}: {what} contains NaN or Inf")
        if lo < -1e-6 or hi > 1 + 1e-6:
            raise MetricError(f"{self.name}: {what} values must lie in [0, 1], got [{lo:.4g}, {hi:.4g}]")

    # -- to implement ------------------------------------------------------------------------
    def _values(self, output: torch.Tensor, reference: torch.Tensor | None, **extras: Any) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} is a distribution metric")

    def _update(self, output: torch.Tensor, reference: torch.Tensor | None, **extras: Any) -> None:
        raise NotImplementedError(f"{type(self).__name__} is a paired metric")

    def _compute(self) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} is a paired metric")


def build_metric(name: str, **options: Any) -> Metric:
    """Instantiate a registered metric; unknown names list the registered ones."""
    table = registry().items["metrics"]
    if name not in table:
        raise UnknownNameError(unknown_message("metric", name, table))
    try:
        return table[name].obj(**options)
    except TypeError as exc:
        raise MetricError(f"metric {name!r}: invalid options {options}: {exc}") from exc
