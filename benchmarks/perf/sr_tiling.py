"""Memory and time of a 2048x2048 -> 8192x8192 (x4) upscale, whole image vs tiled.

    uv run python benchmarks/perf/sr_tiling.py [--size 2048] [--tile 256]

Each configuration runs in a fresh subprocess (2 threads); peak memory is the process's
peak resident set size minus its size just before the upscale, so it covers the output
tensor (8192^2 x 3 float32 = 805 MB) plus every intermediate. Also checks that the
tiled output equals the whole-image output.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time, torch
torch.set_num_threads(2)
import zoo
from zoo.datasets.degrade import imresize
size, tile = int(sys.argv[1]), int(sys.argv[2])
photo = zoo.dataset("samples", split="train")[0].image  # astronaut, 512x512
x = imresize(photo.unsqueeze(0), size=(size, size)).clamp(0, 1)
m = zoo.load("espcn-x4.samples", **({"tile": tile} if tile else {}))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
y = m.upscale(x)
dt = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
torch.save(y[0, :, ::16, ::16].clone(), sys.argv[3])
print(json.dumps({"seconds": dt, "peak_mb": (peak - before) / 1024, "out": list(y.shape)}))
"""


def run(size: int, tile: int, probe: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(size), str(tile), probe], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    import tempfile

    import torch

    p = argparse.ArgumentParser()
    p.add_argument("--size", type=int, default=2048)
    p.add_argument("--tile", type=int, default=256)
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        whole = run(a.size, 0, f"{tmp}/w.pt")
        tiled = run(a.size, a.tile, f"{tmp}/t.pt")
        diff = (torch.load(f"{tmp}/w.pt") - torch.load(f"{tmp}/t.pt")).abs().max().item()
    print(f"espcn-x4.samples, {a.size}x{a.size} -> {whole['out'][2]}x{whole['out'][3]}, 2 threads")
    print(f"whole image: {whole['seconds']:.1f} s, peak +{whole['peak_mb']:.0f} MB")
    print(f"tiles of {a.tile}: {tiled['seconds']:.1f} s, peak +{tiled['peak_mb']:.0f} MB "
          f"({whole['peak_mb'] / tiled['peak_mb']:.1f}x less); max |whole - tiled| on a 1/16 sample grid {diff:.2e}")


if __name__ == "__main__":
    main()
