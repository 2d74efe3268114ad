"""Aggregation of a run's long-form results: per (benchmark, method, setting, metric) the mean,
its 95% bootstrap CI, n, a status and the notes that qualify it (``summary.csv``)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

__all__ = ["SUMMARY_COLUMNS", "MIN_PEOPLE", "bootstrap_ci", "summarize"]

SUMMARY_COLUMNS = ["benchmark", "task", "method", "setting", "metric", "mean", "ci_low", "ci_high", "n", "status", "note"]


def bootstrap_ci(values: np.ndarray, n_boot: int = 1000, alpha: float = 0.05, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean (NaN for fewer than 2 finite values)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, v.size, size=(n_boot, v.size))].mean(axis=1)
    return float(np.quantile(means, alpha / 2)), float(np.quantile(means, 1 - alpha / 2))


#: Fewest people behind an interval when a dataset's items are repeated measures of people (their
#: attributes carry ``person``, as zoo-fairness's counterfactual faces do): the interval of the mean
#: resamples people, never the images of one person, and below this many it is not shown.
MIN_PEOPLE = 6


def _people(ok: pd.DataFrame) -> list[str] | None:
    """The ``person`` attribute of each per-item row, or None when the rows do not all carry one."""
    if "attributes" not in ok or (ok.item == "*").any():
        return None
    out = []
    for a in ok.attributes:
        try:
            person = json.loads(a).get("person") if isinstance(a, str) and a else None
        except (ValueError, AttributeError):
            person = None
        if person is None:
            return None
        out.append(str(person))
    return out


def summarize(df: pd.DataFrame, meta: dict, seed: int = 0) -> pd.DataFrame:
    """One row per (benchmark, method, setting, metric): mean, ci_low, ci_high, n, status."""
    rows = []
    if df.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    for (bench, task, method, setting, metric), g in df.groupby(["benchmark", "task", "method", "setting", "metric"], sort=False):
        ok = g[g.status == "ok"]
        if metric == "*":  # the method (or some items) failed before any metric ran
            rows.append(dict(benchmark=bench, task=task, method=method, setting=setting, metric="*", mean=np.nan,
                             ci_low=np.nan, ci_high=np.nan, n=len(g), status=g.status.iloc[0], note=str(g.error.iloc[0])))
            continue
        if ok.empty:
            st = g.status.iloc[0]
            rows.append(dict(benchmark=bench, task=task, method=method, setting=setting, metric=metric, mean=np.nan,
                             ci_low=np.nan, ci_high=np.nan, n=0, status=st, note=str(g.error.iloc[0])))
            continue
        vals = ok.value.to_numpy(dtype=np.float64)
        lo, hi = bootstrap_ci(vals, seed=seed) if (ok.item != "*").all() else (np.nan, np.nan)
        people = _people(ok)
        failed = int((g.status == "failed").sum())
        skipped = int((g.status == "skipped").sum())
        notes = [f"{failed} item(s) failed"] if failed else []
        if people is not None:  # items are repeated measures of people: the interval resamples people
            k = len(set(people))
            notes.append(f"{len(vals)} images of {k} {'person' if k == 1 else 'people'}")
            if k < MIN_PEOPLE:
                lo, hi = np.nan, np.nan
                notes.append(f"no interval: insufficient n ({k} of {MIN_PEOPLE} people)")
            else:
                lo, hi = bootstrap_ci(pd.Series(vals).groupby(people).mean().to_numpy(), seed=seed)
        notes += [f"{skipped} item(s) not measurable ({g[g.status == 'skipped'].error.iloc[0]})"] if skipped else []
        notes += sorted({str(e) for e in ok.error if isinstance(e, str) and e})  # notes on measured values (e.g. low n)
        rows.append(dict(benchmark=bench, task=task, method=method, setting=setting, metric=metric,
                         mean=float(np.mean(vals)), ci_low=lo, ci_high=hi, n=len(vals),
                         status="ok" if not failed else "partial", note="; ".join(notes)))
    return pd.DataFrame(rows)
