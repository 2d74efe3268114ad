"""The Markdown leaderboard (``leaderboard.md``): a rendering of the leaderboard model.

What each cell holds, which value is best and which notes a table gets is decided once, in
:mod:`zoo.report.board`; this module only writes it as Markdown.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from zoo.report.board import Board, BenchBoard, Cell, SummaryTable, build_board, fmt
from zoo.report.summary import bootstrap_ci, summarize
from zoo.results import COST, machine_dependent

__all__ = ["leaderboard_markdown", "render_markdown", "summarize", "bootstrap_ci", "COST", "machine_dependent"]


def _setting(st: str) -> str:
    return "" if st == "{}" else f"`{st}`"


def _cell(c: Cell, metric: str) -> str:
    if c.shown_status is not None:
        return c.shown_status
    txt = fmt(c.value, metric) + ("†" if c.flagged else "")
    if c.ci is not None:
        txt += f" [{fmt(c.ci[0])}, {fmt(c.ci[1])}]"
    return f"**{txt}**" if c.best else txt


def _summary_lines(t: SummaryTable) -> list[str]:
    def cell(v: Any) -> str:
        if v is None:
            return ""
        if isinstance(v, str):  # "insufficient n (2 of 6 people)" instead of a number
            return v
        value, ci = v
        return fmt(value) + (f" [{fmt(ci[0])}, {fmt(ci[1])}]" if ci is not None else "")

    head = ["method", "setting", *(["group"] if t.grouped else []), *t.stats]
    lines = [t.title, "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for method, st, group, cells in t.rows:
        lines.append(f"| `{method}` | {_setting(st)} | " + (f"{group} | " if t.grouped else "")
                     + " | ".join(cell(v) for v in cells) + " |")
    return lines + [""]


def _bench_lines(b: BenchBoard) -> list[str]:
    ds = b.dataset
    lines = [f"### {b.bench}" + (f" — {ds.get('name')} ({ds.get('items')} images)" if ds else ""), ""]
    if ds.get("variant"):
        from zoo.datasets.variants import describe

        lines += [f"Dataset {describe(ds['variant'])}.", ""]
    header = ["method", "setting", "n"] + [f"{c.metric} {c.arrow}".strip() for c in b.columns]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in b.rows:
        mark = f" — below baseline `{r.below}`" if r.below else ""
        cells = [f"`{r.method}`{mark}", _setting(r.setting), "" if r.n is None else str(r.n)]
        cells += [_cell(c, col.metric) for c, col in zip(r.cells, b.columns)]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines += _comparability_lines(b)
    for t in b.summaries:
        lines += _summary_lines(t)
    for n in b.notes:
        if n.kind == "unavailable":
            lines.append(f"- {f'`{n.method}`' if n.metric is None else n.metric}: unavailable — {n.text}")
        elif n.kind == "flagged":
            lines.append(f"- {n.metric}†: {n.text}")
        else:
            lines.append(f"- `{n.method}` {n.metric or ''}: {n.kind} — {n.text}")
    return lines + ([""] if b.notes else [])


def _comparability_lines(b: BenchBoard) -> list[str]:
    """Under a table: why it has no ★ (rate–distortion), the lossless rows apart, the baseline rule."""
    lines = []
    if b.rates:
        lines += [f"No ★ in this table: each row is an operating point at its own rate ({', '.join(b.rates)}); "
                  "a higher rate buys quality, so compare codecs by BD-rate and the rate–distortion plot.", ""]
    if b.lossless:
        cols = b.lossless_columns
        lines += ["Lossless (every item reproduced exactly; distortion columns are not comparable with the lossy rows):", "",
                  "| method | setting | n | " + " | ".join(f"{c} ↓" for c in cols) + " |", "|" + "---|" * (3 + len(cols))]
        for r in b.lossless:
            cells = [f"`{r.method}`", _setting(r.setting), "" if r.n is None else str(r.n)]
            cells += ["" if c.value is None else fmt(c.value, col) + (f" [{fmt(c.ci[0])}, {fmt(c.ci[1])}]" if c.ci else "")
                      for c, col in zip(r.cells, cols)]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    if b.baselines:
        below = sum(1 for r in b.rows if r.below)
        lines += [f"Trivial baselines: {', '.join(f'`{m}`' for m in b.baselines['methods'])}; a method worse than one on "
                  f"{b.baselines['judged_on']} is marked \"below baseline\" and gets no ★"
                  + (f" ({below} row(s) here)." if below else "."), ""]
    return lines


def render_markdown(board: Board, extra_sections: Any = ()) -> str:
    """Markdown: per task, per benchmark, methods x metrics as mean [95% CI], best in bold."""
    meta = board.meta
    versions = meta.get("versions", {})
    lines = [f"# Leaderboard — suite `{meta.get('suite')}`, run `{meta.get('run')}`", "",
             f"imagezoo {versions.get('imagezoo', '?')}, torch {versions.get('torch', '?')}, seed {meta.get('seed')}, "
             f"outputs rounded to uint8: {meta.get('round_outputs')}. Cells: mean [95% bootstrap CI]; n = items. "
             "↑ higher is better, ↓ lower is better; † see the note under the table.", ""]
    if not board.benches:
        return "\n".join(lines + ["(no results)", ""])
    for task, benches in board.tasks().items():
        lines += [f"## {task}", ""]
        for b in benches:
            lines += _bench_lines(b)
    for title, table in extra_sections:
        lines += [f"## {title}", "", table.to_markdown(index=False, floatfmt=".3f") if len(table) else "(not enough points)", ""]
    lines += _licence_lines(meta)
    return "\n".join(lines)


def leaderboard_markdown(summary: pd.DataFrame, meta: dict, extra_sections: Any = ()) -> str:
    """The Markdown leaderboard of a run's summary (:func:`summarize`)."""
    return render_markdown(build_board(summary, meta), extra_sections)


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
