"""Units per second in-process, on local workers and on Ray, side by side in one run.

    uv run python benchmarks/perf/scaling.py [--suite quick] [--method ID ...] [--repeat 1]

Each configuration runs ``zoo bench SUITE`` as a subprocess into a fresh folder (every unit
computed; the zoo cache, with the metrics' reference statistics, is warmed once first and
shared). Configurations are interleaved round by round, so a machine whose load changes
(a shared one) slows them alike; compare the ratios, not the seconds. Reported per
configuration: the median over rounds of the run's own time (``meta.json`` ``timing.run_s``:
planning, units, persisting; not interpreter start or the report), the units per second, and
the overhead against ``in-process`` at the thread count a run used before workers existed
(torch's default: every core). Prints the table recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFIGS = {
    "in-process, threads = cores (before #27)": ["--workers", "0", "--threads-per-unit", str(os.cpu_count() or 1)],
    "in-process, 1 thread": ["--workers", "0"],
    "local, 1 worker": ["--workers", "1"],
    "local, 2 workers": ["--workers", "2"],
    "ray, 1 worker": ["--executor", "ray", "--workers", "1"],
    "ray, 2 workers": ["--executor", "ray", "--workers", "2"],
}


def bench(suite: str, out: Path, extra: list[str], env: dict, methods: list[str]) -> tuple[float, dict]:
    cmd = [sys.executable, "-m", "zoo.cli", "bench", suite, "-o", str(out), "--no-progress", "--allow-unavailable",
           "--allow-failures", *extra, *[x for m in methods for x in ("--method", m)]]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0, json.loads((out / "meta.json").read_text())


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--suite", default="quick")
    p.add_argument("--method", action="append", default=[], help="only these methods (a quicker subset)")
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--only", action="append", default=[], help="configurations whose name contains this")
    a = p.parse_args()
    configs = {k: v for k, v in CONFIGS.items() if not a.only or any(o in k for o in a.only)}
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "ZOO_CACHE": str(Path(tmp) / "cache"), "HF_HUB_OFFLINE": "1",
               "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0"}
        env.pop("RAY_ADDRESS", None)
        bench(a.suite, Path(tmp) / "warm", ["--workers", "0"], env, a.method)  # reference statistics into the cache
        runs: dict[str, list[tuple[float, dict]]] = {k: [] for k in configs}
        for r in range(a.repeat):
            for name, extra in configs.items():
                runs[name].append(bench(a.suite, Path(tmp) / f"{r}-{len(runs[name])}-{abs(hash(name))}", extra, env, a.method))
                print(f"round {r + 1}: {name}: run {runs[name][-1][1]['timing']['run_s']:.1f} s", file=sys.stderr, flush=True)
    rows = []
    for name, got in runs.items():
        run_s = statistics.median(m["timing"]["run_s"] for _, m in got)
        wall = statistics.median(w for w, _ in got)
        units = got[0][1]["units"]["computed"]
        rows.append((name, units, run_s, wall))
    base = rows[0][2]
    print(f"suite {a.suite}{' (' + ', '.join(a.method) + ')' if a.method else ''}, {os.cpu_count()} CPUs, "
          f"{a.repeat} round(s), median")
    print("| configuration | units | run s | units/s | vs in-process (before #27) | command wall s |")
    print("|---|---|---|---|---|---|")
    for name, units, run_s, wall in rows:
        print(f"| {name} | {units} | {run_s:.1f} | {units / run_s:.2f} | {(run_s - base) / base:+.1%} | {wall:.1f} |")


if __name__ == "__main__":
    main()
