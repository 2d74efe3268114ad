"""Gatys style transfer speed: iterations per second of zoo_stylization's Gatys against
straightforward reference loops on the same feature network, in one run.

    uv run python benchmarks/perf/stylization.py [--size 512] [--steps 8] [--threads 1] [--net effnet-lite0]

All loops take the same Adam steps on a size x size image (a held-out photo as content, the
scikit-image ``ihc`` image as style) with the same loss (Gatys et al. CVPR 2016: Gram style
loss at the style layers, content loss at the content layer) and frozen network weights:

* ``reference (no caching)``: the straightforward loop the issue describes: every step runs the
  *whole* feature network on the image being optimised, on the style image and on the content
  image, and recomputes the style Grams and content features from them.
* ``reference (cached targets)``: as the PyTorch tutorial: style Grams and content features are
  computed once, but the whole feature network still runs on the image every step.
* ``ours``: ``zoo_stylization.gatys.Gatys``: targets cached, the network stops after the deepest
  layer used, BatchNorm folded into the convolutions (EfficientNet-Lite0: the same function up to
  float rounding); also without the folding and with channels-last tensors, to show what each
  change brings. The references run the network as it is (BatchNorm not folded).

Timing depends only on shapes, not weight values, so ``--net vgg19`` times VGG-19 with
seeded random weights (its official file is not on this machine).
Prints a Markdown table (seconds per step, iterations per second, speed-up over each reference).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F


def _images(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    from zoo.datasets.samples import SAMPLES
    from zoo.images import read_image
    from zoo_stylization.datasets import style_image

    c = read_image(SAMPLES["heldout"]["chelsea"])[None]
    c = F.interpolate(c, size=(size, size), mode="bicubic", antialias=True, align_corners=False).clamp(0, 1)
    return c, style_image("ihc", size)[None]


def reference_loop(net, content, style, steps: int, ratio: float, cache: bool) -> list[float]:
    """Adam steps with the whole network each step; targets recomputed each step unless ``cache``."""
    from zoo_stylization.features import gram
    from zoo_stylization.gatys import content_loss, style_loss

    layers = list(dict.fromkeys([*net.style_layers, net.content_layer]))
    weights = {n: 1.0 / len(net.style_layers) for n in net.style_layers}

    def targets():
        fs = net(style, layers, full=True)
        fc = net(content, layers, full=True)
        return {n: gram(fs[n]) for n in net.style_layers}, fc[net.content_layer]

    with torch.no_grad():
        cached = targets()
    x = content.clone().requires_grad_(True)
    opt = torch.optim.Adam([x], lr=0.02)
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        grams, cf = cached if cache else targets()
        feats = net(x, layers, full=True)
        loss = style_loss({n: gram(feats[n]) for n in net.style_layers}, grams, weights)
        loss = loss + ratio * content_loss(feats[net.content_layer], cf.detach())
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    return times


def ours(gatys, content, style) -> list[float]:
    gatys.stylize(content, style)  # fills the style-Gram cache; the timed call below reuses it, as repeated calls do
    gatys.stylize(content, style)
    return [gatys.stats["s_per_eval"]]  # median seconds per loss + gradient evaluation (= Adam step)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--net", default="effnet-lite0", choices=["effnet-lite0", "vgg19"])
    p.add_argument("--ratio", type=float, default=1e-3)
    p.add_argument("--rounds", type=int, default=3, help="interleaved repetitions; the fastest round counts (shared CPUs)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    from zoo_stylization.gatys import Gatys

    content, style = _images(a.size)
    from zoo_stylization.features import EffNetLite0Features

    make = lambda cl: Gatys(net=a.net, optimizer="adam", iterations=a.steps, ratio=a.ratio, size=None, channels_last=cl)
    g = make(False)
    if a.net == "vgg19":  # shapes decide the speed; seeded random weights stand in for the official file
        gen = torch.Generator().manual_seed(0)
        g.load_weights({k: torch.randn(v.shape, generator=gen) * 0.01 for k, v in g.net.state_dict().items()})
        plain = g.net
    else:
        plain = EffNetLite0Features(fuse_bn=False)
    loops = {
        "reference (no caching)": lambda: reference_loop(plain, content, style, a.steps, a.ratio, cache=False),
        "reference (cached targets)": lambda: reference_loop(plain, content, style, a.steps, a.ratio, cache=True),
        "ours": lambda: ours(g, content, style),
    }
    if a.net == "effnet-lite0":
        g_plain = make(False)
        g_plain.net = plain
        loops["ours, BatchNorm not folded"] = lambda: ours(g_plain, content, style)
    g_cl = make(True)
    g_cl.net = g.net
    loops["ours, channels-last"] = lambda: ours(g_cl, content, style)
    per: dict[str, float] = {}
    for _ in range(a.rounds):  # interleaved, so a burst of load on the machine hits every loop alike
        for name, run in loops.items():
            per[name] = min(per.get(name, float("inf")), statistics.median(run()))
    print(f"Gatys on {a.size}x{a.size}, {a.net}, Adam, {a.steps} steps x {a.rounds} rounds (median step of the fastest round), "
          f"{a.threads} thread(s), torch {torch.__version__}\n")
    print("| loop | s / step | it/s | vs reference (no caching) | vs reference (cached targets) |")
    print("|---|---|---|---|---|")
    for name, s in per.items():
        print(f"| {name} | {s:.3f} | {1 / s:.2f} | {per['reference (no caching)'] / s:.2f}x | {per['reference (cached targets)'] / s:.2f}x |")


if __name__ == "__main__":
    main()
