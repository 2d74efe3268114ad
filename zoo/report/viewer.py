"""The comparison viewer's data: per benchmark, every item's saved images and per-item values."""

from __future__ import annotations

import hashlib
import urllib.parse
from pathlib import Path

import pandas as pd

from zoo.report.board import direction
from zoo.report.markup import num
from zoo.results import COST, pretty_setting, safe_name, sample_file

__all__ = ["viewer_data"]


def viewer_data(out: Path, df: pd.DataFrame, bench: str, meta: dict, seen: dict[str, str] | None = None) -> dict | None:
    """What the comparison viewer shows for one benchmark: every item, the images the harness
    saved for it (input, reference, each method at each operating point) and its per-item values.
    Identical files (a lossless codec's output and the reference) are loaded once: ``seen``
    maps a file's sha256 to the first path with those bytes."""
    seen = {} if seen is None else seen

    def canonical(rel: str) -> str:
        digest = hashlib.sha256((out / rel).read_bytes()).hexdigest()
        return urllib.parse.quote(seen.setdefault(digest, rel))

    bd = df[(df.benchmark == bench) & (df.item != "*")]
    if bd.empty:
        return None
    items = list(dict.fromkeys(bd.item.astype(str)))
    units = list(dict.fromkeys(zip(bd.method, bd.setting)))
    labels = {u: u[0] + ("" if u[1] == "{}" else f" ({pretty_setting(u[1])})") for u in units}
    sampled = meta.get("datasets", {}).get(bench, {}).get("samples")
    sampled = set(map(str, sampled)) if sampled is not None else None  # older runs: whatever is on disk
    images: dict[str, dict[str, str]] = {}
    folder = out / "samples" / safe_name(bench)
    shown = sorted({p.name.split("--", 1)[0][1:] for p in folder.glob("_*--*.png")} - {"input", "reference"})
    for item in items:
        found = {}
        if sampled is not None and item not in sampled:  # a file left by an earlier run with other items
            images[item] = found
            continue
        for key, who in (("input", "_input"), ("reference", "_reference")):
            rel = sample_file(bench, who, "", item)
            if (out / rel).is_file():
                found[key] = canonical(rel)
        for key in shown:  # the image extras the task spec shows (TaskSpec.shown_extras), e.g. the style image
            rel = sample_file(bench, f"_{key}", "", item)
            if (out / rel).is_file():
                found[key] = canonical(rel)
        for u in units:
            rel = sample_file(bench, u[0], u[1], item)
            if (out / rel).is_file():
                found[labels[u]] = canonical(rel)
        images[item] = found
    if not any(images.values()):
        return None
    ok = bd[(bd.status == "ok") & ~bd.metric.isin(COST)]
    values: dict[str, dict[str, dict[str, float | None]]] = {}
    for (method, setting, item), g in ok.groupby(["method", "setting", "item"], sort=False):
        values.setdefault(labels[(method, setting)], {})[str(item)] = {str(r.metric): num(r.value) for r in g.itertuples()}
    failed = bd[bd.status == "failed"]
    errors: dict[str, dict[str, str]] = {}
    for r in failed.itertuples():
        errors.setdefault(labels[(r.method, r.setting)], {})[str(r.item)] = str(r.error)
    metrics = list(dict.fromkeys(ok.metric.astype(str)))
    dirs = {m: direction(meta, bench, m) for m in metrics}
    return {"bench": bench, "items": items, "labels": [labels[u] for u in units], "images": images,
            "values": values, "errors": errors, "metrics": metrics, "dirs": dirs,
            "saved": sum(1 for v in images.values() if v)}
