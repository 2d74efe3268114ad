"""One unit of work: a method at one operating point over one dataset shard, measured.

Everything the unit needs comes in through :class:`UnitContext` (the task spec, the
metrics, the dataset shard, how to load the method); the result is a long-form frame of
rows plus, for distribution metrics of a sharded dataset, their mergeable states. Nothing
here knows a task by name: the spec makes samples and calls the method.

:func:`run_unit` is four seams in a row, each a function or class of its own:

1. :func:`load_or_fail` — the method, or the row saying why it is unavailable or failed;
2. :func:`read_batches` then :func:`run_batch` — same-shape batches of samples (unreadable
   items become rows), each run through the method (timed, under the right grad mode);
3. :class:`MetricRows` — every metric fed each batch's outputs; per-item, summary and
   distribution rows (or, for a shard, the distribution metrics' mergeable states);
4. :class:`CostRows` — runtime, task timings, method-reported stats, parameters, peak memory.
"""

from __future__ import annotations

import contextlib
import math
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Callable

import pandas as pd
import torch

from zoo.errors import MetricError, WeightsError, WeightsIntegrityError
from zoo.harness.measure import PeakRSS, phase
from zoo.images import quantize
from zoo.metrics import Metric, MetricResult
from zoo.results import MetricKey, encode_attributes, encode_setting, make_row
from zoo.taskspec import Batch, Outcome, Sample, TaskSpec

__all__ = ["UnitContext", "UnitResult", "run_unit", "load_or_fail", "read_batches", "run_batch", "MetricRows",
           "CostRows", "metric_inputs", "compute_distribution", "mark_unverified", "log"]

#: the results format's names (:mod:`zoo.results`), under the names the harness used before it existed
setting_str = encode_setting
row = make_row


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@dataclass
class UnitContext:
    """What one unit needs, handed in by the runner (or a Ray worker)."""

    bench: Any  # zoo.harness.suite.Benchmark
    spec: TaskSpec
    card: Any  # zoo.catalog.MethodCard
    setting: dict
    dataset: Any  # zoo.datasets.Dataset (a shard)
    metrics: list[tuple[str, Metric]]
    unavailable: list[dict]
    base: dict
    load: Callable[[str, dict], Any]
    device: torch.device
    round_outputs: bool = True
    sharded: bool = False
    save_samples: Callable[[list[str], torch.Tensor], None] = lambda ids, y: None
    #: this unit's seconds by phase (:data:`zoo.harness.measure.PHASES`), filled by :func:`run_unit`
    timing: dict[str, float] = field(default_factory=dict)


@dataclass
class UnitResult:
    rows: pd.DataFrame
    states: dict[str, dict] = field(default_factory=dict)  # alias -> mergeable metric state (sharded units)


# -- 1. load ---------------------------------------------------------------------------------

def load_or_fail(ctx: UnitContext) -> tuple[Any, list[dict]]:
    """(the loaded method, []) or (None, the row saying why it cannot run).

    Weights that are not here (offline, unpinned, no Hub mirror) make a method unavailable,
    with the reason; anything else (integrity failures included) is a failure of the method.
    """
    try:
        with phase(ctx.timing, "load_s"):
            return ctx.load(ctx.card.id, ctx.setting), []
    except Exception as exc:
        err = f"{type(exc).__name__}: {exc}"
        status = "unavailable" if isinstance(exc, WeightsError) and not isinstance(exc, WeightsIntegrityError) else "failed"
        log(f"[zoo] {ctx.bench.name}: {ctx.card.id} {encode_setting(ctx.setting)} {status}: {err}")
        return None, [make_row(ctx.base, metric="*", status=status, error=err)]


# -- 2. batches ------------------------------------------------------------------------------

def _same_shape_groups(samples: list[Sample]) -> list[list[int]]:
    groups: dict[tuple, list[int]] = {}
    for i, s in enumerate(samples):
        groups.setdefault(s.shape_key(), []).append(i)
    return list(groups.values())


def read_batches(ctx: UnitContext, failed: list[dict]) -> Iterator[Batch]:
    """The shard as batches of ``bench.batch_size`` samples of one shape; an item that cannot be
    read or prepared gets a failed row in ``failed`` and the rest are measured."""
    bs, n = max(1, ctx.bench.batch_size), len(ctx.dataset)
    for start in range(0, n, bs):
        samples = []
        for i in range(start, min(start + bs, n)):
            try:
                with phase(ctx.timing, "decode_s"):
                    item = ctx.dataset[i]  # decoded once per dataset, shared by the units that read it
                with phase(ctx.timing, "degrade_s"):
                    samples.append(ctx.spec.sample(item, ctx.bench.options))
            except Exception as exc:  # unreadable image: record that item, measure the rest
                failed.append(make_row(ctx.base, item=ctx.dataset.ids[i], metric="*", status="failed",
                                       error=f"{type(exc).__name__}: {exc}"))
        for group in _same_shape_groups(samples):
            with phase(ctx.timing, "degrade_s"):
                batch = Batch.stack([samples[g] for g in group], ctx.device)
            yield batch


@dataclass
class BatchRun:
    """What :func:`run_batch` got: the outputs (None if the method failed) and the rows for a failure."""

    outcome: Outcome | None
    images: torch.Tensor | None
    failed: list[dict]


def run_batch(ctx: UnitContext, method: Any, batch: Batch, costs: CostRows) -> BatchRun:
    """Run ``method`` on one batch (warming it up first, unless it optimises), timed into ``costs``;
    outputs are rounded to uint8 levels (``round_outputs``) and the sampled ones saved."""
    try:
        with phase(ctx.timing, "model_s"), (torch.enable_grad() if costs.grad else torch.inference_mode()):
            if not costs.warmed:
                ctx.spec.run(method, batch.first(), ctx.bench.options)
                costs.warmed = True
            method.stats = {}
            t0 = time.perf_counter()
            outcome = ctx.spec.run(method, batch, ctx.bench.options)
            if ctx.device.type == "cuda":
                torch.cuda.synchronize()
            costs.add_runtime((time.perf_counter() - t0) * 1000 / len(batch))
    except Exception as exc:
        err = f"{type(exc).__name__}: {exc}"
        log(f"[zoo] {ctx.bench.name}: {ctx.card.id} failed on {batch.items}: {err}")
        return BatchRun(None, None, [make_row(ctx.base, item=i, metric="*", status="failed", error=err) for i in batch.items])
    costs.add_batch(outcome, method)
    y = outcome.images.detach()
    if ctx.round_outputs:
        with phase(ctx.timing, "round_s"):
            y = quantize(y)
    with phase(ctx.timing, "samples_s"):
        ctx.save_samples(batch.items, y)
    return BatchRun(outcome, y, [])


# -- 3. metrics ------------------------------------------------------------------------------

def metric_inputs(metric: Metric, batch: Batch, outcome: Outcome, method: Any) -> dict[str, Any]:
    """The keyword arguments a metric declared in ``needs``, from the batch, the outcome and the method."""
    common = {"input": batch.input, "items": batch.items, "attributes": batch.attributes, "method": method}
    out = {}
    for need in metric.requirements() - {"reference"}:
        if need in common:
            out[need] = common[need]
        elif need in outcome.outputs:
            out[need] = outcome.outputs[need]
        elif need in batch.extras:
            out[need] = batch.extras[need]
        else:
            raise MetricError(f"{metric.name}: needs {need!r}, which these items do not carry")
    return out


def _aggregates(m: Metric) -> bool:
    return type(m).aggregate is not Metric.aggregate


class MetricRows:
    """The unit's metrics: fed batch by batch, then asked for their rows (and shard states)."""

    def __init__(self, ctx: UnitContext) -> None:
        self.ctx, self.base = ctx, ctx.base
        for _, m in ctx.metrics:
            m.reset()
        self.dist_keys: dict[str, str] = {}
        for alias, m in ctx.metrics:
            if not m.paired:
                self.dist_keys[alias] = f"{ctx.dataset.content_hash}|{encode_setting(ctx.spec.unit_options(ctx.bench.options))}"
                m.load_reference(self.dist_keys[alias])
        self.per_item: dict[str, dict[str, list[float]]] = {a: {} for a, m in ctx.metrics if m.paired and _aggregates(m)}
        self.per_item_attrs: dict[str, list[dict]] = {a: [] for a in self.per_item}
        self.states: dict[str, dict] = {}

    def add(self, batch: Batch, outcome: Outcome, y: torch.Tensor, method: Any) -> list[dict]:
        """Rows of every paired metric for this batch; distribution metrics accumulate it."""
        rows: list[dict] = []
        with phase(self.ctx.timing, "metrics_s"), torch.no_grad():
            for alias, m in self.ctx.metrics:
                try:
                    extras = metric_inputs(m, batch, outcome, method)
                    if m.paired:
                        new = self._per_item_rows(alias, m, batch, m.measure(y, batch.reference, **extras))
                        rows += new
                        if alias in self.per_item:
                            for r in new:
                                key = r["metric"][len(alias) + 1:] or "value"  # "alias" -> value, "alias.key" -> key
                                self.per_item[alias].setdefault(key, []).append(r["value"])
                            self.per_item_attrs[alias] += batch.attributes
                    else:
                        m.update(y, batch.reference, **extras)
                except Exception as exc:
                    rows += [make_row(self.base, item=i, metric=alias, status="failed", error=f"{type(exc).__name__}: {exc}",
                                      attributes=encode_attributes(batch.attributes[j])) for j, i in enumerate(batch.items)]
        return rows

    def _per_item_rows(self, alias: str, metric: Metric, batch: Batch, result: MetricResult) -> list[dict]:
        """Rows for one batch of a paired metric: a tensor, or a mapping of named per-item tensors."""
        vals = result.values
        named = vals.items() if isinstance(vals, dict) else [(None, vals)]
        rows = []
        for key, v in named:
            name = MetricKey.named(alias, key).format()
            for j, (item, value) in enumerate(zip(batch.items, torch.as_tensor(v).reshape(-1).tolist())):
                attrs = encode_attributes(batch.attributes[j])
                if math.isnan(value):
                    rows.append(make_row(self.base, item=item, metric=name, status="skipped", fingerprint=metric.fingerprint,
                                         error=result.reason(j) or "not measurable on this item", attributes=attrs))
                else:
                    rows.append(make_row(self.base, item=item, metric=name, value=float(value), fingerprint=metric.fingerprint,
                                         attributes=attrs))
        return rows

    def finish(self) -> list[dict]:
        """Summary rows of aggregating metrics and distribution metrics' values (or, for a shard, their states)."""
        rows: list[dict] = []
        with phase(self.ctx.timing, "metrics_s"):
            for alias, m in self.ctx.metrics:
                if m.paired:
                    if self.per_item.get(alias):
                        rows += _aggregate_rows(self.base, alias, m, self.per_item[alias], self.per_item_attrs[alias])
                    continue
                if self.ctx.sharded:  # the value of the whole set is computed once every shard's state is in
                    self.states[alias] = m.state()
                    continue
                rows.append(compute_distribution(self.base, alias, m))
                with contextlib.suppress(Exception):
                    m.save_reference(self.dist_keys[alias])
        return rows


def _aggregate_rows(base: dict, alias: str, m: Metric, values: dict[str, list[float]], attributes: list[dict]) -> list[dict]:
    try:
        summary = m.aggregate(values, attributes) or {}
    except Exception as exc:
        return [make_row(base, metric=MetricKey.summary(alias, "aggregate").format(), status="failed",
                         error=f"{type(exc).__name__}: {exc}")]
    reasons = getattr(m, "aggregate_reasons", None) or {}  # key -> why it is NaN (e.g. "insufficient n (2 of 6 people)")
    return [make_row(base, metric=MetricKey.summary(alias, k).format(), value=float(v), fingerprint=m.fingerprint)
            if not math.isnan(float(v))
            else make_row(base, metric=MetricKey.summary(alias, k).format(), status="skipped", fingerprint=m.fingerprint,
                          error=reasons.get(k) or "undefined for this unit (too few items or none measured)")
            for k, v in summary.items()]


def compute_distribution(base: dict, alias: str, m: Metric) -> dict:
    """One row for a distribution metric's value over everything it has seen (or its failure)."""
    try:
        result = m.result()
        value = float(result.values)
    except Exception as exc:
        return make_row(base, metric=alias, status="failed", error=f"{type(exc).__name__}: {exc}")
    return make_row(base, metric=alias, value=value, fingerprint=m.fingerprint, error="; ".join(result.notes))


# -- 4. cost ---------------------------------------------------------------------------------

class CostRows:
    """A unit's cost: per-image runtime, the task's timings, what the method reports, size and memory."""

    def __init__(self, ctx: UnitContext, method: Any) -> None:
        self.ctx, self.method = ctx, method
        self.grad = bool(getattr(method, "needs_grad", False))
        self.warmed = self.grad  # an optimising method is not warmed up: that would double its cost
        self.times: list[float] = []
        self.task_times: dict[str, list[float]] = {}
        self.stats: dict[str, list[float]] = {}

    def add_runtime(self, ms_per_image: float) -> None:
        self.times.append(ms_per_image)

    def add_batch(self, outcome: Outcome, method: Any) -> None:
        for k, v in outcome.timings.items():
            self.task_times.setdefault(k, []).append(v)
        for k, v in (getattr(method, "stats", None) or {}).items():
            self.stats.setdefault(k, []).append(float(v))

    def rows(self, mem: PeakRSS) -> list[dict]:
        base, dev = self.ctx.base, self.ctx.device.type
        rows = []
        if self.times:
            rows.append(make_row(base, metric="runtime_ms", value=statistics.median(self.times),
                                 fingerprint=f"median-per-image,{'cold' if self.grad else 'warm'},{dev}"))
        for k, v in self.task_times.items():
            rows.append(make_row(base, metric=k, value=statistics.median(v), fingerprint=f"median-per-image,warm,{dev}"))
        for k, v in self.stats.items():
            finite = [x for x in v if not math.isnan(x)]
            rows.append(make_row(base, metric=k, value=statistics.median(finite), fingerprint="method-reported,median-per-batch")
                        if finite else make_row(base, metric=k, status="skipped", fingerprint="method-reported",
                                                error="the method reported no value"))
        rows.append(make_row(base, metric="params", value=float(sum(p.numel() for p in self.method.parameters())),
                             fingerprint="count"))
        if self.times:
            rows.append(make_row(base, metric="peak_mem_mb", value=mem.mb, fingerprint=mem.fingerprint))
        return rows


# -- the unit --------------------------------------------------------------------------------

def run_unit(ctx: UnitContext) -> UnitResult:
    """Load the method, run it over the shard batch by batch, feed the metrics; never raises."""
    rows = [make_row(ctx.base, metric=u["metric"], status="unavailable", error=u["reason"]) for u in ctx.unavailable]
    method, failure = load_or_fail(ctx)
    if method is None:
        return UnitResult(pd.DataFrame(rows + failure))
    metrics, costs = MetricRows(ctx), CostRows(ctx, method)
    with PeakRSS(ctx.device) as mem:
        for batch in read_batches(ctx, rows):
            ran = run_batch(ctx, method, batch, costs)
            rows += ran.failed
            if ran.outcome is not None and ran.images is not None:
                rows += metrics.add(batch, ran.outcome, ran.images, method)
    rows += metrics.finish()
    with phase(ctx.timing, "rows_s"):
        rows += costs.rows(mem)
        frame = mark_unverified(pd.DataFrame(rows), method)
    return UnitResult(frame, metrics.states)


def mark_unverified(df: pd.DataFrame, method: Any) -> pd.DataFrame:
    """Note on every measured row that the method ran on weights fetched with --trust-on-first-use."""
    tofu = [w for w in getattr(method, "weights_provenance", []) if w.get("verification") == "trust-on-first-use"]
    if tofu and len(df):
        note = "unverified weights: " + ", ".join(
            f"{w['part'] + ' ' if w.get('part') else ''}sha256 {str(w.get('sha256'))[:16]}… fetched with --trust-on-first-use"
            for w in tofu)
        ok = df["status"] == "ok"
        df.loc[ok, "error"] = df.loc[ok, "error"].map(lambda e: f"{e}; {note}" if e else note)
    return df
