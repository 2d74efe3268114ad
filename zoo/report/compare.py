"""Regression gate: compare a run with a baseline and list every drift.

Rows are matched on (benchmark, dataset, item, method, setting, metric). A value drifts
when |current - baseline| exceeds the metric's absolute tolerance, when its fingerprint
changed (measured differently), or when it turned from ok to failed. A method or metric
present in the baseline and missing from the run is a drift too. Cost metrics
(runtime, memory) and timings methods report in their stats are machine-dependent and not
compared.
"""

from __future__ import annotations

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
        tol = tolerances.get(r.metric, default_tolerance)
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
            if not same_inf and not both_nan and not (abs(a - b) <= tol):
                reason = f"|Δ| = {abs(a - b):.3g} > {tol:g}"
        if reason:
            drifts.append({**{k: r[k] for k in KEY}, "baseline": r.get("value_base"), "run": r.get("value_run"),
                           "tolerance": tol, "reason": reason})
    return pd.DataFrame(drifts, columns=KEY + ["baseline", "run", "tolerance", "reason"])


def parse_tolerances(items: list[str]) -> dict[str, float]:
    """``["psnr=0.01", "ssim=1e-4"]`` -> ``{"psnr": 0.01, "ssim": 0.0001}``."""
    from zoo.errors import ZooError

    out = {}
    for item in items or []:
        name, _, val = item.partition("=")
        try:
            tol = float(val)
        except ValueError:
            raise ZooError(f"--tolerance {item!r}: expected METRIC=ABS, e.g. psnr=0.01") from None
        if not name.strip() or not tol >= 0 or tol == float("inf"):  # NaN fails every comparison
            raise ZooError(f"--tolerance {item!r}: a tolerance is a finite number >= 0 for a named metric, e.g. psnr=0.01")
        out[name.strip()] = tol
    return out
