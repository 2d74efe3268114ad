"""Bjøntegaard delta metrics (G. Bjøntegaard, "Calculation of average PSNR differences
between RD-curves", VCEG-M33, 2001), with piecewise cubic (PCHIP) interpolation as in the
later JVET common test conditions, instead of the original cubic polynomial fit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.interpolate import PchipInterpolator

from zoo.errors import ZooError


def _prep(rate, dist) -> tuple[np.ndarray, np.ndarray]:
    r, d = np.asarray(rate, dtype=np.float64), np.asarray(dist, dtype=np.float64)
    keep = np.isfinite(r) & np.isfinite(d) & (r > 0)
    r, d = r[keep], d[keep]
    if r.size < 2:
        raise ZooError("BD metrics need at least 2 finite rate points per curve")
    return np.log10(r), d


def _overlap_integral(x1, y1, x2, y2) -> tuple[float, float, float]:
    o1, o2 = np.argsort(x1), np.argsort(x2)
    x1, y1, x2, y2 = x1[o1], y1[o1], x2[o2], y2[o2]
    lo, hi = max(x1.min(), x2.min()), min(x1.max(), x2.max())
    if hi <= lo:
        raise ZooError("BD metrics: the two curves do not overlap on the distortion axis")
    i1 = PchipInterpolator(x1, y1).integrate(lo, hi)
    i2 = PchipInterpolator(x2, y2).integrate(lo, hi)
    return float(i1), float(i2), float(hi - lo)


def bd_rate(anchor_rate, anchor_dist, test_rate, test_dist) -> float:
    """Average bitrate difference (%) of test vs anchor at equal quality; negative = test saves bits."""
    ra, da = _prep(anchor_rate, anchor_dist)
    rt, dt = _prep(test_rate, test_dist)
    ia, it, span = _overlap_integral(da, ra, dt, rt)
    return float((10 ** ((it - ia) / span) - 1) * 100)


def bd_psnr(anchor_rate, anchor_dist, test_rate, test_dist) -> float:
    """Average quality difference (metric units, e.g. dB) of test vs anchor at equal rate."""
    ra, da = _prep(anchor_rate, anchor_dist)
    rt, dt = _prep(test_rate, test_dist)
    ia, it, span = _overlap_integral(ra, da, rt, dt)
    return float((it - ia) / span)


def rd_points(df: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Mean bpp and ``metric`` per (benchmark, method, setting) from long-form results."""
    ok = df[(df.status == "ok") & (df.item != "*") & df.metric.isin(["bpp", metric])]
    return ok.groupby(["benchmark", "method", "setting", "metric"]).value.mean().unstack("metric").reset_index()


def bd_table(df: pd.DataFrame, anchor: str, metrics=("psnr", "ms-ssim")) -> pd.DataFrame:
    """BD-rate (%) and BD-metric per method against ``anchor`` for every compression benchmark."""
    rows = []
    for metric in metrics:
        pts = rd_points(df, metric)
        if metric not in pts or "bpp" not in pts:
            continue
        for bench, g in pts.groupby("benchmark"):
            a = g[g.method == anchor]
            if a.empty:
                continue
            for method, t in g.groupby("method"):
                if method == anchor:
                    continue
                try:
                    rate = bd_rate(a.bpp, a[metric], t.bpp, t[metric])
                    dist = bd_psnr(a.bpp, a[metric], t.bpp, t[metric])
                except ZooError as exc:
                    rows.append(dict(benchmark=bench, method=method, metric=metric, bd_rate_pct=np.nan, bd_metric=np.nan, note=str(exc)))
                    continue
                rows.append(dict(benchmark=bench, method=method, metric=metric, bd_rate_pct=rate, bd_metric=dist, note=""))
    out = pd.DataFrame(rows)
    out.attrs["anchor"] = anchor
    return out


def bd_tables(df: pd.DataFrame, benchmarks) -> dict[str, pd.DataFrame]:
    """One BD table per benchmark given (compression ones; the anchor is the benchmark's ``anchor``,
    by default its first method)."""
    tables = {}
    for bench in benchmarks:
        methods = [m.id for m in bench.methods]
        anchor = bench.options.get("anchor") or (methods[0] if methods else None)
        if anchor is None:
            continue
        t = bd_table(df[df.benchmark == bench.name], anchor)
        if len(t):
            tables[bench.name] = t.drop(columns=["benchmark"])
            tables[bench.name].attrs["anchor"] = anchor
    return tables
