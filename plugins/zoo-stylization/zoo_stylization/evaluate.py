"""Held-out comparison of the stylizers that run offline, against the colour baselines.

    python -m zoo_stylization.evaluate [--crop 256] [--styles ihc hubble] [--gatys-iterations 50]

Content: the held-out embedded photos (never used in training); styles: package-shipped images
(``ihc`` is the bundled fast-style network's style; neither ``ihc`` nor ``hubble`` was a style
in the AdaIN decoder's training). Prints a Markdown table of mean style-distance,
content-distance (EfficientNet-Lite0 features) and colour-histogram distance per method and style.
The harness does this too once it passes ``style`` and ``input`` to metrics; this script
needs nothing beyond the plugin.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import torch

import zoo
from zoo.images import quantize


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--crop", type=int, default=256)
    p.add_argument("--styles", nargs="+", default=["ihc", "hubble"])
    p.add_argument("--gatys-iterations", type=int, default=50)
    p.add_argument("--gatys-ratios", type=float, nargs="+", default=[1e-4])
    p.add_argument("--methods", nargs="+", default=None, help="only these method ids (default: all)")
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    methods = [("reinhard.classical", {}), ("histmatch.classical", {})]
    methods += [("gatys-effnet-lite0.imagenet", {"ratio": r, "iterations": a.gatys_iterations, "size": a.crop}) for r in a.gatys_ratios]
    methods += [("fast-style-ihc.samples", {}), ("adain-effnet-lite0.samples", {"alpha": 1.0}),
                ("adain-effnet-lite0.samples", {"alpha": 0.5})]
    if a.methods:
        methods = [(m, s) for m, s in methods if m in a.methods]
    metrics = {"style": zoo.metric("style-distance"), "content": zoo.metric("content-distance"),
               "colour": zoo.metric("color-hist-distance")}
    print("| method | style | n | style-distance ↓ | content-distance ↓ | color-hist-distance ↓ | s / image |")
    print("|---|---|---|---|---|---|---|")
    for style in a.styles:
        ds = zoo.dataset("samples-style", styles=[style], crop=a.crop, style_size=a.crop)
        items = list(ds)
        for mid, setting in methods:
            if mid == "fast-style-ihc.samples" and style != "ihc":
                continue  # a single-style network: only its own style is a fair comparison
            m = zoo.load(mid, **setting)
            vals = {k: [] for k in metrics}
            t = 0.0
            for it in items:
                x, s = it.image[None], it.extras["style"][None]
                t0 = time.perf_counter()
                y = quantize(m.stylize(x, s))
                t += time.perf_counter() - t0
                vals["style"].append(float(metrics["style"](y, style=s)))
                vals["content"].append(float(metrics["content"](y, input=x)))
                vals["colour"].append(float(metrics["colour"](y, style=s)))
            mean = {k: sum(v) / len(v) for k, v in vals.items()}
            label = f"`{mid}`" + (f" `{json.dumps(setting, separators=(',', ':'))}`" if setting else "")
            print(f"| {label} | {style} | {len(items)} | {mean['style']:.2f} | {mean['content']:.4f} | {mean['colour']:.4f} | "
                  f"{t / len(items):.2f} |", flush=True)
        # the identity (content returned as is) anchors both distances
        vals = [(float(metrics["style"](it.image[None], style=it.extras["style"][None])),
                 float(metrics["colour"](it.image[None], style=it.extras["style"][None]))) for it in items]
        print(f"| content itself | {style} | {len(items)} | {sum(v[0] for v in vals) / len(vals):.2f} | 0 | "
              f"{sum(v[1] for v in vals) / len(vals):.4f} | 0 |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
