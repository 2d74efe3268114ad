"""The leaderboard model: what every table of a run's report shows, decided once.

:func:`build_board` turns a run's summary (:func:`zoo.report.summary.summarize`) and its
metadata into typed tables: per benchmark, one row per (method, operating point) with a
:class:`Cell` per metric column (value, CI, n, best, status, note), the notes under the
table, and the summary and per-group tables of metrics that report ``alias:stat`` figures.
Which rows are comparable (the ★, lossless rows set apart, rows below a trivial baseline) is
:mod:`zoo.report.ranking`'s rule, applied here. The Markdown (:mod:`zoo.report.leaderboard`) and
HTML (:mod:`zoo.report.html`) renderers only format the model; neither decides a cell, a best
value or a note.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Union

import pandas as pd

from zoo.report.ranking import below_baseline, best_means, is_lossless, rate_columns
from zoo.results import COST, MetricKey

__all__ = ["Cell", "Column", "BoardRow", "Note", "SummaryTable", "BenchBoard", "Board", "build_board",
           "build_bench", "fmt", "direction", "table_metrics", "best_means"]

#: a unit that never measured anything: its whole row shows the status
WHOLE = ("unavailable", "failed")


def fmt(v: float | None, metric: str = "") -> str:
    """A value as the report prints it: counts with thousands separators, 4 significant-ish digits."""
    if v is None:
        return "–"
    if metric == "params" and math.isfinite(v):
        return f"{int(v):,}"
    if not math.isfinite(v):
        return "inf" if v == math.inf else "–"
    a = abs(v)
    return f"{v:.0f}" if a >= 1000 else f"{v:.2f}" if a >= 10 else f"{v:.4f}"


def _finite(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


@dataclass(frozen=True)
class Cell:
    """One metric of one row.

    Attributes:
        value: the mean over items (None: not measured; may be +-inf).
        ci: the 95% bootstrap CI of the mean, or None.
        n: items measured.
        best: the best value of its column.
        status: ``ok``, ``partial``, ``failed``, ``unavailable``, ``skipped``, or ``""`` (no row).
        note: why the value is flagged (low n, items not measurable) or why there is none.
    """

    value: float | None = None
    ci: tuple[float, float] | None = None
    n: int = 0
    best: bool = False
    status: str = ""
    note: str = ""

    @property
    def shown_status(self) -> str | None:
        """The status word the cell shows instead of a value (``""``: an empty cell), or None."""
        if self.status in ("", *WHOLE) and (self.value is None or not math.isfinite(self.value)):
            return self.status
        return None

    @property
    def flagged(self) -> bool:
        """A measured value with a note (the renderers mark it †)."""
        return self.status == "ok" and bool(self.note)


@dataclass(frozen=True)
class Column:
    """A metric column: its name, which way is better (None: no direction) and its fingerprint."""

    metric: str
    higher_is_better: bool | None
    cost: bool
    fingerprint: str = ""

    @property
    def arrow(self) -> str:
        return "↑" if self.higher_is_better else "↓" if self.higher_is_better is False else ""


@dataclass(frozen=True)
class BoardRow:
    """One method at one operating point: a cell per column; ``status`` of the whole unit."""

    method: str
    setting: str
    n: int | None
    status: str
    note: str
    cells: tuple[Cell, ...]
    #: the trivial baseline this row is worse than (``baselines:`` of the suite), or None
    below: str | None = None


@dataclass(frozen=True)
class Note:
    """A line under a benchmark's table: ``kind`` unavailable / failed / partial / flagged."""

    kind: str
    method: str | None  # None: a metric's note, for every method
    metric: str | None  # None: the whole unit
    text: str


#: a summary table's cell: (value, (lo, hi) or None), a note standing for a withheld value, or None
SummaryValue = Union[tuple[float, Union[tuple[float, float], None]], str, None]


@dataclass(frozen=True)
class SummaryTable:
    """A metric's per-unit summary figures (``alias:stat``): overall, or per group (``alias:stat[group]``)."""

    alias: str
    grouped: bool
    stats: tuple[str, ...]
    #: (method, setting, group or None, per stat: (value, (lo, hi) or None), a note in place of a
    #: value withheld for too few independent units ("insufficient n ..."), or None)
    rows: tuple[tuple[str, str, str | None, tuple[SummaryValue, ...]], ...]

    @property
    def title(self) -> str:
        return f"{self.alias} — {'per group' if self.grouped else 'summary'}"


@dataclass(frozen=True)
class BenchBoard:
    """One benchmark's leaderboard."""

    task: str
    bench: str
    dataset: dict[str, Any]
    columns: tuple[Column, ...]
    rows: tuple[BoardRow, ...]
    notes: tuple[Note, ...]
    summaries: tuple[SummaryTable, ...]
    #: rate columns (a rate-distortion benchmark: no ★, see :mod:`zoo.report.ranking`)
    rates: tuple[str, ...] = ()
    #: lossless rows, set apart: cells for :attr:`lossless_columns` only
    lossless: tuple[BoardRow, ...] = ()
    lossless_columns: tuple[str, ...] = ()
    #: the suite's trivial baselines of this benchmark: {"methods": [...], "judged_on": metric}, or None
    baselines: dict[str, Any] | None = None


@dataclass(frozen=True)
class Board:
    """Every benchmark of a run, in suite order, with the run's metadata."""

    benches: tuple[BenchBoard, ...]
    meta: dict[str, Any] = field(default_factory=dict)

    def tasks(self) -> dict[str, list[BenchBoard]]:
        out: dict[str, list[BenchBoard]] = {}
        for b in self.benches:
            out.setdefault(b.task, []).append(b)
        return out


def direction(meta: dict[str, Any], bench: str, metric: str) -> bool | None:
    """True if higher is better for ``metric`` in ``bench``, False if lower, None if it has no direction."""
    info = meta.get("metrics", {}).get(f"{bench}/{metric}")
    if info is not None:
        return bool(info["higher_is_better"])
    return False if metric in COST else None


def _headline_metrics(metrics: list[str]) -> list[str]:
    """Plain metrics, and the first figure of a metric with several (``probe.delta_ita`` of
    ``probe.*``); summary rows (``probe:key``) get tables of their own."""
    out, seen = [], set()
    for m in metrics:
        key = MetricKey.parse(m)
        if key.is_summary:
            continue
        group = key.alias if key.key is not None else None
        if group is not None and group in seen:
            continue
        seen.add(group or m)
        out.append(m)
    return out


def table_metrics(bg: pd.DataFrame) -> list[str]:
    """The columns of a benchmark's table: headline metrics, measured ones first in suite order,
    then the cost columns."""
    metrics = _headline_metrics([m for m in dict.fromkeys(bg.metric) if m not in COST and m != "*"])
    unavailable = set(bg[bg.status == "unavailable"].metric)
    metrics = sorted(metrics, key=lambda m: m in unavailable)
    return metrics + [m for m in COST if m in set(bg.metric)]


def _cell(r: Any, best: float | None) -> Cell:
    value = _finite(r["mean"])
    lo, hi = _finite(r["ci_low"]), _finite(r["ci_high"])
    ci = (lo, hi) if lo is not None and hi is not None and math.isfinite(lo) else None
    note = "" if pd.isna(r["note"]) else str(r["note"])
    return Cell(value, ci, int(r["n"]), best is not None and r["mean"] == best, str(r["status"]), note)


def _notes(bg: pd.DataFrame) -> list[Note]:
    """Unavailable metrics and methods, failed and partial units, flagged values, with their reasons."""
    unavailable = bg[bg.status == "unavailable"]
    unavailable = pd.concat([unavailable[unavailable.metric != "*"].drop_duplicates(["metric"]),
                             unavailable[unavailable.metric == "*"].drop_duplicates(["method", "note"])])
    notes = [Note("unavailable", str(r.method) if r.metric == "*" else None, None if r.metric == "*" else str(r.metric),
                  str(r.note)) for _, r in unavailable.iterrows()]
    for _, r in bg[bg.status.isin(["failed", "partial"])].drop_duplicates(["method", "metric", "note"]).iterrows():
        notes.append(Note(str(r.status), str(r.method), None if r.metric == "*" else str(r.metric), str(r.note)))
    for _, r in bg[(bg.status == "ok") & (bg.note.astype(str) != "")].drop_duplicates(["metric", "note"]).iterrows():
        notes.append(Note("flagged", None, str(r.metric), str(r.note)))
    return notes


def _summary_value(vals: dict[tuple[str, str, MetricKey], float | str], m: str, st: str, k: MetricKey) -> SummaryValue:
    """A summary figure of one unit with its ``_lo`` / ``_hi`` bounds, if both are there (or the
    note that stands for a value withheld for too few units)."""
    v = vals.get((m, st, k))
    if v is None or isinstance(v, str):
        return v
    lo, hi = vals.get((m, st, k.with_bound("lo"))), vals.get((m, st, k.with_bound("hi")))
    if isinstance(lo, float) and isinstance(hi, float) and math.isfinite(lo):
        return v, (lo, hi)
    return v, None


def _insufficient(bg: pd.DataFrame) -> pd.Series:
    """Summary rows a metric withheld for too few independent units (their note says so)."""
    return bg["mean"].isna() & bg.note.astype(str).str.startswith("insufficient n")


def _summaries(bg: pd.DataFrame) -> list[SummaryTable]:
    """``alias:stat`` rows as an overall table and a per-group table per metric alias."""
    agg = bg[bg.metric.astype(str).str.contains(":", regex=False) & (bg["mean"].notna() | _insufficient(bg))]
    keys = {m: MetricKey.parse(m) for m in dict.fromkeys(agg.metric.astype(str))}
    out = []
    for alias in dict.fromkeys(k.alias for k in keys.values()):
        vals: dict[tuple[str, str, MetricKey], float | str] = {}
        for r in agg.itertuples(index=False):
            if keys[r.metric].alias == alias:
                value = float(r.mean)
                vals[(str(r.method), str(r.setting), keys[r.metric])] = value if math.isfinite(value) else str(r.note)
        figures = [k for k in dict.fromkeys(k for (_, _, k) in vals) if k.bound is None]
        units = list(dict.fromkeys((m, st) for (m, st, _) in vals))

        overall = [k for k in figures if k.group is None]
        if overall:
            out.append(SummaryTable(alias, False, tuple(k.stat or "" for k in overall),
                                    tuple((m, st, None, tuple(_summary_value(vals, m, st, k) for k in overall))
                                          for m, st in units)))
        grouped = [k for k in figures if k.group is not None]
        if grouped:
            stats = list(dict.fromkeys(k.stat or "" for k in grouped))
            groups = list(dict.fromkeys(k.group or "" for k in grouped))
            rows = []
            for m, st in units:
                for g in groups:
                    cells = tuple(_summary_value(vals, m, st, MetricKey(alias, stat=s, group=g)) for s in stats)
                    if any(c is not None for c in cells):
                        rows.append((m, st, g, cells))
            out.append(SummaryTable(alias, True, tuple(stats), tuple(rows)))
    return out


def build_bench(bg: pd.DataFrame, meta: dict[str, Any], task: str, bench: str) -> BenchBoard:
    """One benchmark's board from its rows of the summary."""
    metrics = table_metrics(bg)
    best = best_means(bg, meta, bench, metrics)  # the ★: among comparable rows only
    below = below_baseline(bg, meta, bench)
    rates = tuple(sorted(rate_columns(meta, bench)))
    lossless_columns = rates or ("bpp",)
    info = meta.get("metrics", {})
    columns = tuple(Column(m, direction(meta, bench, m), m in COST, str(info.get(f"{bench}/{m}", {}).get("fingerprint") or ""))
                    for m in metrics)
    rows, lossless = [], []
    for (method, setting), g in bg.groupby(["method", "setting"], sort=False):
        if is_lossless(meta, bench, method, setting):
            ns = g[~g.metric.isin(COST)].n
            cells = [_cell(g[g.metric == c].iloc[0], None) if (g.metric == c).any() else Cell() for c in lossless_columns]
            lossless.append(BoardRow(str(method), str(setting), int(ns.max()) if len(ns) else None, "ok", "", tuple(cells)))
            continue
        by_metric: dict[str, Any] = {}
        for _, r in g.iterrows():
            by_metric.setdefault(r.metric, r)
        ns = g[~g.metric.isin(COST)].n
        whole = g[(g.metric == "*") & g.status.isin(WHOLE)]
        status, note = (str(whole.status.iloc[0]), str(whole.note.iloc[0])) if len(whole) else ("ok", "")
        cells = []
        for m in metrics:
            r = by_metric.get(m)
            if r is None:
                cells.append(Cell(status=status if len(whole) and m not in COST else "", note=note if m not in COST else ""))
            else:
                cells.append(_cell(r, best.get(m)))
        rows.append(BoardRow(str(method), str(setting), int(ns.max()) if len(ns) else None, status, note, tuple(cells),
                             below.get((method, setting))))
    return BenchBoard(task, bench, dict(meta.get("datasets", {}).get(bench, {})), columns, tuple(rows),
                      tuple(_notes(bg)), tuple(_summaries(bg)), rates, tuple(lossless), lossless_columns,
                      meta.get("baselines", {}).get(bench))


def build_board(summary: pd.DataFrame, meta: dict[str, Any]) -> Board:
    """The leaderboard of a run: every benchmark of its summary, grouped by task in suite order."""
    benches = []
    if len(summary):
        for task, tg in summary.groupby("task", sort=False):
            for bench, bg in tg.groupby("benchmark", sort=False):
                benches.append(build_bench(bg, meta, str(task), str(bench)))
    return Board(tuple(benches), meta)
