"""Harness overhead and cache speed-up, measured on the embedded default suite.

    uv run python benchmarks/perf/harness.py [--suite quick]

1. ``zoo bench SUITE`` in a fresh output folder and a fresh zoo cache, as a subprocess:
   wall time vs the time the runner measured inside methods (warm-up included) and
   metrics (``meta.json`` -> ``timing``). Overhead = wall - inside, reported for the
   whole command (interpreter start, imports, report) and for the run itself.
2. The same command again: every unit comes from the result store.
Prints the numbers recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def bench(suite: str, out: Path, env: dict) -> tuple[float, dict]:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "zoo.cli", "bench", suite, "-o", str(out), "--no-progress"], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    return wall, json.loads((out / "meta.json").read_text())


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--suite", default="quick")
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "ZOO_CACHE": str(Path(tmp) / "cache"), "HF_HUB_OFFLINE": "1"}
        out = Path(tmp) / "run"
        wall1, meta1 = bench(a.suite, out, env)
        inside = meta1["timing"]["model_s"] + meta1["timing"]["metrics_s"]
        run_s = meta1["timing"].get("run_s", float("nan"))
        wall2, meta2 = bench(a.suite, out, env)
    print(f"suite {a.suite}: {meta1['units']['computed']} units computed, then {meta2['units']['reused']} reused")
    print(f"first run:  wall {wall1:.1f} s (command), runner {run_s:.1f} s; inside methods {meta1['timing']['model_s']:.1f} s + "
          f"metrics {meta1['timing']['metrics_s']:.1f} s = {inside:.1f} s")
    print(f"overhead:   command {(wall1 - inside) / wall1:.1%}, runner {(run_s - inside) / run_s:.1%} of wall time")
    print(f"cached run: wall {wall2:.2f} s (command), runner {meta2['timing'].get('run_s', float('nan')):.2f} s -> "
          f"{wall1 / wall2:.1f}x faster (command), {run_s / meta2['timing'].get('run_s', float('nan')):.1f}x (runner)")


if __name__ == "__main__":
    main()
