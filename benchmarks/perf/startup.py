"""Start-up time of `zoo list` / `zoo info` (wall, median of N runs) and whether torch gets imported.

    uv run python benchmarks/perf/startup.py                 # this checkout
    uv run python benchmarks/perf/startup.py --python OTHER/.venv/bin/python   # another checkout, same machine

The peer here is `python -c "import torch"` in the same interpreter: the whole start-up cost
of a command that imports torch. Results go to stdout as a Markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "zoo list": "import zoo.cli; zoo.cli.main(['list'])",
    "zoo info espcn-x4.samples": "import zoo.cli; zoo.cli.main(['info', 'espcn-x4.samples'])",
    "import torch (peer)": "import torch",
}
PROBE = "; import sys; print('torch' in sys.modules, file=sys.stderr)"


def timed(python: str, code: str, runs: int) -> tuple[float, bool]:
    walls, imported = [], False
    for _ in range(runs):
        t0 = time.perf_counter()
        out = subprocess.run([python, "-c", code + PROBE], capture_output=True, text=True, check=True)
        walls.append(time.perf_counter() - t0)
        imported = out.stderr.strip().splitlines()[-1] == "True"
    return statistics.median(walls), imported


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--runs", type=int, default=7)
    a = ap.parse_args()
    timed(a.python, "import zoo", 1)  # warm the file cache
    print("| command | median wall (s) | imports torch |\n|---|---|---|")
    for name, code in COMMANDS.items():
        wall, imported = timed(a.python, code, a.runs)
        print(f"| `{name}` | {wall:.2f} | {'yes' if imported else 'no'} |")


if __name__ == "__main__":
    main()
