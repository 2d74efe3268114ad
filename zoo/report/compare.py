"""Regression gate: compare a run with a baseline and list every drift.

Rows are matched on (benchmark, dataset, item, method, setting, metric), never on the unit
keys of the result store, so runs written by different imagezoo versions compare. A value drifts
when |current - baseline| exceeds its tolerance, when its fingerprint changed (measured
differently), or when it turned from ok to failed. A method or metric present in the baseline
and missing from the run is a drift too. Cost metrics (runtime, memory) and timings methods
report in their stats are machine-dependent and not compared.

A tolerance is absolute (``0.01``), relative to the baseline value (``0.1%``), or both
(``0.01+0.1%``: |Δ| may reach 0.01 + 0.1 % of |baseline|, as in :func:`numpy.isclose`);
``inf`` ignores a metric's values (its fingerprint and status are still compared). Each
result column takes the first tolerance found, most specific source first:

1. ``--tolerance NAME=TOL`` (repeatable or comma-separated);
2. the suite's ``tolerances:`` block (the run's suite: ``{psnr: 0.05, kd-effnetlite0: 1%}``);
3. the tolerance the metric declares for itself (its noise floor: ``Metric.tolerance``);
4. the default, 1e-4 absolute.

Within sources 1 and 2 a NAME matches a result column three ways, most specific first:

1. the column itself: an alias (``psnr-y``) or a named sub-column (``skin-tone-shift.delta_ita``);
2. the alias a sub-column belongs to (``skin-tone-shift`` for ``skin-tone-shift:mean_delta_ita``);
3. the metric's registered name, read from the row's fingerprint (``psnr`` covers the columns
   ``psnr`` and ``psnr-y``, which are both measured by the metric ``psnr``).

So ``--tolerance psnr=0.01,psnr-y=0.001`` gives ``psnr-y`` 0.001 (the alias wins) and every
other PSNR column 0.01. A name that matches no column, alias or metric of either run is
reported by :func:`unmatched_tolerances` (the CLI warns). NaN and negative tolerances are
refused.

:func:`mean_changes` condenses the item-level drifts into one row per (benchmark, method,
setting, metric) mean: the gate prints those first (:func:`summary_lines`), the items only on
request, and the report's diff view shows the same rows.
"""

from __future__ import annotations

import math
import re
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from zoo.report.leaderboard import machine_dependent
from zoo.tolerance import Tolerance, parse_tolerance, suite_tolerances

__all__ = ["Tolerance", "Tolerances", "compare", "mean_changes", "summary_lines", "parse_tolerance", "parse_tolerances",
           "suite_tolerances", "tolerance_for", "unmatched_tolerances", "declared_tolerance", "DEFAULT_TOLERANCE"]

KEY = ["benchmark", "dataset", "item", "method", "setting", "metric"]
MEAN_KEY = ["benchmark", "method", "setting", "metric"]
DEFAULT_TOLERANCE = 1e-4


class Tolerances:
    """Every tolerance source of one comparison, resolved per result column (see the module doc).

    Args:
        given: ``--tolerance`` rules (name -> :class:`Tolerance`, or a float: absolute).
        suite: the suite's ``tolerances:`` block, parsed alike.
        declared: use the tolerances metrics declare for themselves.
        default: the rule for everything else.
    """

    def __init__(self, given: Mapping[str, Any] | None = None, suite: Mapping[str, Any] | None = None,
                 declared: bool = True, default: float | Tolerance = DEFAULT_TOLERANCE) -> None:
        self.given = {k: _as_tol(v, "--tolerance") for k, v in (given or {}).items()}
        self.suite = {k: _as_tol(v, "suite") for k, v in (suite or {}).items()}
        self.declared = declared
        self.default = _as_tol(default, "default")
        self._memo: dict[tuple, Tolerance] = {}

    def __bool__(self) -> bool:
        return bool(self.given or self.suite)

    def items(self):
        """The explicit rules (``--tolerance`` over the suite's): name -> Tolerance."""
        return {**self.suite, **self.given}.items()

    def for_column(self, column: str, fingerprints: Iterable[object] = ()) -> Tolerance:
        fps = tuple(fingerprints)
        key = (column, fps)
        if key not in self._memo:
            self._memo[key] = self._resolve(column, fps)
        return self._memo[key]

    def _resolve(self, column: str, fps: tuple) -> Tolerance:
        names = [n for n in map(metric_name, fps) if n]
        for rules in (self.given, self.suite):
            for name in (column, _alias(column), *names):
                if name in rules:
                    return rules[name]
        if self.declared:
            for name in names:
                tol = declared_tolerance(name)
                if tol is not None:
                    return tol
        return self.default


def _as_tol(v: Any, source: str) -> Tolerance:
    if isinstance(v, Tolerance):
        return v
    return parse_tolerance(v, source=source, where=source)


def declared_tolerance(metric: str) -> Tolerance | None:
    """The tolerance a registered metric declares (``Metric.tolerance``: its noise floor), or None."""
    from zoo.plugins import registry

    entry = registry().items["metrics"].get(metric)
    if entry is None:
        return None
    try:
        obj = entry.obj
        if not isinstance(obj, type) and callable(obj):  # a factory function: the class it returns
            obj = typing.get_type_hints(obj).get("return", obj)
        value = getattr(obj, "tolerance", None)
    except Exception:  # a plugin that fails to import: the gate falls back to the default
        return None
    if value is None:
        return None
    return parse_tolerance(value, source="metric", where=f"metric {metric!r}: its declared tolerance")


def as_tolerances(tolerances: Tolerances | Mapping[str, Any] | None) -> Tolerances:
    return tolerances if isinstance(tolerances, Tolerances) else Tolerances(tolerances)


def compare(current: pd.DataFrame, baseline: pd.DataFrame, tolerances: Tolerances | Mapping[str, Any] | None = None,
            default_tolerance: float = DEFAULT_TOLERANCE, subset: bool = False, nan_equal: bool = True) -> pd.DataFrame:
    """Drifts between ``current`` and ``baseline`` (empty frame: no drift), one row per item value.

    Args:
        tolerances: a :class:`Tolerances`, or ``--tolerance`` rules (name -> Tolerance or absolute float).
        default_tolerance: the rule where no other applies (ignored when ``tolerances`` is a Tolerances).
        subset: compare only the (benchmark, method) pairs present in ``current``, so a
            partial run can be checked against a full baseline.
        nan_equal: a value that is NaN in both (undefined in both, e.g. the CI of one item)
            matches (default); ``False`` reports it as a drift (``zoo compare --nan-is-drift``).

    Returns:
        KEY columns, ``baseline``, ``run``, ``tolerance`` (the |Δ| allowed for this value),
        ``rule`` (the tolerance as given, e.g. ``0.1%``, and its source) and ``reason``.
    """
    tols = tolerances if isinstance(tolerances, Tolerances) else Tolerances(tolerances, default=default_tolerance)
    cur, base = _comparable(current, baseline, subset)
    merged = base.merge(cur, on=KEY, how="left", suffixes=("_base", "_run"), indicator=True)
    drifts = []
    for _, r in merged.iterrows():
        rule = tols.for_column(r.metric, (r.fingerprint_base, r.get("fingerprint_run")))
        base_value = _float(r.get("value_base"))
        tol = rule.limit(base_value)
        reason = None
        if r["_merge"] == "left_only":
            reason = "missing from run"
        elif r.status_base == "ok" and r.status_run != "ok":
            reason = f"now {r.status_run}: {r.error_run}"
        elif r.status_base == "ok" and r.fingerprint_base != r.fingerprint_run:
            reason = f"fingerprint changed: {r.fingerprint_base} -> {r.fingerprint_run}"
        elif r.status_base == "ok":
            a, b = base_value, _float(r.value_run)
            same_inf = np.isinf(a) and np.isinf(b) and np.sign(a) == np.sign(b)
            both_nan = nan_equal and np.isnan(a) and np.isnan(b)  # undefined in both (e.g. a CI of one item)
            if not same_inf and not both_nan and not rule.ignores_values and not (abs(a - b) <= tol):
                reason = f"|Δ| = {abs(a - b):.3g} > {tol:.3g}"
        if reason:
            drifts.append({**{k: r[k] for k in KEY}, "baseline": r.get("value_base"), "run": r.get("value_run"),
                           "tolerance": tol, "rule": f"{rule} ({rule.source})", "reason": reason})
    return pd.DataFrame(drifts, columns=KEY + ["baseline", "run", "tolerance", "rule", "reason"])


def _comparable(current: pd.DataFrame, baseline: pd.DataFrame, subset: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    cur = current[~machine_dependent(current)].copy()
    base = baseline[~machine_dependent(baseline)].copy()
    if subset:
        present = set(zip(cur.benchmark, cur.method))
        base = base[[p in present for p in zip(base.benchmark, base.method)]]
    return cur, base


def _count(v: object) -> int:
    """A count that may be missing (a mean only one side has): 0 then."""
    f = _float(v)
    return 0 if math.isnan(f) else int(f)


def _float(v: object) -> float:
    try:
        return float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def mean_changes(current: pd.DataFrame, baseline: pd.DataFrame, tolerances: Tolerances | Mapping[str, Any] | None = None,
                 subset: bool = False, drifts: pd.DataFrame | None = None, nan_equal: bool = True) -> pd.DataFrame:
    """One row per (benchmark, method, setting, metric) mean of either run.

    Columns: MEAN_KEY, ``baseline`` and ``run`` (means over the ok items; NaN where absent),
    ``delta``, ``tolerance`` (the rule, e.g. ``0.1% (suite)``), ``n`` (items in the baseline),
    ``drifted`` (item values that drifted), ``reason`` (the first drift's, or ``new in this
    run``) and ``state``: ``drift`` (some value drifted), ``within`` (the mean moved, no value
    beyond its tolerance), ``same`` (unchanged) or ``new``.
    """
    tols = as_tolerances(tolerances)
    if drifts is None:
        drifts = compare(current, baseline, tols, subset=subset, nan_equal=nan_equal)
    cur, base = _comparable(current, baseline, subset)

    def means(df: pd.DataFrame) -> pd.DataFrame:
        ok = df[df.status == "ok"].assign(value=lambda d: pd.to_numeric(d.value, errors="coerce"))
        return ok.groupby(MEAN_KEY, sort=False).agg(mean=("value", "mean"), fingerprint=("fingerprint", "first"),
                                                    n=("value", "size")).reset_index()

    merged = means(base).merge(means(cur), on=MEAN_KEY, how="outer", suffixes=("_base", "_run"))
    # a (method, metric) that only failed in the run has no ok mean there: keep the drift rows' keys too
    if len(drifts):
        extra = drifts[MEAN_KEY].drop_duplicates().merge(merged[MEAN_KEY], how="left", indicator=True)
        extra = extra[extra._merge == "left_only"].drop(columns="_merge")
        merged = pd.concat([merged, extra], ignore_index=True)
    counts = drifts.groupby(MEAN_KEY).size().to_dict() if len(drifts) else {}
    reasons = drifts.groupby(MEAN_KEY).reason.first().to_dict() if len(drifts) else {}
    rows = []
    for r in merged.itertuples(index=False):
        k = (r.benchmark, r.method, r.setting, r.metric)
        b, c = _float(getattr(r, "mean_base", None)), _float(getattr(r, "mean_run", None))
        rule = tols.for_column(r.metric, (getattr(r, "fingerprint_base", None), getattr(r, "fingerprint_run", None)))
        n_drift = int(counts.get(k, 0))
        both = not (math.isnan(b) and math.isnan(c))
        delta = c - b if both else math.nan
        if n_drift:
            state = "drift"
        elif math.isnan(b) and not math.isnan(c):
            state = "new"
        elif (math.isnan(b) and math.isnan(c)) or b == c or (np.isinf(b) and np.isinf(c) and np.sign(b) == np.sign(c)):
            state = "same"
        else:
            state = "within"
        rows.append({**dict(zip(MEAN_KEY, k)), "baseline": b, "run": c, "delta": delta,
                     "tolerance": f"{rule} ({rule.source})", "n": _count(getattr(r, "n_base", 0)),
                     "drifted": n_drift, "reason": reasons.get(k, "new in this run" if state == "new" else ""),
                     "state": state})
    return pd.DataFrame(rows, columns=MEAN_KEY + ["baseline", "run", "delta", "tolerance", "n", "drifted", "reason", "state"])


def summary_lines(means: pd.DataFrame) -> list[str]:
    """The gate's head: one line per mean that drifted, then a count of those that moved within tolerance."""
    lines = []
    fmt = lambda v: "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.6g}"  # noqa: E731
    for r in means[means.state == "drift"].itertuples(index=False):
        setting = f" {r.setting}" if isinstance(r.setting, str) and r.setting else ""
        lines.append(f"DRIFT {r.benchmark} {r.method}{setting} {r.metric}: baseline {fmt(r.baseline)} run {fmt(r.run)} "
                     f"Δ {fmt(r.delta) if not math.isnan(r.delta) else '–'} tolerance {r.tolerance}; "
                     f"{r.drifted} of {r.n or '?'} value(s) drifted ({r.reason})")
    within = int((means.state == "within").sum())
    if within:
        lines.append(f"{within} more mean(s) moved within tolerance (--details lists them with every item)")
    return lines


_NAME = re.compile(r"^([^()\s]+)\(")


def metric_name(fingerprint: object) -> str | None:
    """The registered metric name a fingerprint starts with (``psnr`` for ``psnr(channel=y,...)``)."""
    m = _NAME.match(fingerprint) if isinstance(fingerprint, str) else None
    return m.group(1) if m else None


def _alias(column: str) -> str:
    return re.split(r"[.:]", column, maxsplit=1)[0]


def tolerance_for(column: str, fingerprints: tuple, tolerances: Tolerances | Mapping[str, Any],
                  default: float = DEFAULT_TOLERANCE) -> Tolerance:
    """The tolerance rule for a result column (see the module doc for the order)."""
    tols = tolerances if isinstance(tolerances, Tolerances) else Tolerances(tolerances, default=default)
    return tols.for_column(column, fingerprints)


def unmatched_tolerances(tolerances: Mapping[str, Any] | Tolerances, *frames: pd.DataFrame) -> list[str]:
    """Tolerance names that match no column, alias or metric name in ``frames``."""
    names = [k for k, _ in tolerances.items()]
    known: set[str] = set()
    for df in frames:
        cols = set(df.metric.astype(str))
        known |= cols | {_alias(c) for c in cols}
        known |= {n for n in map(metric_name, df.fingerprint.unique()) if n}
    return [t for t in names if t not in known]


def parse_tolerances(items: list[str] | None) -> dict[str, Tolerance]:
    """``["psnr=0.01,ssim=0.1%", "psnr-y=0.001+0.01%"]`` -> name -> :class:`Tolerance`.

    Raises:
        ZooError: an item is not ``NAME=TOL``, a value is not a tolerance, NaN or negative,
            or a name is given twice with different values.
    """
    from zoo.errors import ZooError

    out: dict[str, Tolerance] = {}
    for item in items or []:
        for part in item.split(","):
            name, sep, val = part.partition("=")
            name = name.strip()
            if not sep or not name or not val.strip():
                raise ZooError(f"--tolerance {part!r}: expected NAME=TOL, e.g. psnr=0.01 (absolute), psnr=0.1% "
                               f"(of the baseline value) or psnr=0.01+0.1%; several: psnr=0.01,ssim=0.1%")
            tol = parse_tolerance(val.strip(), where=f"--tolerance {part!r}")
            if name in out and out[name] != tol:
                raise ZooError(f"--tolerance: {name!r} is given twice ({out[name]} and {tol}); keep one")
            out[name] = tol
    return out


def run_tolerances(run: str | Path | None) -> dict[str, Tolerance]:
    """The suite ``tolerances:`` a run was made with (its meta.json; a results file's folder's), or {}."""
    import json

    if run is None:
        return {}
    p = Path(run)
    meta = (p if p.is_dir() else p.parent) / "meta.json"
    try:
        block = json.loads(meta.read_text()).get("tolerances") or {}
    except (OSError, ValueError, AttributeError):
        return {}
    return suite_tolerances(block, str(meta))


def gate(current: pd.DataFrame, baseline: pd.DataFrame, tolerances: Tolerances, subset: bool = False,
         nan_equal: bool = True, details: bool = False) -> tuple[int, str]:
    """The gate's verdict for the terminal: (number of drifted values, text to print on stdout).

    The text starts with one line per mean that drifted (baseline, run, Δ, tolerance); with
    ``details`` a table of every mean that moved and every item value that drifted follows.
    """
    drifts = compare(current, baseline, tolerances, subset=subset, nan_equal=nan_equal)
    means = mean_changes(current, baseline, tolerances, subset=subset, drifts=drifts, nan_equal=nan_equal)
    lines = summary_lines(means)
    if details:
        moved = means[means.state.isin(["drift", "within", "new"])].drop(columns=["state"])
        if len(moved):
            lines += ["", "means that moved:", moved.to_markdown(index=False)]
        if len(drifts):
            lines += ["", "item values that drifted:", drifts.to_markdown(index=False)]
    elif len(drifts):
        lines.append(f"({len(drifts)} item value(s) drifted; --details lists them)")
    return len(drifts), "\n".join(lines)
