"""``zoo bench``, ``zoo report``, ``zoo compare``: run a suite, read its report, gate against a baseline."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from zoo.cli._common import EXIT_DRIFT, EXIT_OK, parse_device
from zoo.errors import ZooError


def _print_leaderboard(run: Any) -> None:
    print((Path(run.path) / "leaderboard.md").read_text())
    retried = f", of which retried after failing before {run.retried_units}" if getattr(run, "retried_units", 0) else ""
    print(f"report: {Path(run.path).resolve()}/index.html  (units computed {run.computed_units}{retried}, reused {run.reused_units})", file=sys.stderr)


def _gate(current: Any, baseline_path: str, tolerances: list[str], subset: bool, nan_equal: bool = True,
          label: str | None = None, run_path: Any = None, details: bool = False) -> int:
    """Print the drifted means first (then, with ``details``, every moved mean and drifted item); exit 1 on drift."""
    from zoo.report.compare import Tolerances, gate, parse_tolerances, run_tolerances, unmatched_tolerances
    from zoo.results import load_results

    tol = Tolerances(parse_tolerances(tolerances), suite=run_tolerances(run_path))
    baseline = load_results(baseline_path)
    for name in unmatched_tolerances(tol.given, current, baseline):
        print(f"warning: --tolerance {name}: matches no metric, alias or column in the run or the baseline; "
              f"it is not applied (check the spelling: see the `metric` column of results.csv)", file=sys.stderr)
    drifted, text = gate(current, baseline, tol, subset=subset, nan_equal=nan_equal, details=details)
    if text:
        print(text)
    if not drifted:
        print(f"regression gate: no drift against {label or baseline_path}", file=sys.stderr)
        return EXIT_OK
    print(f"regression gate: {drifted} drift(s) against {label or baseline_path}", file=sys.stderr)
    return EXIT_DRIFT


def cmd_bench(a: Any) -> int:
    import tempfile

    from zoo.harness.runner import run_suite
    from zoo.harness.verdict import run_problems, verdict

    with tempfile.TemporaryDirectory(prefix="zoo-baseline-") as tmp:  # the snapshot lives as long as the command
        baseline = _snapshot_baseline(a.against, a.tolerance, Path(tmp)) if a.against else None
        run = run_suite(a.suite, out=a.output, include_path=a.include_path, device=parse_device(a.device),
                        methods=a.method or None, progress=not a.no_progress, executor=a.executor, workers=a.workers,
                        licence=a.licence, recompute=a.recompute, force=a.force, unit_timeout=a.unit_timeout,
                        threads=a.threads_per_unit, retries=a.retries, memory=a.worker_memory, address=a.address,
                        shared_fs=a.shared_fs)
        from zoo.plugins import failed_plugins

        for name, error in sorted(failed_plugins().items()):
            print(f"warning: plugin {name!r} failed to load: {error}; its methods, metrics and datasets were not "
                  f"available to this run (`zoo plugins` shows every plugin's state)", file=sys.stderr)
        _print_leaderboard(run)
        left_out = run.meta.get("licence_filter", {}).get("left_out", [])
        if left_out:
            print(f"--licence {a.licence}: left out {len(left_out)} non-commercial method(s): {', '.join(left_out)}", file=sys.stderr)
        expected = {b.name: b.allow_unavailable for b in run.suite.benchmarks}
        status, summary = verdict(run_problems(run.results, expected), a.allow_failures, a.allow_unavailable)
        for line in summary:
            print(line, file=sys.stderr)
        if baseline is not None:
            subset = bool(a.method) or bool(left_out)
            _site_against(run.path, str(baseline), a.tolerance, subset=subset, label=a.against)
            gate = _gate(run.results, str(baseline), a.tolerance, subset=subset, label=a.against, run_path=run.path,
                         details=a.details)
            status = EXIT_DRIFT if EXIT_DRIFT in (status, gate) else max(status, gate)  # a drift is never hidden by exit 3
        return status


def _snapshot_baseline(against: str, tolerances: list[str], folder: Path) -> Path:
    """Check ``--against`` and ``--tolerance`` before anything runs, and copy the baseline's results
    as they are now into ``folder``: the run may write into the very folder the baseline is."""
    from zoo.results import load_results
    from zoo.report.compare import parse_tolerances

    parse_tolerances(tolerances)
    snapshot = folder / "results.parquet"
    load_results(against).to_parquet(snapshot, index=False)
    return snapshot


def _site_against(run_path: Any, against: str, tolerances: list[str], subset: bool, label: str | None = None) -> Path:
    """Rebuild the run's index.html with a diff view against the baseline."""
    from zoo.report import rebuild_site
    from zoo.report.compare import Tolerances, parse_tolerances, run_tolerances

    tol = Tolerances(parse_tolerances(tolerances), suite=run_tolerances(run_path))
    return rebuild_site(run_path, against, tol, subset=subset, label=label)


def cmd_report(a: Any) -> int:
    from zoo.results import load_results

    path = Path(a.run)
    load_results(path)
    md = path / "leaderboard.md"
    if not md.exists():
        raise ZooError(f"{path}: no leaderboard.md; re-run `zoo bench` into this folder to rebuild the report")
    print(md.read_text())
    if a.against or a.open:
        page = _site_against(path, a.against, a.tolerance, a.subset) if a.against else path / "index.html"
        if not page.exists():
            from zoo.report import rebuild_site

            page = rebuild_site(path)
        print(f"report: {page.resolve()}", file=sys.stderr)
        if a.open:
            import webbrowser

            if not webbrowser.open(page.resolve().as_uri()):
                print(f"no browser found to open {page.resolve()}; open it by hand", file=sys.stderr)
    return 0


def cmd_compare(a: Any) -> int:
    from zoo.results import load_results

    return _gate(load_results(a.run), a.baseline, a.tolerance, subset=a.subset, nan_equal=not a.nan_is_drift,
                 run_path=a.run, details=a.details)


TOLERANCE_HELP = ("NAME=TOL: absolute (psnr=0.01), relative to the baseline value (psnr=0.1%%) or both "
                  "(psnr=0.01+0.1%%); repeatable or comma-separated; NAME: column, alias or metric (the column or alias "
                  "wins); over the suite's tolerances: block and the metric's own (docs/ci.md)")


def register(sub: Any) -> None:
    """Add ``bench``, ``report`` and ``compare`` to the ``zoo`` parser."""
    s = sub.add_parser("bench", help="run a benchmark suite (default: the embedded quick suite)")
    s.add_argument("suite", nargs="?", default="quick")
    s.add_argument("-o", "--output", help="run folder (default runs/<suite>); re-running resumes and reuses")
    s.add_argument("--include-path", action="append", default=[], help="extra folder of suite files")
    s.add_argument("--method", action="append", default=[], help="run only these method ids")
    s.add_argument("--against", help="baseline run folder or results file: exit 1 on drift")
    s.add_argument("--tolerance", action="append", default=[], help=TOLERANCE_HELP)
    s.add_argument("--details", action="store_true", help="with --against: after the drifted means, every mean that "
                   "moved and every item value that drifted")
    s.add_argument("--device", default="cpu")
    s.add_argument("--executor", choices=["local", "ray"], default="local",
                   help="local: worker processes on this machine; ray: Ray tasks on a local Ray or the cluster at "
                        "--address / RAY_ADDRESS (pip install 'imagezoo[ray]'). See docs/distributed.md")
    s.add_argument("--workers", type=int, metavar="N",
                   help="local: N worker processes (default: one per CPU, at most 8; 0: units in this process, without "
                        "isolation or timeouts; env ZOO_WORKERS); ray: CPUs of the local Ray it starts")
    s.add_argument("--unit-timeout", type=float, metavar="SECONDS",
                   help="fail a unit that runs longer (wins over the suite's `timeout:`; default 3600)")
    s.add_argument("--retries", type=int, metavar="N",
                   help="run a unit whose worker or node died again, up to N times (default 1); timeouts are not retried")
    s.add_argument("--threads-per-unit", type=int, metavar="N",
                   help="intra-op threads of every unit (default 1): the same on every executor and machine, so values "
                        "are identical")
    s.add_argument("--worker-memory", metavar="SIZE", help="address-space limit per local worker, e.g. 8G (RLIMIT_AS)")
    s.add_argument("--address", metavar="ADDR",
                   help="ray: join the running cluster at ADDR (host:port or ray://host:10001; default RAY_ADDRESS)")
    s.add_argument("--shared-fs", action="store_true",
                   help="ray with --address: folder datasets are at the same path on every node (not shipped)")
    s.add_argument("--no-progress", action="store_true")
    s.add_argument("--licence", "--license", dest="licence", choices=["any", "commercial"], default="any",
                   help="commercial: leave out methods whose weights are for non-commercial use only")
    s.add_argument("--recompute", nargs="*", metavar="METHOD",
                   help="compute again instead of reusing stored units: these method ids, or every method if none "
                        "is named (put the suite first: zoo bench SUITE --recompute)")
    s.add_argument("--allow-failures", action="store_true", help="exit 0 even if units failed (they stay in the report)")
    s.add_argument("--allow-unavailable", action="store_true",
                   help="exit 0 even if methods or metrics were unavailable (beyond the suite's allow_unavailable)")
    s.add_argument("--force", action="store_true", help="write into a non-empty -o folder that is not a zoo run folder")
    s.set_defaults(fn=cmd_bench)

    s = sub.add_parser("report", help="print a run's leaderboard; --open shows its index.html in the browser")
    s.add_argument("run")
    s.add_argument("--open", action="store_true", help="open the run's index.html in the default browser")
    s.add_argument("--against", help="baseline run folder or results file: rebuild index.html with a diff view")
    s.add_argument("--tolerance", action="append", default=[], help=TOLERANCE_HELP)
    s.add_argument("--subset", action="store_true", help="with --against: only methods present in RUN")
    s.set_defaults(fn=cmd_report)

    s = sub.add_parser("compare", help="regression gate: run vs baseline")
    s.add_argument("run")
    s.add_argument("baseline")
    s.add_argument("--tolerance", action="append", default=[], help=TOLERANCE_HELP)
    s.add_argument("--details", action="store_true", help="after the drifted means, every mean that moved and every "
                   "item value that drifted")
    s.add_argument("--subset", action="store_true", help="only methods present in RUN")
    s.add_argument("--nan-is-drift", action="store_true", help="a value NaN in both runs is a drift (default: it matches)")
    s.set_defaults(fn=cmd_compare)
