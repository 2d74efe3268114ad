"""Held-out scores of the translators trained here against the baselines.

    python -m zoo_translation.evaluate            # both tasks, whole held-out photos

For each task (``sketch``: the pix2pix task; ``graded``: the CycleGAN known-answer task)
every method translates each held-out photo and is scored against the known target with
PSNR and SSIM (RGB, outputs rounded to 8 bits as a saved image would be), plus the cycle
error for two-way translators.
"""

from __future__ import annotations

import argparse
import sys

import torch

import zoo
from zoo.images import quantize
from zoo_translation.data import graded, gray2color, photo2sketch
from zoo_translation.metrics import cycle_l1, cycle_psnr, round_trip

METHODS = {
    "sketch": ["pix2pix-sketch.samples", "identity.baseline", "color-transfer-reinhard.samples-sketch",
               "color-transfer-histogram.samples-sketch"],
    "graded": ["cyclegan-grade.samples", "identity.baseline", "color-transfer-reinhard.samples-graded",
               "color-transfer-histogram.samples-graded"],
}


def heldout_scores(method: zoo.tasks.Method, task: str, crop: int | None = None) -> dict[str, float]:
    """Mean PSNR / SSIM (and cycle error for two-way methods) over the held-out photos."""
    ds = {"sketch": photo2sketch, "gray2color": gray2color, "graded": graded}[task]("heldout", crop=crop)
    psnr, ssim = zoo.metric("psnr"), zoo.metric("ssim")
    scores: dict[str, list[float]] = {"psnr": [], "ssim": []}
    two_way = set(getattr(method, "directions", ())) == {"AtoB", "BtoA"}
    for item in ds:
        x, target = item.image[None], item.extras["target"][None]
        with torch.no_grad():
            y = quantize(method.translate(x))
        scores["psnr"].append(float(psnr(y, target)))
        scores["ssim"].append(float(ssim(y, target)))
        if two_way:
            cyc = quantize(round_trip(method, x))
            scores.setdefault("cycle-l1", []).append(float(cycle_l1(x, cyc)))
            scores.setdefault("cycle-psnr", []).append(float(cycle_psnr(x, cyc)))
    return {k: sum(v) / len(v) for k, v in scores.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--crop", type=int, default=None)
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    for task, ids in METHODS.items():
        print(f"## {task} (held-out photos{f', crop {a.crop}' if a.crop else ''})")
        for mid in ids:
            s = heldout_scores(zoo.load(mid), task, a.crop)
            print(f"{mid:48s} " + "  ".join(f"{k} {v:.4f}" for k, v in s.items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
