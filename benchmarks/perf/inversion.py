"""Time to reach a reconstruction PSNR: optimisation-based vs hybrid (encoder start) inversion.

    uv run python benchmarks/perf/inversion.py [--images 4] [--steps 200] [--targets 22 25] [--perceptual 0.1] [--plot psnr.png]

Offline generator (``sg2-*.lfw32``, 32 x 32) on the held-out lfw_subset faces, one thread,
one image at a time (the per-image curve is the mean PSNR of the running reconstruction
after each iteration). Also lists the encoder alone (one pass) as the zero-iteration point.
Prints a Markdown table: for each method x space, seconds and iterations until the mean
PSNR first reaches each target (``-``: not within ``--steps``), and the final PSNR.
"""

from __future__ import annotations

import argparse
import json
import time

import torch


def curve(method, x: torch.Tensor) -> list[tuple[float, float]]:
    """(seconds since the call began, PSNR) after each iteration, averaged over the images."""
    per_image = []
    for i in range(x.shape[0]):
        t0 = time.perf_counter()
        method.invert(x[i: i + 1])
        hist = method.history
        # the hybrid's encoder pass happens before the first iteration: charge it
        start_cost = (time.perf_counter() - t0) - (hist[-1][0] if hist else 0.0)
        per_image.append([(t + start_cost, p) for t, p in hist])
    n = min(len(h) for h in per_image)
    return [(sum(h[k][0] for h in per_image) / len(per_image), sum(h[k][1] for h in per_image) / len(per_image))
            for k in range(n)]


def first_reach(points: list[tuple[float, float]], target: float) -> tuple[float | None, int | None]:
    for k, (t, p) in enumerate(points):
        if p >= target:
            return t, k + 1
    return None, None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--images", type=int, default=4)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--spaces", nargs="+", default=["w", "w+"])
    p.add_argument("--targets", nargs="+", type=float, default=[22.0, 25.0])
    p.add_argument("--perceptual", type=float, default=0.1, help="weight of the perceptual term (0: pixel loss only)")
    p.add_argument("--plot", default=None, help="write a PSNR-vs-seconds PNG, one curve per method x space")
    p.add_argument("--json", default=None)
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    import zoo
    from zoo_inversion.offline import lfw_faces

    x = lfw_faces("heldout")[: a.images]
    rows, curves = [], {}
    for space in a.spaces:
        enc = zoo.load("sg2-encoder.lfw32", space=space)
        t0 = time.perf_counter()
        y = enc.generate(enc.invert(x))
        enc_s = (time.perf_counter() - t0) / x.shape[0]
        enc_psnr = float((-10 * torch.log10((y - x).pow(2).flatten(1).mean(1))).mean())
        rows.append({"method": "encoder", "space": space, "final_psnr": enc_psnr, "seconds_total": enc_s,
                     **{f"reach_{t:g}": ((enc_s, 0) if enc_psnr >= t else (None, None)) for t in a.targets}})
        for name, mid in (("optimisation", "sg2-optim.lfw32"), ("hybrid", "sg2-hybrid.lfw32")):
            m = zoo.load(mid, space=space, steps=a.steps, perceptual=a.perceptual)
            pts = curve(m, x)
            curves[f"{name} {space}"] = pts
            rows.append({"method": name, "space": space, "final_psnr": pts[-1][1], "seconds_total": pts[-1][0],
                         **{f"reach_{t:g}": first_reach(pts, t) for t in a.targets}})
    head = "| method | space | " + " | ".join(f"to {t:g} dB: s / iters" for t in a.targets) + " | final PSNR | s total |"
    print(head)
    print("|" + "---|" * (4 + len(a.targets)))
    for r in rows:
        cells = []
        for t in a.targets:
            s, k = r[f"reach_{t:g}"]
            cells.append("-" if s is None else f"{s:.2f} / {k}")
        print(f"| {r['method']} | {r['space']} | " + " | ".join(cells) + f" | {r['final_psnr']:.2f} | {r['seconds_total']:.2f} |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"rows": rows, "curves": curves, "images": a.images, "steps": a.steps}, f)
    if a.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        for label, pts in curves.items():
            ax.plot([t for t, _ in pts], [p for _, p in pts], label=label)
        for r in rows:
            if r["method"] == "encoder":
                ax.scatter([r["seconds_total"]], [r["final_psnr"]], marker="x", label=f"encoder {r['space']}")
        ax.set_xlabel("seconds per image (1 CPU thread)")
        ax.set_ylabel("reconstruction PSNR (dB)")
        ax.legend()
        fig.tight_layout()
        fig.savefig(a.plot, dpi=120)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
