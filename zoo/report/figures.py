"""What the report adds for a task, from the task spec's declarations: its figures
(:class:`zoo.taskspec.Figure`: which metric against which) and its tables by kind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from zoo.taskspec import Figure, TaskSpec

__all__ = ["draw_figure", "task_figures", "task_sections", "TABLES"]


def draw_figure(fig: Figure, df: pd.DataFrame, out: Path) -> list[Path]:
    """Draw one declared figure for every benchmark of ``df`` (one task's rows) it applies to."""
    from zoo.report.plots import tradeoff_plots  # matplotlib: only when drawing

    if fig.benchmarks is not None:
        df = df[df.benchmark.isin(fig.benchmarks)]
    x = fig.x
    if fig.x_label is not None or fig.x_scale != 1.0:
        x = fig.x_label or fig.x
        scaled = df[df.metric == fig.x].assign(metric=x, value=lambda d: d.value * fig.x_scale)
        df = pd.concat([df, scaled])
    if fig.y is not None:
        return tradeoff_plots(df, out, x, fig.y, fig.kind, group_by_method=fig.group_by_method, title=fig.title,
                              annotate=fig.annotate)
    from zoo.report.plots import rd_plots

    # one figure per quality metric measured per item, against the rate; lossless rows left out (named)
    return rd_plots(df, out, rate=x, kind=fig.kind, title=fig.title, annotate=fig.annotate)


def task_figures(spec: TaskSpec, df: pd.DataFrame, benchmarks: list, out: Path) -> list[Path]:
    """Every figure of a task: the spec's declared figures, then any it draws itself."""
    return [p for fig in spec.figure_specs(benchmarks) for p in draw_figure(fig, df, out)] + list(spec.figures(df, out))


def _bd_rate(df: pd.DataFrame, benchmarks: list) -> list[tuple[str, pd.DataFrame]]:
    from zoo.report.rd import bd_tables

    return [(f"BD-rate vs {t.attrs.get('anchor')} ({bench})", t) for bench, t in bd_tables(df, benchmarks).items()]


def _published_rd(df: pd.DataFrame, benchmarks: list) -> list[tuple[str, pd.DataFrame]]:
    from zoo.report.published import rd_reproduction

    table = rd_reproduction(df, benchmarks)  # runs of methods whose cards carry published points, beside them
    return [("Against the published rate-distortion points (see docs/reproduction.md)", table)] if len(table) else []


#: the report tables a spec may name in ``report_tables``
TABLES: dict[str, Any] = {"bd-rate": _bd_rate, "published-rd": _published_rd}


def task_sections(spec: TaskSpec, df: pd.DataFrame, benchmarks: list) -> list[tuple[str, pd.DataFrame]]:
    """Every extra table of a task: the kinds its spec names, then any sections it builds itself."""
    unknown = [k for k in spec.report_tables if k not in TABLES]
    if unknown:
        from zoo.errors import ZooError

        raise ZooError(f"task {spec.name!r} asks for report table(s) {unknown}; the report builds {sorted(TABLES)}")
    return [s for kind in spec.report_tables for s in TABLES[kind](df, benchmarks)] + list(spec.report_sections(df, benchmarks))
