"""Published reference numbers, and our results set beside them with the difference.

The numbers are facts of the method families, kept as data beside them: a catalog card's
``published`` records (``{dataset, setting, values, source[, note]}``; see :mod:`zoo.catalog`),
which plugins fill from their own data files (zoo-superres: the SR papers' bicubic rows;
zoo-compression: CompressAI's Kodak points) and registry.yaml entries carry inline (EDSR's
table). Nothing here names a method or a dataset.

* :func:`sr_reproduction`: PSNR-Y / SSIM-Y per (dataset, scale) beside the published rows
  (the metric aliases ``psnr-y`` / ``ssim-y`` of the paper-protocol suite, ``sr-paper``).
* :func:`rd_reproduction`: bpp / PSNR / MS-SSIM per quality beside published RD points, on
  each benchmark whose dataset has published points.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["published_points", "sr_published", "rd_published", "sr_reproduction", "rd_reproduction", "rd_source"]


def published_points(method_ids: list[str] | None = None) -> dict[str, tuple[dict, ...]]:
    """Method id -> its card's published records (cards without any left out)."""
    from zoo.catalog import cards

    return {mid: c.published for mid, c in cards().items()
            if c.published and (method_ids is None or mid in method_ids)}


def sr_published(psnr: str = "psnr-y", ssim: str = "ssim-y") -> dict[tuple[str, str, int], tuple[float | None, float | None, tuple[str, ...]]]:
    """``{(method, dataset, scale): (psnr, ssim, sources)}`` of every card's published SR records."""
    out = {}
    for mid, records in published_points().items():
        for r in records:
            scale = r["setting"].get("scale")
            if scale is not None and (psnr in r["values"] or ssim in r["values"]):
                sources = tuple(s.strip() for s in r["source"].split(","))
                out[(mid, r["dataset"], int(scale))] = (r["values"].get(psnr), r["values"].get(ssim), sources)
    return out


def rd_published(rate: str = "bpp") -> dict[str, dict[str, Any]]:
    """``{method: {"dataset", "source", "points": {quality: values}}}`` of every card's published RD records."""
    out: dict[str, dict[str, Any]] = {}
    for mid, records in published_points().items():
        for r in records:
            q = r["setting"].get("quality")
            if q is not None and rate in r["values"]:
                entry = out.setdefault(mid, {"dataset": r["dataset"], "source": r["source"], "points": {}})
                entry["points"][int(q)] = dict(r["values"])
    return out


def _scale(bench: Any) -> int | None:
    deg = (getattr(bench, "options", {}) or {}).get("degradation") or {}
    s = deg.get("bicubic") if isinstance(deg, dict) else None
    return int(s) if s else None


def _canonical(name: str) -> str:
    from zoo.datasets.hub import catalog_datasets

    entry = catalog_datasets().get(name) or {}
    return "b100" if entry.get("alias_of", name) == "bsd100" else name


def _fmt(v: float | None, digits: int) -> str:
    return "–" if v is None or not math.isfinite(v) else f"{v:.{digits}f}"


def _why_missing(df: pd.DataFrame, bench: str, method: str, meta: dict) -> str:
    """Why a benchmark/method has no value: the dataset could not be read, or the method did not run."""
    b = df[df.benchmark == bench]
    ds_fail = b[(b.method == "*") & (b.status == "failed")]
    if len(ds_fail):
        return f"data not available here: {_short(ds_fail.error.iloc[0])}"
    m = b[b.method == method]
    if m.empty:
        return "not run"
    bad = m[m.status != "ok"]
    if len(bad):
        st = bad.status.iloc[0]
        return f"{'weights not fetched' if st == 'unavailable' else st}: {_short(bad.error.iloc[0])}"
    return "not measured"


def _short(error: Any) -> str:
    """The gist of an error message for a table cell (the run's leaderboard has it in full)."""
    text = str(error).split(": ", 1)[-1] if str(error).startswith(("ZooError", "WeightsError")) else str(error)
    if "LocalEntryNotFoundError" in text or "could not get" in text:
        return "not in the Hub cache (`zoo fetch --suite SUITE` where the Hub is reachable)"
    if "not a pinned" in text:
        return "Hub revision not pinned yet (registry.yaml)"
    if "may not be redistributed" in text:
        return "not redistributable; give a local copy (`path:`)"
    return text.split(". ")[0][:100]


def sr_reproduction(df: pd.DataFrame, meta: dict, benchmarks: list, published: dict | None = None,
                    psnr: str = "psnr-y", ssim: str = "ssim-y") -> pd.DataFrame:
    """One row per (benchmark, method) with a published value: published, ours, difference.

    Args:
        df: long-form results of a run (``zoo bench sr-paper``).
        meta: the run's meta.json (dataset variants).
        benchmarks: the suite's benchmarks (dataset name and bicubic scale of each).
        published: ``{(method, dataset, scale): (psnr, ssim, sources)}``; default :func:`sr_published`
            (the catalog cards' records).
    """
    published = sr_published(psnr, ssim) if published is None else published
    ok = df[(df.status == "ok") & (df.item != "*")]
    rows = []
    for bench in benchmarks:
        scale, dataset = _scale(bench), _canonical(bench.dataset["name"])
        variant = (meta.get("datasets", {}).get(bench.name) or {}).get("variant") or {}
        for m in bench.methods:
            key = (m.id, dataset, scale)
            if key not in published:
                continue
            p_psnr, p_ssim, sources = published[key]
            mine = ok[(ok.benchmark == bench.name) & (ok.method == m.id)]
            o_psnr = mine[mine.metric == psnr].value.mean() if len(mine) else float("nan")
            o_ssim = mine[mine.metric == ssim].value.mean() if len(mine) else float("nan")
            measured = math.isfinite(o_psnr)
            note = "" if measured else _why_missing(df, bench.name, m.id, meta)
            if measured and variant.get("status") == "differs":
                note = f"dataset is a different variant ({variant['manifest_sha256'][:12]}) from the pinned one"
            elif measured and variant.get("status") == "unpinned":
                note = "dataset variant unpinned"
            if p_psnr is None:
                note = "; ".join(filter(None, ["published value not confirmed (one record only)", note]))
            rows.append({
                "dataset": dataset, "scale": f"x{scale}", "method": m.id,
                "PSNR published": _fmt(p_psnr, 2), "PSNR ours": _fmt(o_psnr, 2) if measured else "–",
                "ΔPSNR": _fmt(o_psnr - p_psnr, 3) if measured and p_psnr is not None else "–",
                "SSIM published": _fmt(p_ssim, 4), "SSIM ours": _fmt(o_ssim, 4) if measured else "–",
                "ΔSSIM": _fmt(o_ssim - p_ssim, 4) if measured and p_ssim is not None and math.isfinite(o_ssim) else "–",
                "source": ", ".join(sources), "note": note,
            })
    return pd.DataFrame(rows)


def _quality(setting: str) -> int | None:
    try:
        q = json.loads(setting).get("quality")
    except (ValueError, AttributeError):
        return None
    return int(q) if q is not None else None


def rd_reproduction(df: pd.DataFrame, benchmarks: list, published: dict | None = None) -> pd.DataFrame:
    """Our Kodak bpp / PSNR / MS-SSIM per quality beside CompressAI's published points.

    Args:
        df: long-form results of a run.
        benchmarks: the suite's benchmarks; those on the dataset of a method's published points
            get rows for it (a row per published quality, measured or not).
        published: ``{method: {"dataset", "source", "points": {quality: {bpp, psnr, ms-ssim}}}}``;
            default :func:`rd_published` (the catalog cards' records).
    """
    published = rd_published() if published is None else published
    ok = df[(df.status == "ok") & (df.item != "*")]
    rows = []
    for bench in benchmarks:
        for m in bench.methods:
            ref = published.get(m.id)
            if ref is None or ref.get("dataset", bench.dataset.get("name")) != bench.dataset.get("name"):
                continue
            mine = ok[(ok.benchmark == bench.name) & (ok.method == m.id)]
            for q, p in ref["points"].items():
                r = mine[mine.setting.map(_quality) == int(q)]
                vals = {k: r[r.metric == k].value.mean() if len(r) else float("nan") for k in ("bpp", "psnr", "ms-ssim")}
                measured = bool(np.isfinite(vals["bpp"]))
                rows.append({
                    "method": m.id, "quality": int(q),
                    "bpp published": _fmt(p["bpp"], 4), "bpp ours": _fmt(vals["bpp"], 4) if measured else "–",
                    "Δbpp": _fmt(vals["bpp"] - p["bpp"], 4) if measured else "–",
                    "PSNR published": _fmt(p["psnr"], 3), "PSNR ours": _fmt(vals["psnr"], 3) if measured else "–",
                    "ΔPSNR": _fmt(vals["psnr"] - p["psnr"], 3) if measured else "–",
                    "MS-SSIM published": _fmt(p["ms-ssim"], 4),
                    "MS-SSIM ours": _fmt(vals["ms-ssim"], 4) if measured and np.isfinite(vals["ms-ssim"]) else "–",
                    "note": "" if measured else _why_missing(df, bench.name, m.id, {}),
                })
    return pd.DataFrame(rows)


def rd_source(method: str) -> str:
    """Where a method's published RD points were read."""
    return str(rd_published()[method]["source"])
