"""Train the bundled fast-neural-style network for one package-shipped style image.

    python -m zoo_stylization.train_fast_style --steps 650 --out zoo_stylization/weights/fast-style-ihc-samples.safetensors

Johnson et al. (ECCV 2016, arXiv:1603.08155) training with the offline EfficientNet-Lite0 as
the loss network (not VGG-16): content loss = mean squared difference at ``stage1``; style loss
= Σ_l mean squared difference of position-normalised Grams at ``stem, stage1, stage2, stage3``
against the style image; plus a small total-variation term. Content images are random patches
of the embedded photographs' train split; the style image is scikit-image's ``ihc.png``.
Deterministic for a given seed with one thread (torch.manual_seed + the seeded patch sampler).
Prints the sha256 to pin in the catalog entry.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from zoo.datasets.samples import random_patches, samples
from zoo.weights import save_state_dict
from zoo_stylization.datasets import style_image
from zoo_stylization.features import EffNetLite0Features, gram
from zoo_stylization.transformer import TransformerNet

STYLE_LAYERS = ("stem", "stage1", "stage2", "stage3")
CONTENT_LAYER = "stage1"


def train(steps: int = 650, batch: int = 4, patch: int = 96, style: str = "ihc", style_size: int = 256,
          style_weight: float = 0.02, tv_weight: float = 1e-5, lr: float = 3e-3, seed: int = 0,
          widths: tuple[int, int, int] = (16, 32, 64), blocks: int = 3, log_every: int = 50) -> TransformerNet:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    images = [item.image for item in samples("train")]
    net = EffNetLite0Features(fuse_bn=False)  # as the bundled weights were trained (folding changes rounding)
    model = TransformerNet(widths=widths, blocks=blocks)
    with torch.no_grad():  # the net works in 0-255: start from mid-grey with a usable contrast, not from ~0
        model.deconv3.conv2d.weight.mul_(64.0)
        model.deconv3.conv2d.bias.fill_(127.5)
    with torch.no_grad():
        sf = net(style_image(style, style_size)[None], STYLE_LAYERS)
        targets = {n: gram(sf[n]) for n in STYLE_LAYERS}
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    layers = list(dict.fromkeys([*STYLE_LAYERS, CONTENT_LAYER]))
    t0 = time.time()
    for step in range(1, steps + 1):
        x = random_patches(images, batch, patch, gen)
        y = model(x)
        fy = net(y, layers)
        with torch.no_grad():
            fx = net(x, [CONTENT_LAYER])[CONTENT_LAYER]
        content = (fy[CONTENT_LAYER] - fx).pow(2).mean()
        style_l = sum((gram(fy[n]) - targets[n]).pow(2).mean() for n in STYLE_LAYERS)
        tv = (y[..., 1:, :] - y[..., :-1, :]).abs().mean() + (y[..., 1:] - y[..., :-1]).abs().mean()
        loss = content + style_weight * style_l + tv_weight * tv * 255
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % log_every == 0 or step == steps:
            print(f"step {step}/{steps} content {content.item():.4f} style {style_l.item():.5f} "
                  f"({time.time() - t0:.0f}s)", file=sys.stderr, flush=True)
    return model.eval()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=650)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=str(Path(__file__).parent / "weights" / "fast-style-ihc-samples.safetensors"))
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    t0 = time.time()
    model = train(steps=a.steps, batch=a.batch, seed=a.seed)
    digest = save_state_dict(model.state_dict(), a.out)
    print(f"wrote {a.out} ({time.time() - t0:.0f}s)\nsha256: {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
