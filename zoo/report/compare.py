"""Regression gate: compare a run with a baseline and list every drift.

Rows are matched on (benchmark, dataset, item, method, setting, metric), never on the unit
keys of the result store, so runs written by different imagezoo versions compare. A value drifts
when |current - baseline| exceeds the metric's absolute tolerance, when its fingerprint
changed (measured differently), or when it turned from ok to failed. A method or metric
present in the baseline and missing from the run is a drift too. Cost metrics
(runtime, memory) and timings methods report in their stats are machine-dependent and not
compared.

Tolerances (``--tolerance NAME=ABS``, repeatable or comma-separated) are absolute and
match a result column three ways, most specific first:

1. the column itself: an alias (``psnr-y``) or a named sub-column (``skin-tone-shift.delta_ita``);
2. the alias a sub-column belongs to (``skin-tone-shift`` for ``skin-tone-shift:mean_delta_ita``);
3. the metric's registered name, read from the row's fingerprint (``psnr`` covers the columns
   ``psnr`` and ``psnr-y``, which are both measured by the metric ``psnr``).

So ``--tolerance psnr=0.01,psnr-y=0.001`` gives ``psnr-y`` 0.001 (the alias wins) and every
other PSNR column 0.01. A name that matches no column, alias or metric of either run is
reported by :func:`unmatched_tolerances` (the CLI warns). NaN and negative tolerances are
refused; ``inf`` ignores a metric's values (its fingerprint and status are still compared).
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from zoo.report.leaderboard import machine_dependent

KEY = ["benchmark", "dataset", "item", "method", "setting", "metric"]
DEFAULT_TOLERANCE = 1e-4


def compare(current: pd.DataFrame, baseline: pd.DataFrame, tolerances: dict[str, float] | None = None,
            default_tolerance: float = DEFAULT_TOLERANCE, subset: bool = False, nan_equal: bool = True) -> pd.DataFrame:
    """Drifts between ``current`` and ``baseline`` (empty frame: no drift).

    Args:
        tolerances: absolute tolerance per metric name.
        subset: compare only the (benchmark, method) pairs present in ``current``, so a
            partial run can be checked against a full baseline.
        nan_equal: a value that is NaN in both (undefined in both, e.g. the CI of one item)
            matches (default); ``False`` reports it as a drift (``zoo compare --nan-is-drift``).
    """
    tolerances = tolerances or {}
    cur = current[~machine_dependent(current)].copy()
    base = baseline[~machine_dependent(baseline)].copy()
    if subset:
        present = set(zip(cur.benchmark, cur.method))
        base = base[[p in present for p in zip(base.benchmark, base.method)]]
    merged = base.merge(cur, on=KEY, how="left", suffixes=("_base", "_run"), indicator=True)
    drifts = []
    for _, r in merged.iterrows():
        tol = tolerance_for(r.metric, (r.fingerprint_base, r.get("fingerprint_run")), tolerances, default_tolerance)
        reason = None
        if r["_merge"] == "left_only":
            reason = "missing from run"
        elif r.status_base == "ok" and r.status_run != "ok":
            reason = f"now {r.status_run}: {r.error_run}"
        elif r.status_base == "ok" and r.fingerprint_base != r.fingerprint_run:
            reason = f"fingerprint changed: {r.fingerprint_base} -> {r.fingerprint_run}"
        elif r.status_base == "ok":
            a, b = float(r.value_base), float(r.value_run)
            same_inf = np.isinf(a) and np.isinf(b) and np.sign(a) == np.sign(b)
            both_nan = nan_equal and np.isnan(a) and np.isnan(b)  # undefined in both (e.g. a CI of one item)
            if not same_inf and not both_nan and not np.isinf(tol) and not (abs(a - b) <= tol):
                reason = f"|Δ| = {abs(a - b):.3g} > {tol:g}"
        if reason:
            drifts.append({**{k: r[k] for k in KEY}, "baseline": r.get("value_base"), "run": r.get("value_run"),
                           "tolerance": tol, "reason": reason})
    return pd.DataFrame(drifts, columns=KEY + ["baseline", "run", "tolerance", "reason"])


_NAME = re.compile(r"^([^()\s]+)\(")


def metric_name(fingerprint: object) -> str | None:
    """The registered metric name a fingerprint starts with (``psnr`` for ``psnr(channel=y,...)``)."""
    m = _NAME.match(fingerprint) if isinstance(fingerprint, str) else None
    return m.group(1) if m else None


def _alias(column: str) -> str:
    return re.split(r"[.:]", column, maxsplit=1)[0]


def tolerance_for(column: str, fingerprints: tuple, tolerances: dict[str, float],
                  default: float = DEFAULT_TOLERANCE) -> float:
    """The tolerance for a result column: by column, then alias, then metric name (see the module doc)."""
    if column in tolerances:
        return tolerances[column]
    if _alias(column) in tolerances:
        return tolerances[_alias(column)]
    for fp in fingerprints:
        name = metric_name(fp)
        if name in tolerances:
            return tolerances[name]
    return default


def unmatched_tolerances(tolerances: dict[str, float], *frames: pd.DataFrame) -> list[str]:
    """Tolerance names that match no column, alias or metric name in ``frames``."""
    known: set[str] = set()
    for df in frames:
        cols = set(df.metric.astype(str))
        known |= cols | {_alias(c) for c in cols}
        known |= {n for n in map(metric_name, df.fingerprint.unique()) if n}
    return [t for t in tolerances if t not in known]


def parse_tolerances(items: list[str]) -> dict[str, float]:
    """``["psnr=0.01,ssim=1e-4", "psnr-y=0.001"]`` -> ``{"psnr": 0.01, "ssim": 0.0001, "psnr-y": 0.001}``.

    Raises:
        ZooError: an item is not ``NAME=ABS``, a value is NaN or negative, or a name is given
            twice with different values.
    """
    from zoo.errors import ZooError

    out: dict[str, float] = {}
    for item in items or []:
        for part in item.split(","):
            name, sep, val = part.partition("=")
            name = name.strip()
            try:
                tol = float(val)
            except ValueError:
                tol = None
            if not sep or not name or tol is None:
                raise ZooError(f"--tolerance {part!r}: expected METRIC=ABS (an absolute tolerance), e.g. psnr=0.01; "
                               f"several: psnr=0.01,ssim=1e-4") from None
            if math.isnan(tol) or tol < 0:
                raise ZooError(f"--tolerance {part!r}: a tolerance must be a number >= 0 (inf ignores the values), "
                               f"got {val.strip()}")
            if name in out and out[name] != tol:
                raise ZooError(f"--tolerance: {name!r} is given twice ({out[name]:g} and {tol:g}); keep one")
            out[name] = tol
    return out
