"""Aggregation (mean, 95% bootstrap CI, n) and Markdown leaderboards."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from zoo.report.ranking import below_baseline, is_lossless
from zoo.results import COST, machine_dependent  # noqa: F401 (re-exported: the report's readers import them here)


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
        return pd.DataFrame(columns=["benchmark", "task", "method", "setting", "metric", "mean", "ci_low", "ci_high", "n", "status", "note"])
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


def _fmt(v: float, metric: str = "") -> str:
    if metric == "params" and np.isfinite(v):
        return f"{int(v):,}"
    if not np.isfinite(v):
        return "inf" if v == np.inf else "–"
    a = abs(v)
    return f"{v:.0f}" if a >= 1000 else f"{v:.2f}" if a >= 10 else f"{v:.4f}"


def table_metrics(bg: pd.DataFrame) -> list[str]:
    """The columns of a benchmark's leaderboard table: headline metrics, measured ones first in
    suite order, then the cost columns."""
    metrics = _headline_metrics([m for m in dict.fromkeys(bg.metric) if m not in COST and m != "*"])
    unavailable_metrics = set(bg[bg.status == "unavailable"].metric)
    metrics = sorted(metrics, key=lambda m: m in unavailable_metrics)
    return metrics + [m for m in COST if m in set(bg.metric)]


def best_means(bg: pd.DataFrame, meta: dict, bench: str, metrics: list[str]) -> dict[str, float]:
    """The best mean of each column among comparable rows (the ★): never on cost or rate columns, nor
    across a rate–distortion benchmark's operating points; lossless rows and rows below a trivial
    baseline take no part (:mod:`zoo.report.ranking`)."""
    from zoo.report.ranking import best_means as ranked_best

    return ranked_best(bg, meta, bench, metrics)


def _direction(meta: dict, bench: str, metric: str) -> bool | None:
    info = meta.get("metrics", {}).get(f"{bench}/{metric}")
    if info is not None:
        return bool(info["higher_is_better"])
    return False if metric in COST else None


def _headline_metrics(metrics: list[str]) -> list[str]:
    """The leaderboard's columns: plain metrics, and the first figure of a metric with several
    (``probe.delta_ita`` of ``probe.*``); summary rows (``probe:key``) get tables of their own."""
    out, seen = [], set()
    for m in metrics:
        if ":" in m:
            continue
        base = m.split(".", 1)[0] if "." in m else None
        if base is not None and base in seen:
            continue
        seen.add(base or m)
        out.append(m)
    return out


def _insufficient(bg: pd.DataFrame) -> pd.Series:
    """Summary rows a metric withheld for too few independent units (their note says so)."""
    return bg["mean"].isna() & bg.note.astype(str).str.startswith("insufficient n")


def _summary_tables(bg: pd.DataFrame) -> list[str]:
    """Per-unit summary figures (``alias:key`` rows, e.g. a probe's rates and per-group gaps) as
    two compact tables: overall figures (value [lo, hi]) and per-group figures."""
    agg = bg[bg.metric.str.contains(":", regex=False) & (bg["mean"].notna() | _insufficient(bg))]
    if agg.empty:
        return []
    lines = []
    for alias in dict.fromkeys(m.split(":", 1)[0] for m in agg.metric):
        a = agg[agg.metric.str.startswith(alias + ":")]
        vals = {(r.method, r.setting, r.metric.split(":", 1)[1]): r["mean"] if np.isfinite(r["mean"]) else str(r.note)
                for _, r in a.iterrows()}
        keys = list(dict.fromkeys(k for (_, _, k) in vals))
        overall = [k for k in keys if "[" not in k and not k.endswith(("_lo", "_hi"))]
        grouped = [k for k in keys if "[" in k and not k.split("[")[0].endswith(("_lo", "_hi"))]
        units = list(dict.fromkeys((m, st) for (m, st, _) in vals))

        def cell(m, st, k):
            v = vals.get((m, st, k))
            if v is None:
                return ""
            if isinstance(v, str):  # "insufficient n (2 of 6 people)" instead of a number
                return v
            lo, hi = vals.get((m, st, k.replace("[", "_lo[", 1) if "[" in k else k + "_lo")), vals.get((m, st, k.replace("[", "_hi[", 1) if "[" in k else k + "_hi"))
            return _fmt(v) + (f" [{_fmt(lo)}, {_fmt(hi)}]" if lo is not None and hi is not None and np.isfinite(lo) else "")

        if overall:
            lines += [f"{alias} — summary", "", "| method | setting | " + " | ".join(overall) + " |", "|" + "---|" * (2 + len(overall))]
            for m, st in units:
                lines.append(f"| `{m}` | {'' if st == '{}' else f'`{st}`'} | " + " | ".join(cell(m, st, k) for k in overall) + " |")
            lines.append("")
        if grouped:
            stats = list(dict.fromkeys(k.split("[", 1)[0] for k in grouped))
            groups = list(dict.fromkeys(k.split("[", 1)[1].rstrip("]") for k in grouped))
            lines += [f"{alias} — per group", "", "| method | setting | group | " + " | ".join(stats) + " |", "|" + "---|" * (3 + len(stats))]
            for m, st in units:
                for g in groups:
                    cells = [cell(m, st, f"{stat}[{g}]") for stat in stats]
                    if any(cells):
                        lines.append(f"| `{m}` | {'' if st == '{}' else f'`{st}`'} | {g} | " + " | ".join(cells) + " |")
            lines.append("")
    return lines


def leaderboard_markdown(summary: pd.DataFrame, meta: dict, extra_sections=()) -> str:
    """Markdown: per task, per benchmark, methods x metrics as mean [95% CI], best in bold."""
    lines = [f"# Leaderboard — suite `{meta.get('suite')}`, run `{meta.get('run')}`", ""]
    lines.append(f"imagezoo {meta.get('versions', {}).get('imagezoo', '?')}, torch {meta.get('versions', {}).get('torch', '?')}, "
                 f"seed {meta.get('seed')}, outputs rounded to uint8: {meta.get('round_outputs')}. "
                 "Cells: mean [95% bootstrap CI]; n = items. ↑ higher is better, ↓ lower is better; † see the note under the table.")
    lines.append("")
    if summary.empty:
        return "\n".join(lines + ["(no results)", ""])
    for task, tg in summary.groupby("task", sort=False):
        lines += [f"## {task}", ""]
        for bench, bg in tg.groupby("benchmark", sort=False):
            ds = meta.get("datasets", {}).get(bench, {})
            lines += [f"### {bench}" + (f" — {ds.get('name')} ({ds.get('items')} images)" if ds else ""), ""]
            if ds.get("variant"):
                from zoo.datasets.variants import describe

                lines += [f"Dataset {describe(ds['variant'])}.", ""]
            metrics = table_metrics(bg)
            header = ["method", "setting", "n"]
            for m in metrics:
                d = _direction(meta, bench, m)
                header.append(f"{m} {'↑' if d else '↓' if d is False else ''}".strip())
            lines.append("| " + " | ".join(header) + " |")
            lines.append("|" + "---|" * len(header))
            best = best_means(bg, meta, bench, metrics)
            below = below_baseline(bg, meta, bench)
            lossless = []
            for (method, setting), g in bg.groupby(["method", "setting"], sort=False):
                if is_lossless(meta, bench, method, setting):
                    lossless.append((method, setting, g))
                    continue
                mark = f" — below baseline `{below[(method, setting)]}`" if (method, setting) in below else ""
                cells = [f"`{method}`{mark}", "" if setting == "{}" else f"`{setting}`"]
                ns = g[~g.metric.isin(COST)].n
                cells.append(str(int(ns.max())) if len(ns) else "")
                whole = g[(g.metric == "*") & g.status.isin(["unavailable", "failed"])]
                for m in metrics:
                    r = g[g.metric == m]
                    if r.empty:
                        cells.append(whole.status.iloc[0] if len(whole) and m not in COST else "")
                        continue
                    r = r.iloc[0]
                    if r.status in ("unavailable", "failed") and not np.isfinite(r["mean"]):
                        cells.append(r.status)
                        continue
                    txt = _fmt(r["mean"], m) + ("†" if r.status == "ok" and str(r.note) else "")
                    if np.isfinite(r.ci_low):
                        txt += f" [{_fmt(r.ci_low)}, {_fmt(r.ci_high)}]"
                    if m in best and r["mean"] == best[m]:
                        txt = f"**{txt}**"
                    cells.append(txt)
                lines.append("| " + " | ".join(cells) + " |")
            lines.append("")
            lines += _comparability_lines(meta, bench, below, lossless)
            lines += _summary_tables(bg)
            unavailable = bg[bg.status == "unavailable"]
            unavailable = pd.concat([unavailable[unavailable.metric != "*"].drop_duplicates(["metric"]),
                                     unavailable[unavailable.metric == "*"].drop_duplicates(["method", "note"])])
            for _, r in unavailable.iterrows():
                who = f"`{r.method}`" if r.metric == "*" else r.metric
                lines.append(f"- {who}: unavailable — {r.note}")
            notes = bg[bg.status.isin(["failed", "partial"])].drop_duplicates(["method", "metric", "note"])
            for _, r in notes.iterrows():
                lines.append(f"- `{r.method}` {'' if r.metric == '*' else r.metric}: {r.status} — {r.note}")
            flagged = bg[(bg.status == "ok") & (bg.note.astype(str) != "")].drop_duplicates(["metric", "note"])
            for _, r in flagged.iterrows():
                lines.append(f"- {r.metric}†: {r.note}")
            notes = pd.concat([notes, flagged])
            notes = pd.concat([unavailable, notes])
            if len(notes):
                lines.append("")
    for title, table in extra_sections:
        lines += [f"## {title}", "", table.to_markdown(index=False, floatfmt=".3f") if len(table) else "(not enough points)", ""]
    lines += _licence_lines(meta)
    return "\n".join(lines)


def _comparability_lines(meta: dict, bench: str, below: dict, lossless: list) -> list[str]:
    """Under a table: why it has no ★ (rate–distortion), the lossless rows apart, the baseline rule."""
    from zoo.report.ranking import rate_columns

    lines = []
    rates = sorted(rate_columns(meta, bench))
    if rates:
        lines += [f"No ★ in this table: each row is an operating point at its own rate ({', '.join(rates)}); "
                  "a higher rate buys quality, so compare codecs by BD-rate and the rate–distortion plot.", ""]
    if lossless:
        cols = rates or ["bpp"]
        lines += ["Lossless (every item reproduced exactly; distortion columns are not comparable with the lossy rows):", "",
                  "| method | setting | n | " + " | ".join(f"{c} ↓" for c in cols) + " |", "|" + "---|" * (3 + len(cols))]
        for method, setting, g in lossless:
            n = g[~g.metric.isin(COST)].n
            cells = [f"`{method}`", "" if setting == "{}" else f"`{setting}`", str(int(n.max())) if len(n) else ""]
            for c in cols:
                r = g[g.metric == c]
                cells.append("" if r.empty else _fmt(r["mean"].iloc[0], c)
                             + (f" [{_fmt(r.ci_low.iloc[0])}, {_fmt(r.ci_high.iloc[0])}]" if np.isfinite(r.ci_low.iloc[0]) else ""))
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    spec = meta.get("baselines", {}).get(bench)
    if spec:
        lines += [f"Trivial baselines: {', '.join(f'`{b}`' for b in spec['methods'])}; a method worse than one on "
                  f"{spec['judged_on']} is marked \"below baseline\" and gets no ★"
                  + (f" ({len(below)} row(s) here)." if below else "."), ""]
    return lines


def _licence_lines(meta: dict) -> list[str]:
    """Non-commercial weights, unverified weights and methods left out by ``--licence``."""
    methods = meta.get("methods", {})
    nc = [f"- `{m}`: {info.get('license')}" for m, info in sorted(methods.items()) if info.get("non_commercial")]
    tofu = [f"- `{m}`: weights fetched with --trust-on-first-use (no published hash checked)"
            for m, info in sorted(methods.items())
            if any(w.get("local_copy") == "trust-on-first-use" for w in info.get("weights", []))]
    left = (meta.get("licence_filter") or {}).get("left_out") or []
    out: list[str] = []
    if nc or left:
        out += ["## Licences", ""]
        if nc:
            out += ["Weights for non-commercial use only:", "", *nc, ""]
        if left:
            out += [f"Left out by --licence {meta['licence_filter']['licence']}: " + ", ".join(f"`{m}`" for m in left), ""]
    if tofu:
        out += ["## Unverified weights", "", *tofu, ""]
    return out
