"""Train the encoder of the offline generator (z, w and w+ heads) against the fixed generator.

    python -m zoo_inversion.train_encoder --init ae-encoder.safetensors \\
        --out zoo_inversion/weights/encoder-lfw32.safetensors

Start: the auto-encoder's encoder that :mod:`zoo_inversion.train_generator` trained with the
generator (``--encoder-out``). Its w head predicts the pre-activation code u that the
generator's closed-form mapping produces, so the heads start consistent with the generator:
w and w+ from u (w+ as the same code at every layer), z from u through the inverse of the
mapping's Gaussian map, z = L^-1 (u - mu).

Fine-tuning: each step mixes generated images, whose latents are known (latent regression,
as in Zhu et al., ECCV 2016, arXiv:1609.03552), and real training faces (reconstruction
through the frozen generator with its stored noise, as in pSp, Richardson et al., CVPR 2021,
arXiv:2008.00951). Loss per head: pixel MSE of G(E(x)) against the real faces plus the
latent MSE on the generated ones. Deterministic for a given seed and thread count.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from zoo.weights import load_state_dict, save_state_dict
from zoo_inversion.offline import Encoder, lfw_faces, offline_generator, to_pm1
from zoo_inversion.stylegan2 import SQRT2, EqualLinear, StyleGAN2Generator

WEIGHTS = Path(__file__).parent / "weights"


def mapping_gaussian(g: StyleGAN2Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(mu, L) of a mapping network set in closed form by ``train_generator.set_mapping``."""
    layers = [m for m in g.style if isinstance(m, EqualLinear)]
    eff = [(m.weight * m.scale, m.bias * m.lr_mul) for m in layers]
    eye = torch.eye(g.style_dim) / SQRT2
    c = -eff[-1][1]
    closed_form = len(layers) >= 2 and all(torch.allclose(w, eye, atol=1e-5) for w, _ in eff[1:]) \
        and torch.allclose(c, c[:1].expand_as(c), atol=1e-4)
    if not closed_form:
        raise ValueError("train_encoder: the generator's mapping network is not the closed-form Gaussian map that "
                         "train_generator writes (middle layers I/sqrt(2), a constant shift); pass a generator "
                         "trained by python -m zoo_inversion.train_generator")
    return eff[0][1] - c, eff[0][0]


@torch.no_grad()
def init_heads(enc: Encoder, g: StyleGAN2Generator) -> None:
    """z and w+ heads from the auto-encoder's w head (see the module docstring)."""
    mu, chol = mapping_gaussian(g)
    inv = torch.linalg.inv(chol)
    enc.z.weight.copy_(inv @ enc.w.weight)
    enc.z.bias.copy_(inv @ (enc.w.bias - mu))
    enc.wplus.weight.copy_(enc.w.weight.repeat(enc.n_latent, 1))
    enc.wplus.bias.copy_(enc.w.bias.repeat(enc.n_latent))


def train(generator_path: str, init_path: str | None, steps: int = 150, batch: int = 16, lr: float = 5e-4,
          seed: int = 0, latent_weight: float = 0.1, log_every: int = 25) -> Encoder:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    g = offline_generator()
    state = load_state_dict(generator_path)
    g.load_state_dict({k: v for k, v in state.items() if k != "latent_avg"})
    g.eval().requires_grad_(False)
    real = to_pm1(lfw_faces("train"))
    enc = Encoder()
    if init_path:
        enc.load_state_dict(load_state_dict(init_path))
        init_heads(enc, g)
    opt = torch.optim.Adam(enc.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps, eta_min=lr * 0.05)
    half = batch // 2
    t0 = time.time()
    for step in range(1, steps + 1):
        z = torch.randn(half, g.style_dim, generator=gen)
        with torch.no_grad():
            w = g.mapping(z)
            fake = g.synthesis(w.unsqueeze(1).expand(-1, g.n_latent, -1), "const")
            z_target = z * torch.rsqrt(z.pow(2).mean(1, keepdim=True))  # the mapping sees pixelnorm(z)
        x = real[torch.randint(len(real), (batch - half,), generator=gen)]
        loss = 0.0
        logs = []
        for space in ("z", "w", "w+"):
            code_fake, code_real = enc(fake, space), enc(x, space)
            target = {"z": z_target, "w": w, "w+": w.unsqueeze(1).expand(-1, g.n_latent, -1)}[space]
            wp = (g.mapping(code_real).unsqueeze(1).expand(-1, g.n_latent, -1) if space == "z" else
                  code_real.unsqueeze(1).expand(-1, g.n_latent, -1) if space == "w" else code_real)
            rec = (g.synthesis(wp, "const") - x).pow(2).mean()
            lat = (code_fake - target).pow(2).mean()
            loss = loss + rec + latent_weight * lat
            logs.append(f"{space}: real rec-psnr {-10 * torch.log10(rec.detach() / 4).item():.2f} latent-mse {lat.item():.3f}")
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % log_every == 0 or step == steps:
            print(f"step {step}/{steps} " + ", ".join(logs) + f" ({time.time() - t0:.0f}s)", file=sys.stderr, flush=True)
    return enc.eval()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--generator", default=str(WEIGHTS / "stylegan2-lfw32.safetensors"))
    p.add_argument("--init", default=None, help="the auto-encoder's encoder written by train_generator --encoder-out")
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=str(WEIGHTS / "encoder-lfw32.safetensors"))
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    t0 = time.time()
    enc = train(a.generator, a.init, steps=a.steps, batch=a.batch, seed=a.seed)
    digest = save_state_dict(enc.state_dict(), a.out)
    print(f"wrote {a.out}\nsha256: {digest}\nwall: {time.time() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
