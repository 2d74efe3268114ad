"""Train the bundled CycleGAN on the known-answer unpaired task (photo <-> graded photo).

    python -m zoo_translation.train_cyclegan --steps 4000 --out zoo_translation/weights/cyclegan-grade-samples.safetensors

CycleGAN (Zhu et al. 2017, arXiv:1703.10593): two ResNet generators (official layout,
instance norm, transposed-conv upsampling) and two PatchGAN discriminators, LSGAN losses,
cycle loss weight 10, a pool of 50 past fakes for the discriminators, Adam(2e-4, betas
0.5 / 0.999), N(0, 0.02) init, as upstream. Differences, for a CPU budget: ``ngf=12``,
``n_blocks=3``, discriminators with ``ndf=16`` and 2 layers, 32 x 32 patches, and no identity loss (upstream's 0.5 asks G_A(b) = b, which
is wrong for a colour grade: grading an already graded photo changes it).

Data (``zoo_translation.data.graded``): domain A = left halves of the train photos, domain B
= :func:`zoo_translation.data.grade` of the right halves: no pair is ever seen. The result
is written as one file holding both generators (keys ``AtoB.*`` and ``BtoA.*``, each in the
official layout). Deterministic for a seed and thread count (one thread).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from zoo.datasets.samples import random_patches
from zoo.weights import save_state_dict
from zoo_translation.data import graded
from zoo_translation.networks import NLayerDiscriminator, UnetGenerator
from zoo_translation.training import gan_loss, init_weights

NUM_DOWNS, NGF, NDF = 5, 12, 16


class ImagePool:
    """Upstream's history of generated images: half the time the discriminator sees an old fake."""

    def __init__(self, size: int, gen: torch.Generator) -> None:
        self.size, self.gen, self.images = size, gen, []

    def query(self, batch: torch.Tensor) -> torch.Tensor:
        out = []
        for img in batch.detach():
            if len(self.images) < self.size:
                self.images.append(img)
                out.append(img)
            elif torch.rand(1, generator=self.gen) < 0.5:
                i = int(torch.randint(self.size, (1,), generator=self.gen))
                out.append(self.images[i])
                self.images[i] = img
            else:
                out.append(img)
        return torch.stack(out)


def train(steps: int = 4000, minutes: float = 11.5, batch: int = 4, patch: int = 32, lr: float = 5e-4,
          lambda_cycle: float = 10.0, seed: int = 0, log_every: int = 100, stop_at: int | None = None) -> tuple[dict[str, UnetGenerator], int]:
    """Returns {"AtoB": G_A, "BtoA": G_B} (eval mode) and the number of steps run."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    dom_a = [it.image * 2 - 1 for it in graded("train-A")]
    dom_b = [it.image * 2 - 1 for it in graded("train-B")]
    g_ab = init_weights(UnetGenerator(num_downs=NUM_DOWNS, ngf=NGF, dropout=False))
    g_ba = init_weights(UnetGenerator(num_downs=NUM_DOWNS, ngf=NGF, dropout=False))
    d_a = init_weights(NLayerDiscriminator(3, ndf=NDF, n_layers=2, norm="batch"))  # real A vs G_BA(b)
    d_b = init_weights(NLayerDiscriminator(3, ndf=NDF, n_layers=2, norm="batch"))  # real B vs G_AB(a)
    opt_g = torch.optim.Adam([*g_ab.parameters(), *g_ba.parameters()], lr=lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam([*d_a.parameters(), *d_b.parameters()], lr=lr, betas=(0.5, 0.999))
    pool_a, pool_b = ImagePool(50, gen), ImagePool(50, gen)
    t0 = time.time()
    step = 0
    while step < (stop_at or steps) and time.time() - t0 < minutes * 60:
        step += 1
        for opt in (opt_g, opt_d):
            for group in opt.param_groups:
                group["lr"] = lr * min(1.0, 2.0 * (1 - step / steps))  # linear decay over the second half
        a = random_patches(dom_a, batch, patch, gen)
        b = random_patches(dom_b, batch, patch, gen)
        fake_b, fake_a = g_ab(a), g_ba(b)
        rec_a, rec_b = g_ba(fake_b), g_ab(fake_a)
        for p in [*d_a.parameters(), *d_b.parameters()]:
            p.requires_grad_(False)
        opt_g.zero_grad()
        adv = gan_loss(d_b(fake_b), True, "lsgan") + gan_loss(d_a(fake_a), True, "lsgan")
        cyc = (rec_a - a).abs().mean() + (rec_b - b).abs().mean()
        loss_g = adv + lambda_cycle * cyc
        loss_g.backward()
        opt_g.step()
        for p in [*d_a.parameters(), *d_b.parameters()]:
            p.requires_grad_(True)
        opt_d.zero_grad()
        loss_d = 0.0
        for d, real, fake in ((d_b, b, pool_b.query(fake_b)), (d_a, a, pool_a.query(fake_a))):
            loss_d = loss_d + 0.5 * (gan_loss(d(real), True, "lsgan") + gan_loss(d(fake), False, "lsgan"))
        loss_d.backward()
        opt_d.step()
        if step % log_every == 0:
            print(f"step {step}/{steps} D {float(loss_d.detach()):.3f} G_adv {adv.item():.3f} cycle {cyc.item():.4f} "
                  f"({time.time() - t0:.0f}s)", file=sys.stderr, flush=True)
    print(f"stopped after {step} steps, {time.time() - t0:.0f}s", file=sys.stderr, flush=True)
    return {"AtoB": g_ab.eval(), "BtoA": g_ba.eval()}, step


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=4000)
    p.add_argument("--minutes", type=float, default=11.5)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--stop-at", type=int, default=None,
                   help="stop after this many steps (the learning-rate schedule still follows --steps); "
                        "reproduces a run that the --minutes guard stopped early")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=str(Path(__file__).parent / "weights" / "cyclegan-grade-samples.safetensors"))
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    gens, _ = train(steps=a.steps, minutes=a.minutes, batch=a.batch, seed=a.seed, stop_at=a.stop_at)
    state = {f"{d}.{k}": v for d, g in gens.items() for k, v in g.state_dict().items()}
    digest = save_state_dict(state, a.out)
    print(f"wrote {a.out}\nsha256: {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
