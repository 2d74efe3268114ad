"""Train the bundled AdaIN decoder on the offline EfficientNet-Lite0 encoder.

    python -m zoo_stylization.train_adain --out zoo_stylization/weights/adain-effnet-lite0-samples.safetensors

Huang and Belongie (ICCV 2017, arXiv:1703.06868) training: the encoder (EfficientNet-Lite0 up
to ``stage1``, 24 channels at 1/4) is fixed; the decoder learns to invert t = AdaIN(f(c), f(s))
so that f(decoder(t)) ≈ t (content loss) while the channel means and stds of the output's
``stem``, ``stage1`` and ``stage2`` features match the style's (style loss, weight λ = 3), plus
two terms the paper does not need with VGG and 80k COCO images but this tiny set does: the
decoder must also reconstruct the content from f(c) in pixels (L1, weight 10), and a total
variation term (0.1) damps the stride artefacts.

The first bundled decoder (``stage2``: 40 channels at 1/8, λ = 10, no reconstruction term, 900
steps) could not reconstruct even the content (alpha = 0 gave streaks and checkerboards) and its
output had a content distance equal to a constant image's; ``style-distance`` with Gatys's
unnormalised Grams ranked it best. This one keeps the content recognisable (see the README).
Content and style images are random patches of the embedded photographs' train split; the
style patches leave out ``ihc`` and ``hubble`` so that those two stay unseen styles for the
evaluation. Deterministic for a given seed with one thread. Prints the sha256 to pin.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from zoo.datasets.samples import random_patches, samples
from zoo.weights import save_state_dict
from zoo_stylization.adain import AdaINLite, adain, mean_std
from zoo_stylization.features import EffNetLite0Features

STYLE_LAYERS = ("stem", "stage1", "stage2")
HELD_OUT_STYLES = ("ihc", "hubble")
WIDTHS = (64, 32, 16)


def train(steps: int = 600, batch: int = 4, patch: int = 96, style_weight: float = 3.0, lr: float = 2e-3,
          seed: int = 0, log_every: int = 50, rec_weight: float = 10.0, tv_weight: float = 0.1,
          layer: str = "stage1") -> AdaINLite:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    train_items = list(samples("train"))
    contents = [it.image for it in train_items]
    styles = [it.image for it in train_items if it.id not in HELD_OUT_STYLES]
    model = AdaINLite(widths=WIDTHS, layer=layer)
    enc = EffNetLite0Features(fuse_bn=False)  # as the bundled weights were trained (folding changes rounding)
    with torch.no_grad():
        model.decoder.body[-1].bias.fill_(0.45)  # start near mid-grey
    opt = torch.optim.Adam(model.decoder.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    t0 = time.time()
    for step in range(1, steps + 1):
        c = random_patches(contents, batch, patch, gen)
        s = random_patches(styles, batch, patch, gen)
        with torch.no_grad():
            fs = enc(s, STYLE_LAYERS)
            fc = enc(c, [layer])[layer]
            t = adain(fc, fs[layer])
        g = model.decoder(t)
        fg = enc(g, STYLE_LAYERS)
        content = (fg[layer] - t).pow(2).mean()
        style_l = 0.0
        for n in STYLE_LAYERS:
            gm, gs = mean_std(fg[n])
            sm, ss = mean_std(fs[n])
            style_l = style_l + (gm - sm).pow(2).mean() + (gs - ss).pow(2).mean()
        loss = content + style_weight * style_l
        if rec_weight:
            rec = (model.decoder(fc) - c).abs().mean()
            loss = loss + rec_weight * rec
        if tv_weight:
            loss = loss + tv_weight * ((g[..., 1:, :] - g[..., :-1, :]).abs().mean() + (g[..., 1:] - g[..., :-1]).abs().mean())
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % log_every == 0 or step == steps:
            print(f"step {step}/{steps} content {content.item():.4f} style {float(style_l.detach()):.4f} ({time.time() - t0:.0f}s)",
                  file=sys.stderr, flush=True)
    return model.eval()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--style-weight", type=float, default=3.0)
    p.add_argument("--rec-weight", type=float, default=10.0, help="pixel L1 of decoder(f(content)) vs content")
    p.add_argument("--tv-weight", type=float, default=0.1)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--layer", default="stage1", choices=["stage1", "stage2"])
    p.add_argument("--out", default=str(Path(__file__).parent / "weights" / "adain-effnet-lite0-samples.safetensors"))
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    t0 = time.time()
    model = train(steps=a.steps, batch=a.batch, seed=a.seed, style_weight=a.style_weight, rec_weight=a.rec_weight,
                  tv_weight=a.tv_weight, lr=a.lr, layer=a.layer)
    digest = save_state_dict(model.weights_state_dict(), a.out)
    print(f"wrote {a.out} ({time.time() - t0:.0f}s)\nsha256: {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
