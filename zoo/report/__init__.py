"""Reports from a run's long-form results: tables, leaderboards, plots, HTML, meta."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from zoo.report.leaderboard import leaderboard_markdown, summarize
from zoo.results import load_results, read_csv, write_csv

__all__ = ["write_report", "rebuild_site", "load_results"]


def write_report(run) -> Path:
    """Write results.{parquet,csv}, meta.json, leaderboard.md, plots and index.html into ``run.path``."""
    from zoo.report.html import save_sections, write_site

    out = Path(run.path)
    out.mkdir(parents=True, exist_ok=True)
    df = run.results
    from zoo.report.ranking import lossless_rows

    run.meta["lossless"] = lossless_rows(df)  # set apart from the lossy rows in the tables and plots
    df.to_parquet(out / "results.parquet", index=False)
    write_csv(df, out / "results.csv")  # text cells that would start a spreadsheet formula are escaped
    (out / "meta.json").write_text(json.dumps(run.meta, indent=2, default=str))
    summary = summarize(df, run.meta, seed=run.meta.get("seed", 0))
    write_csv(summary, out / "summary.csv")
    specs = _task_specs(run)
    extra_sections = []
    for task, spec in specs.items():
        benches = [b for b in run.suite.benchmarks if b.task == task]
        extra_sections += spec.report_sections(df[df.task == task], benches)
    md = leaderboard_markdown(summary, run.meta, extra_sections)
    (out / "leaderboard.md").write_text(md)
    code = tuple(type(spec).__module__ for spec in specs.values())  # the code that draws the task figures
    figures = _cached_figures(out, df, code)
    if figures is None:
        from zoo.report.plots import sample_grids  # matplotlib: only when drawing

        figures = [p for task, spec in specs.items() for p in spec.figures(df[df.task == task], out)] + sample_grids(out)
        _remember_figures(out, df, figures, code)
    save_sections(out, extra_sections)
    write_site(out, df, run.meta, summary, extra_sections, figures)
    return out


def _task_specs(run) -> dict:
    """The spec of every task in the run's suite, in suite order."""
    from zoo.taskspec import task_spec

    return {t: task_spec(t) for t in dict.fromkeys(b.task for b in run.suite.benchmarks)}


FIGURES_INDEX = ".figures.json"


def _figures_digest(out: Path, df: pd.DataFrame, code: tuple[str, ...] = ()) -> str:
    """What the figures are drawn from: the results (less the run id), the sample images, and the
    code that draws them (the plotting module and every task spec's module)."""
    import hashlib
    import sys

    h = hashlib.sha256()
    # timings come from the stored parts on a re-run, so a cached run keeps its figures
    keep = df.drop(columns=["run"], errors="ignore")
    h.update(keep.to_csv(index=False).encode())
    for mod in sorted({"zoo.report.plots", *code}):
        f = getattr(sys.modules.get(mod), "__file__", None)
        if f and f.endswith(".py"):
            h.update(Path(f).read_bytes())
    samples = out / "samples"
    if samples.is_dir():
        for f in sorted(samples.rglob("*.png")):
            h.update(str(f.relative_to(out)).encode())
            h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()


def _cached_figures(out: Path, df: pd.DataFrame, code: tuple[str, ...] = ()) -> list[Path] | None:
    """The figures of an earlier report of this folder, if drawn from identical inputs."""
    index = out / FIGURES_INDEX
    try:
        saved = json.loads(index.read_text())
    except (OSError, ValueError):
        return None
    paths = [out / p for p in saved.get("paths", [])]
    if saved.get("digest") != _figures_digest(out, df, code) or not all(p.is_file() for p in paths):
        return None
    return paths


def _remember_figures(out: Path, df: pd.DataFrame, figures: list[Path], code: tuple[str, ...] = ()) -> None:
    paths = [str(Path(p).resolve().relative_to(out.resolve())) for p in figures]
    (out / FIGURES_INDEX).write_text(json.dumps({"digest": _figures_digest(out, df, code), "paths": paths}))


def rebuild_site(out: str | Path, against: str | None = None, tolerances: dict[str, float] | None = None,
                 subset: bool = False, label: str | None = None) -> Path:
    """Rebuild ``index.html`` of a run folder from what is in it (results, meta.json, figures,
    samples), with a diff view against the baseline ``against`` (a run folder or results file)."""
    from zoo.errors import ZooError
    from zoo.report.html import baseline_diff, load_sections, write_site

    out = Path(out)
    df = load_results(out)
    try:
        meta = json.loads((out / "meta.json").read_text())
    except (OSError, ValueError) as exc:
        raise ZooError(f"{out / 'meta.json'}: cannot read the run's metadata ({exc}); re-run `zoo bench` into this folder") from None
    try:
        figures = [out / p for p in json.loads((out / FIGURES_INDEX).read_text()).get("paths", [])]
    except (OSError, ValueError):
        figures = sorted((out / "plots").glob("*.png")) if (out / "plots").is_dir() else []
    diff = baseline_diff(df, load_results(against), label or str(against), tolerances, subset) if against else None
    summary = None
    if (out / "summary.csv").is_file():  # written with the results; summarising again costs seconds
        summary = read_csv(out / "summary.csv")
        summary["setting"] = summary.setting.astype(str)
        summary["note"] = summary.note.fillna("").astype(str)
    return write_site(out, df, meta, summary, load_sections(out), figures, diff)
