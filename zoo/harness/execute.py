"""One unit of work: a method at one operating point over one dataset shard, measured.

Everything the unit needs comes in through :class:`UnitContext` (the task spec, the
metrics, the dataset shard, how to load the method); the result is a long-form frame of
rows plus, for distribution metrics of a sharded dataset, their mergeable states. Nothing
here knows a task by name: the spec makes samples and calls the method.
"""

from __future__ import annotations

import contextlib
import math
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import pandas as pd
import torch

from zoo.errors import MetricError, WeightsError, WeightsIntegrityError
from zoo.harness.measure import PeakRSS, phase
from zoo.images import quantize
from zoo.metrics import Metric
from zoo.results import MetricKey, encode_attributes, encode_setting, make_row
from zoo.taskspec import Batch, Outcome, Sample, TaskSpec


#: the results format's names (:mod:`zoo.results`), under the names the harness used before it existed
setting_str = encode_setting
row = make_row
_attr_str = encode_attributes


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


def _same_shape_groups(samples: list[Sample]) -> list[list[int]]:
    groups: dict[tuple, list[int]] = {}
    for i, s in enumerate(samples):
        groups.setdefault(s.shape_key(), []).append(i)
    return list(groups.values())


def _per_item_rows(base: dict, alias: str, metric: Metric, batch: Batch, vals: Any) -> list[dict]:
    """Rows for one batch of a paired metric: a tensor, or a mapping of named per-item tensors."""
    named = vals.items() if isinstance(vals, dict) else [(None, vals)]
    reasons = list(getattr(metric, "item_reasons", None) or [])
    rows = []
    for key, v in named:
        name = MetricKey.named(alias, key).format()
        for j, (item, value) in enumerate(zip(batch.items, torch.as_tensor(v).reshape(-1).tolist())):
            attrs = _attr_str(batch.attributes[j])
            if math.isnan(value):
                why = reasons[j] if j < len(reasons) and reasons[j] else "not measurable on this item"
                rows.append(row(base, item=item, metric=name, status="skipped", error=why, fingerprint=metric.fingerprint, attributes=attrs))
            else:
                rows.append(row(base, item=item, metric=name, value=float(value), fingerprint=metric.fingerprint, attributes=attrs))
    return rows


def run_unit(ctx: UnitContext) -> UnitResult:
    """Load the method, run it over the shard batch by batch, feed the metrics; never raises."""
    base, rows, states = ctx.base, [], {}
    for u in ctx.unavailable:
        rows.append(row(base, metric=u["metric"], status="unavailable", error=u["reason"]))
    try:
        with phase(ctx.timing, "load_s"):
            method = ctx.load(ctx.card.id, ctx.setting)
    except Exception as exc:
        err = f"{type(exc).__name__}: {exc}"
        # weights that are not here (offline, unpinned, no Hub mirror) make a method
        # unavailable, with the reason; anything else is a failure of the method
        status = "unavailable" if isinstance(exc, WeightsError) and not isinstance(exc, WeightsIntegrityError) else "failed"
        log(f"[zoo] {ctx.bench.name}: {ctx.card.id} {setting_str(ctx.setting)} {status}: {err}")
        rows.append(row(base, metric="*", status=status, error=err))
        return UnitResult(pd.DataFrame(rows))
    metrics = ctx.metrics
    for _, m in metrics:
        m.reset()
    dist_keys = {}
    for alias, m in metrics:
        if not m.paired:
            dist_keys[alias] = f"{ctx.dataset.content_hash}|{setting_str(ctx.spec.unit_options(ctx.bench.options))}"
            m.load_reference(dist_keys[alias])
    per_item: dict[str, dict[str, list[float]]] = {a: {} for a, m in metrics if m.paired and _aggregates(m)}
    per_item_attrs: dict[str, list[dict]] = {a: [] for a in per_item}
    times: list[float] = []
    task_times: dict[str, list[float]] = {}
    stats: dict[str, list[float]] = {}
    grad = bool(getattr(method, "needs_grad", False))
    warmed = grad  # an optimising method is not warmed up: that would double its cost
    bs = max(1, ctx.bench.batch_size)
    n = len(ctx.dataset)
    with PeakRSS(ctx.device) as mem:
        for start in range(0, n, bs):
            samples = []
            for i in range(start, min(start + bs, n)):
                try:
                    with phase(ctx.timing, "decode_s"):
                        item = ctx.dataset[i]  # decoded once per dataset, shared by the units that read it
                    with phase(ctx.timing, "degrade_s"):
                        samples.append(ctx.spec.sample(item, ctx.bench.options))
                except Exception as exc:  # unreadable image: record that item, measure the rest
                    rows.append(row(base, item=ctx.dataset.ids[i], metric="*", status="failed", error=f"{type(exc).__name__}: {exc}"))
            if not samples:
                continue
            for group in _same_shape_groups(samples):
                with phase(ctx.timing, "degrade_s"):
                    batch = Batch.stack([samples[g] for g in group], ctx.device)
                try:
                    with phase(ctx.timing, "model_s"), (torch.enable_grad() if grad else torch.inference_mode()):
                        if not warmed:
                            ctx.spec.run(method, batch.first(), ctx.bench.options)
                            warmed = True
                        method.stats = {}
                        t0 = time.perf_counter()
                        outcome = ctx.spec.run(method, batch, ctx.bench.options)
                        if ctx.device.type == "cuda":
                            torch.cuda.synchronize()
                        times.append((time.perf_counter() - t0) * 1000 / len(batch))
                except Exception as exc:
                    err = f"{type(exc).__name__}: {exc}"
                    log(f"[zoo] {ctx.bench.name}: {ctx.card.id} failed on {batch.items}: {err}")
                    for i in batch.items:
                        rows.append(row(base, item=i, metric="*", status="failed", error=err))
                    continue
                for k, v in outcome.timings.items():
                    task_times.setdefault(k, []).append(v)
                for k, v in (getattr(method, "stats", None) or {}).items():
                    stats.setdefault(k, []).append(float(v))
                y = outcome.images.detach()
                if ctx.round_outputs:
                    with phase(ctx.timing, "round_s"):
                        y = quantize(y)
                with phase(ctx.timing, "samples_s"):
                    ctx.save_samples(batch.items, y)
                with phase(ctx.timing, "metrics_s"), torch.no_grad():
                    for alias, m in metrics:
                        try:
                            extras = metric_inputs(m, batch, outcome, method)
                            if m.paired:
                                m.item_reasons = []  # reasons belong to this call's items
                                vals = m(y, batch.reference, **extras)
                                new = _per_item_rows(base, alias, m, batch, vals)
                                rows += new
                                if alias in per_item:
                                    for r in new:
                                        key = r["metric"][len(alias) + 1:] or "value"
                                        per_item[alias].setdefault(key, []).append(r["value"])
                                    per_item_attrs[alias] += batch.attributes
                            else:
                                m.update(y, batch.reference, **extras)
                        except Exception as exc:
                            for j, i in enumerate(batch.items):
                                rows.append(row(base, item=i, metric=alias, status="failed", error=f"{type(exc).__name__}: {exc}",
                                                attributes=_attr_str(batch.attributes[j])))
    with phase(ctx.timing, "metrics_s"):
        for alias, m in metrics:
            if m.paired:
                if alias in per_item and per_item[alias]:
                    rows += _aggregate_rows(base, alias, m, per_item[alias], per_item_attrs[alias])
                continue
            if ctx.sharded:  # the value of the whole set is computed once every shard's state is in
                states[alias] = m.state()
                continue
            rows.append(compute_distribution(base, alias, m))
            with contextlib.suppress(Exception):
                m.save_reference(dist_keys[alias])
    t_rows = time.perf_counter()
    if times:
        rows.append(row(base, metric="runtime_ms", value=statistics.median(times), fingerprint=f"median-per-image,{'cold' if grad else 'warm'},{ctx.device.type}"))
    for k, v in task_times.items():
        rows.append(row(base, metric=k, value=statistics.median(v), fingerprint=f"median-per-image,warm,{ctx.device.type}"))
    for k, v in stats.items():
        finite = [x for x in v if not math.isnan(x)]
        rows.append(row(base, metric=k, value=statistics.median(finite), fingerprint="method-reported,median-per-batch") if finite
                    else row(base, metric=k, status="skipped", fingerprint="method-reported", error="the method reported no value"))
    rows.append(row(base, metric="params", value=float(sum(p.numel() for p in method.parameters())), fingerprint="count"))
    if times:
        rows.append(row(base, metric="peak_mem_mb", value=mem.mb, fingerprint=mem.fingerprint))
    frame = mark_unverified(pd.DataFrame(rows), method)
    ctx.timing["rows_s"] = ctx.timing.get("rows_s", 0.0) + time.perf_counter() - t_rows
    return UnitResult(frame, states)


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


def _aggregates(m: Metric) -> bool:
    return type(m).aggregate is not Metric.aggregate


def _aggregate_rows(base: dict, alias: str, m: Metric, values: dict[str, list[float]], attributes: list[dict]) -> list[dict]:
    try:
        summary = m.aggregate(values, attributes) or {}
    except Exception as exc:
        return [row(base, metric=MetricKey.summary(alias, "aggregate").format(), status="failed",
                    error=f"{type(exc).__name__}: {exc}")]
    reasons = getattr(m, "aggregate_reasons", None) or {}  # key -> why it is NaN (e.g. "insufficient n (2 of 6 people)")
    return [row(base, metric=MetricKey.summary(alias, k).format(), value=float(v), fingerprint=m.fingerprint)
            if not math.isnan(float(v))
            else row(base, metric=MetricKey.summary(alias, k).format(), status="skipped", fingerprint=m.fingerprint,
                     error=reasons.get(k) or "undefined for this unit (too few items or none measured)")
            for k, v in summary.items()]


def compute_distribution(base: dict, alias: str, m: Metric) -> dict:
    """One row for a distribution metric's value over everything it has seen (or its failure)."""
    try:
        value = float(m.compute())
    except Exception as exc:
        return row(base, metric=alias, status="failed", error=f"{type(exc).__name__}: {exc}")
    return row(base, metric=alias, value=value, fingerprint=m.fingerprint, error=getattr(m, "note", "") or "")
