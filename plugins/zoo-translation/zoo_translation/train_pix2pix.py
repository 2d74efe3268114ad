"""Train the bundled pix2pix (photo -> pencil sketch) on the embedded photographs' train split.

    python -m zoo_translation.train_pix2pix --steps 2500 --out zoo_translation/weights/pix2pix-sketch-samples.safetensors

pix2pix (Isola et al. 2017, arXiv:1611.07004): U-Net generator (official layout, batch
norm, dropout) and PatchGAN discriminator on (condition, image) pairs, loss
``cGAN (vanilla) + 100 * L1``, Adam(betas 0.5 / 0.999), N(0, 0.02) init, as upstream.
Differences, for a CPU budget: ``num_downs=6``, ``ngf=12`` (4.1 MB), discriminator
``ndf=32``, batches of 4 random 64 x 64 patches, learning rate 5e-4 (upstream 2e-4) with
linear decay over the second half. The task is :func:`zoo_translation.data.sketch` of
the train photos. Deterministic for a seed and thread count (one thread). ``--minutes``
guards the wall time; ``--stop-at`` reproduces a run it stopped. Prints the sha256 to pin.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from zoo.datasets.samples import samples
from zoo.weights import save_state_dict
from zoo_translation.data import sketch
from zoo_translation.networks import NLayerDiscriminator, UnetGenerator
from zoo_translation.training import gan_loss, init_weights, paired_patches

NUM_DOWNS, NGF = 6, 12


def train(steps: int = 2500, minutes: float = 11.5, batch: int = 4, patch: int = 64, lr: float = 5e-4,
          lambda_l1: float = 100.0, seed: int = 0, log_every: int = 100, stop_at: int | None = None) -> tuple[UnetGenerator, int]:
    """Returns the trained generator (eval mode) and the number of steps run."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    photos = [item.image for item in samples("train")]
    pairs = [(x * 2 - 1, sketch(x) * 2 - 1) for x in photos]  # networks work in [-1, 1]
    G = init_weights(UnetGenerator(3, 3, num_downs=NUM_DOWNS, ngf=NGF, dropout=True))
    D = init_weights(NLayerDiscriminator(6, ndf=32, n_layers=3, norm="batch"))
    opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
    t0 = time.time()
    step = 0
    while step < (stop_at or steps) and time.time() - t0 < minutes * 60:
        step += 1
        # linear decay over the second half, as upstream's lr_policy=linear
        for opt in (opt_g, opt_d):
            for group in opt.param_groups:
                group["lr"] = lr * min(1.0, 2.0 * (1 - step / steps))
        x, y = paired_patches(pairs, batch, patch, gen)
        fake = G(x)
        opt_d.zero_grad()
        loss_d = 0.5 * (gan_loss(D(torch.cat([x, fake.detach()], 1)), False, "vanilla")
                        + gan_loss(D(torch.cat([x, y], 1)), True, "vanilla"))
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad()
        l1 = (fake - y).abs().mean()
        loss_g = gan_loss(D(torch.cat([x, fake], 1)), True, "vanilla") + lambda_l1 * l1
        loss_g.backward()
        opt_g.step()
        if step % log_every == 0:
            print(f"step {step}/{steps} D {loss_d.item():.3f} G {loss_g.item():.3f} L1 {l1.item():.4f} "
                  f"({time.time() - t0:.0f}s)", file=sys.stderr, flush=True)
    print(f"stopped after {step} steps, {time.time() - t0:.0f}s", file=sys.stderr, flush=True)
    return G.eval(), step


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=2500)
    p.add_argument("--minutes", type=float, default=11.5)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--stop-at", type=int, default=None,
                   help="stop after this many steps (the learning-rate schedule still follows --steps); "
                        "reproduces a run that the --minutes guard stopped early")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=str(Path(__file__).parent / "weights" / "pix2pix-sketch-samples.safetensors"))
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    G, _ = train(steps=a.steps, minutes=a.minutes, batch=a.batch, seed=a.seed, stop_at=a.stop_at)
    digest = save_state_dict(G.state_dict(), a.out)
    print(f"wrote {a.out}\nsha256: {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
