"""Train the bundled ESPCN x4 on patches of the embedded photographs' train split.

    python -m zoo_superres.train_espcn --steps 3000 --out weights/espcn-x4-samples.safetensors

Deterministic for a given seed and thread count (torch.manual_seed + fixed patch sampler).
Prints the sha256 to put in the catalog entry.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from zoo.datasets.degrade import bicubic_down
from zoo.datasets.samples import random_patches, samples
from zoo.weights import save_state_dict
from zoo_superres.espcn import ESPCN


def train(steps: int = 3000, batch: int = 16, patch: int = 96, scale: int = 4, lr: float = 1e-3, seed: int = 0,
          log_every: int = 100) -> ESPCN:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    images = [item.image for item in samples("train")]
    model = ESPCN(scale=scale)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    t0 = time.time()
    for step in range(1, steps + 1):
        hr = random_patches(images, batch, patch, gen)
        lr_img, hr = bicubic_down(hr, scale)
        loss = torch.nn.functional.l1_loss(model(lr_img), hr)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % log_every == 0 or step == steps:
            print(f"step {step}/{steps} l1 {loss.item():.5f} ({time.time() - t0:.0f}s)", file=sys.stderr, flush=True)
    return model.eval()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(Path(__file__).parent / "weights" / "espcn-x4-samples.safetensors"))
    a = p.parse_args(argv)
    model = train(steps=a.steps, batch=a.batch, seed=a.seed)
    digest = save_state_dict(model.state_dict(), a.out)
    print(f"wrote {a.out}\nsha256: {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
