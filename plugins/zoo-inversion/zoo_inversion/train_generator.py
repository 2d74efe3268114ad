"""Train the offline StyleGAN2 generator (32 x 32) on the lfw_subset faces.

    python -m zoo_inversion.train_generator --steps 900 --out zoo_inversion/weights/stylegan2-lfw32.safetensors

The generator is trained as the decoder of a variational auto-encoder (Kingma and Welling,
"Auto-Encoding Variational Bayes", ICLR 2014, arXiv:1312.6114) with an adversarial term on
samples from the prior, in the spirit of VAE-GAN (Larsen et al., ICML 2016,
arXiv:1512.09300): z ~ q(z|x) goes through the mapping and synthesis networks with fresh
noise; the loss is the Gaussian reconstruction term plus KL(q(z|x) || N(0, I)), plus the
non-saturating GAN loss (Goodfellow et al. 2014) of G(z ~ N(0, I)) against a small
discriminator trained with R1 (Mescheder et al., ICML 2018, arXiv:1801.04406).

Why both: a pure GAN does not converge reliably in a few CPU minutes; a pure VAE on 90
faces lets the posteriors shrink to small caps of the z sphere, and z ~ N(0, I) then
decodes to colour blobs (seen with sigma 0.1 and 0.35, no adversarial term). The
reconstruction anchors the generator; the adversarial term makes prior samples faces.

Deterministic for a given seed and thread count. Writes the generator in the rosinality
layout (``noises.noise_i`` included) plus ``latent_avg``, and prints the sha256 for the
catalog, the wall time and (``--grid``) the path of a sample grid.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from zoo.weights import save_state_dict
from zoo_inversion.offline import Encoder, from_pm1, image_grid, lfw_faces, offline_generator, to_pm1

WEIGHTS = Path(__file__).parent / "weights"


def critic(width: int = 32) -> nn.Module:
    """A small convolutional discriminator for 32 x 32 images (used only during training)."""
    w = width
    return nn.Sequential(
        nn.Conv2d(3, w, 3, padding=1), nn.LeakyReLU(0.2),
        nn.Conv2d(w, 2 * w, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(2 * w, 4 * w, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(4 * w, 4 * w, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(4 * w * 16, 1),
    )


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random horizontal flips and shifts of up to 2 px (reflect-padded)."""
    flip = torch.rand(x.shape[0], generator=gen) < 0.5
    x = torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)
    dy, dx = (int(v) for v in torch.randint(0, 5, (2,), generator=gen))
    return F.pad(x, (2, 2, 2, 2), mode="reflect")[..., dy: dy + x.shape[-2], dx: dx + x.shape[-1]]


def train(steps: int = 900, batch: int = 16, lr: float = 2e-3, sigma: float = 0.5, adv_weight: float = 0.1,
          r1_gamma: float = 1.0, seed: int = 0, log_every: int = 100):
    """Returns (generator, vae_encoder, latent_avg)."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    data = to_pm1(lfw_faces("train"))
    g, enc, disc = offline_generator(), Encoder(vae=True), critic()
    opt = torch.optim.Adam([*g.parameters(), *enc.parameters()], lr=lr, betas=(0.5, 0.99))
    opt_d = torch.optim.Adam(disc.parameters(), lr=lr, betas=(0.0, 0.99))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps, eta_min=lr * 0.05)
    pixels = data[0].numel()
    t0 = time.time()
    for step in range(1, steps + 1):
        x = augment(data[torch.randint(len(data), (batch,), generator=gen)], gen)
        # VAE step for encoder + generator, plus the adversarial term on prior samples
        h = enc.features(x)
        mu, logvar = enc.z(h), enc.logvar(h).clamp(-8, 4)
        z = mu + torch.randn(mu.shape, generator=gen) * (0.5 * logvar).exp()
        y = g.synthesis(g.mapping(z).unsqueeze(1).expand(-1, g.n_latent, -1), noise="random")
        rec = ((y - x) ** 2).flatten(1).sum(1) / (2 * sigma ** 2)
        kl = 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).sum(1)
        z_prior = torch.randn(batch, g.style_dim, generator=gen)
        fake = g.synthesis(g.mapping(z_prior).unsqueeze(1).expand(-1, g.n_latent, -1), noise="random")
        adv = F.softplus(-disc(fake)).mean()
        loss = (rec.mean() + kl.mean()) / pixels + adv_weight * adv
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        # discriminator step: non-saturating logistic loss with R1 on the reals
        real = x.detach().requires_grad_(True)
        d_real = disc(real)
        (grad,) = torch.autograd.grad(d_real.sum(), real, create_graph=True)
        loss_d = (F.softplus(disc(fake.detach())).mean() + F.softplus(-d_real).mean()
                  + 0.5 * r1_gamma * grad.pow(2).flatten(1).sum(1).mean())
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        if step % log_every == 0 or step == steps:
            mse = ((y - x) ** 2).mean().item() / 4
            print(f"step {step}/{steps} rec-psnr {-10 * torch.log10(torch.tensor(mse)).item():.2f} dB kl {kl.mean().item():.1f}"
                  f" adv {adv.item():.3f} d {loss_d.item():.3f} ({time.time() - t0:.0f}s)", file=sys.stderr, flush=True)
    g.eval()
    return g, enc.eval(), g.mean_latent(4096, seed=seed)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--steps", type=int, default=900)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(WEIGHTS / "stylegan2-lfw32.safetensors"))
    p.add_argument("--grid", default=None, help="write a PNG grid of 32 samples (z ~ N(0, I), stored noise)")
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    t0 = time.time()
    g, _, latent_avg = train(steps=a.steps, batch=a.batch, seed=a.seed)
    state = {**g.state_dict(), "latent_avg": latent_avg[0]}
    digest = save_state_dict(state, a.out)
    print(f"wrote {a.out}\nsha256: {digest}\nwall: {time.time() - t0:.0f}s")
    if a.grid:
        from zoo.images import write_image

        with torch.no_grad():
            z = torch.randn(32, g.style_dim, generator=torch.Generator().manual_seed(123))
            write_image(a.grid, image_grid(from_pm1(g(z, noise="const"))))
        print(f"grid: {a.grid}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
