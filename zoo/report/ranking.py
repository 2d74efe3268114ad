"""Which rows a leaderboard may compare: the ★, lossless rows, and trivial baselines.

The ★ means *best among comparable rows*. Rows are not comparable on

* a **rate** column (``bpp``): a lower rate is not better by itself, it buys quality;
* any column of a **rate–distortion** benchmark (one with a rate column): each row is an
  operating point at its own rate, so the best PSNR is merely the highest rate (the BD-rate
  table and the RD plot compare codecs);
* **cost** columns (time, memory, parameters: machine-dependent).

**Lossless** rows (every item reproduced exactly: a distortion such as PSNR is ``inf`` on every
item) are set apart in a table of their own with the rate only: their ``inf`` would otherwise
win every quality column and their 8–13 bpp squash the lossy curves of an RD plot.

A benchmark may name **trivial baselines** (``baselines:`` in the suite). A method whose value
on the benchmark's first metric is worse than a baseline's best is marked
``below baseline X`` (and so is never the ★ of that column).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from zoo.results import COST


def _cost(metric: str) -> bool:
    return metric in COST


def rate_columns(meta: dict, bench: str) -> set[str]:
    """The benchmark's rate columns (metrics that declare ``rate``, e.g. bpp)."""
    prefix = f"{bench}/"
    return {k[len(prefix):] for k, v in meta.get("metrics", {}).items()
            if k.startswith(prefix) and isinstance(v, dict) and v.get("rate")}


def lossless_rows(df: pd.DataFrame, rate: str = "bpp") -> dict[str, list[list[str]]]:
    """``{benchmark: [[method, setting], ...]}``: rows of a rate benchmark that reproduce every item exactly.

    A row is lossless when some metric is ``+inf`` on every one of its measured items (PSNR of
    an identical image); one identical item among lossy ones does not make a row lossless.
    """
    ok = df[(df.status == "ok") & (df.item != "*")]
    out: dict[str, list[list[str]]] = {}
    for bench, bg in ok.groupby("benchmark", sort=False):
        if rate not in set(bg.metric):
            continue
        for (method, setting), g in bg.groupby(["method", "setting"], sort=False):
            values = g[g.metric != rate].groupby("metric").value
            if any(len(v) and bool(np.isposinf(v.to_numpy(dtype=float)).all()) for _, v in values):
                out.setdefault(str(bench), []).append([str(method), str(setting)])
    return out


def is_lossless(meta: dict, bench: str, method: str, setting: str) -> bool:
    return [method, setting] in (meta.get("lossless", {}).get(bench) or [])


def ranked_columns(meta: dict, bench: str, metrics: list[str]) -> set[str]:
    """The columns of a benchmark's table that get a ★ (see the module docstring)."""
    rates = rate_columns(meta, bench)
    if rates:
        return set()
    out = set()
    for m in metrics:
        info = meta.get("metrics", {}).get(f"{bench}/{m}")
        if info is not None and not _cost(m) and m not in rates:
            out.add(m)
    return out


def best_means(bg: pd.DataFrame, meta: dict, bench: str, metrics: list[str]) -> dict[str, float]:
    """The best mean of each ranked column among comparable rows (lossless rows take no part); a
    column with fewer than two values has none. (A row below a trivial baseline is never best on
    the column it is judged on: the baseline is better.)"""
    ranked = ranked_columns(meta, bench, metrics)
    keep = [not is_lossless(meta, bench, m, s) for m, s in zip(bg.method, bg.setting)]
    rows = bg[keep]
    best = {}
    for m in metrics:
        if m not in ranked:
            continue
        mm = rows[(rows.metric == m) & rows["mean"].notna()]
        higher = bool(meta["metrics"][f"{bench}/{m}"]["higher_is_better"])
        if len(mm) > 1:
            best[m] = mm["mean"].max() if higher else mm["mean"].min()
    return best


def below_baseline(bg: pd.DataFrame, meta: dict, bench: str) -> dict[tuple[str, str], str]:
    """``{(method, setting): baseline id}`` for every non-baseline row worse than a trivial baseline.

    Judged on the benchmark's first metric (``meta['baselines'][bench]['judged_on']``); the
    baseline named is the best one the row is below.
    """
    spec = meta.get("baselines", {}).get(bench)
    if not spec:
        return {}
    metric, baselines = spec["judged_on"], list(spec["methods"])
    info = meta.get("metrics", {}).get(f"{bench}/{metric}")
    if info is None:
        return {}
    higher = bool(info["higher_is_better"])
    col = bg[(bg.metric == metric) & bg["mean"].notna() & (bg.status.isin(["ok", "partial"]))]
    sign = 1.0 if higher else -1.0
    best_of = {}
    for b in baselines:
        vals = col[col.method == b]["mean"].to_numpy(dtype=float)
        if len(vals):
            best_of[b] = float(np.max(sign * vals))
    if not best_of:
        return {}
    out = {}
    for r in col.itertuples(index=False):
        if r.method in baselines:
            continue
        score = sign * float(r.mean)
        beaten = [(v, b) for b, v in best_of.items() if score < v and not math.isnan(score)]
        if beaten:
            out[(r.method, r.setting)] = max(beaten)[1]
    return out
