"""Train the offline StyleGAN2 generator (32 x 32) on the lfw_subset faces.

    python -m zoo_inversion.train_generator --out zoo_inversion/weights/stylegan2-lfw32.safetensors \\
        --encoder-out ae-encoder.safetensors --grid docs/samples.png

A regularised auto-encoder with an ex-post density (Ghosh et al., "From Variational to
Deterministic Autoencoders", ICLR 2020, arXiv:1903.12436), in three steps:

1. **Auto-encoder.** A small CNN encodes a face to a code u (64 dims); the StyleGAN2
   synthesis network decodes w = lrelu(u + sigma * eps) * sqrt(2) (the mapping network's
   output activation; the same w at every layer; fresh noise maps) back to the face. The
   noise on the code (fixed-variance posteriors, as in a VAE with a constant variance) and
   a small L2 penalty on u make the decoder smooth around and between the codes. Loss:
   pixel MSE + the code penalty; Adam, cosine decay; flips and 2-px shifts.
2. **Mapping network, in closed form.** The codes of the training faces and their mirror
   images are summarised by the Gaussian N(mu, C + sigma^2 I) (the moments of the aggregate
   posterior of step 1); the mapping network (PixelNorm + EqualLinear + leaky ReLU,
   rosinality layout) is set so that mapping(z) = lrelu(mu + L pixelnorm(z)) * sqrt(2)
   exactly, with L L^T = C + sigma^2 I (:func:`set_mapping`). So z ~ N(0, I) decodes to
   faces, w is the decoder's input, and w+ (8 codes) exists as in any StyleGAN2.
3. **Grey output.** The faces are grey: the ToRGB layers' three output rows are averaged
   (:func:`grey_output`), so every sample is grey.

Why not a GAN: an adversarial generator does not converge reliably in a few CPU minutes on
90 faces; the first version here (a VAE decoder with an adversarial term on prior samples,
900 steps) decoded z ~ N(0, I) to colour-tinted blobs. The auto-encoder converges in
minutes and the ex-post Gaussian puts the prior where the codes are.

Deterministic for a given seed and thread count (``--threads``, default 1). Writes the
generator in the rosinality layout (``noises.noise_i`` included) plus ``latent_avg``, and
prints the sha256 for the catalog and the wall time; ``--encoder-out`` also saves the
auto-encoder's encoder (the start of :mod:`zoo_inversion.train_encoder`), ``--grid`` a
grid of 32 samples.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from zoo.weights import save_state_dict
from zoo_inversion.offline import Encoder, from_pm1, image_grid, lfw_faces, offline_generator, to_pm1
from zoo_inversion.stylegan2 import SQRT2, EqualLinear, StyleGAN2Generator, fused_leaky_relu

WEIGHTS = Path(__file__).parent / "weights"


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random horizontal flips and shifts of up to 2 px (reflect-padded)."""
    flip = torch.rand(x.shape[0], generator=gen) < 0.5
    x = torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)
    dy, dx = (int(v) for v in torch.randint(0, 5, (2,), generator=gen))
    return F.pad(x, (2, 2, 2, 2), mode="reflect")[..., dy: dy + x.shape[-2], dx: dx + x.shape[-1]]


def broadcast(g: StyleGAN2Generator, w: torch.Tensor) -> torch.Tensor:
    return w.unsqueeze(1).expand(-1, g.n_latent, -1)


def train_autoencoder(g: StyleGAN2Generator, enc: Encoder, data: torch.Tensor, steps: int, batch: int, lr: float,
                      sigma: float, code_reg: float, gen: torch.Generator, log_every: int,
                      on_log: Callable[[int], None] | None = None) -> None:
    """Stage 1: encoder + synthesis network as a noisy-code auto-encoder (the mapping is not used)."""
    params = [p for n, p in g.named_parameters() if not n.startswith("style.")] + list(enc.parameters())
    opt = torch.optim.Adam(params, lr=lr, betas=(0.9, 0.99))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps, eta_min=lr * 0.02)
    t0 = time.time()
    for step in range(1, steps + 1):
        x = augment(data[torch.randint(len(data), (batch,), generator=gen)], gen)
        u = enc.w(enc.features(x))  # the pre-activation code
        w = fused_leaky_relu(u + sigma * torch.randn(u.shape, generator=gen))
        y = g.synthesis(broadcast(g, w), noise="random")
        mse = (y - x).pow(2).mean()
        loss = mse + code_reg * u.pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % log_every == 0 or step == steps:
            psnr = -10 * torch.log10(mse.detach() / 4).item()
            print(f"ae step {step}/{steps} rec-psnr {psnr:.2f} dB code-rms {u.detach().pow(2).mean().sqrt():.3f}"
                  f" ({time.time() - t0:.0f}s)", file=sys.stderr, flush=True)
            if on_log is not None:
                on_log(step)


@torch.no_grad()
def code_gaussian(enc: Encoder, data: torch.Tensor, sigma: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and Cholesky factor of the aggregate posterior's moments: codes of the faces and
    their mirror images, covariance + sigma^2 I."""
    both = torch.cat([data, data.flip(-1)])
    codes = enc.w(enc.features(both))
    mu = codes.mean(0)
    cov = torch.cov(codes.T) + sigma ** 2 * torch.eye(codes.shape[1])
    return mu, torch.linalg.cholesky(cov)


@torch.no_grad()
def set_mapping(g: StyleGAN2Generator, mu: torch.Tensor, chol: torch.Tensor) -> None:
    """Stage 2: set the mapping network in closed form so that mapping(z) = lrelu(mu + L * pixelnorm(z)) * sqrt(2).

    Every EqualLinear layer applies a leaky ReLU. After PixelNorm each component of z lies in
    [-sqrt(D), sqrt(D)], so a bias c > |mu| + sqrt(D) * max row norm of L keeps the first
    layer's pre-activations positive, where the leaky ReLU is linear; the middle layers pass
    them on (weights I / sqrt(2)) and the last one removes c, so its activation is applied to
    the code u = mu + L x exactly as the auto-encoder's decoder applied it.
    """
    layers = [m for m in g.style if isinstance(m, EqualLinear)]
    d = g.style_dim
    eye, zeros = torch.eye(d) / SQRT2, torch.zeros(d)
    if len(layers) == 1:
        effective = [(chol, mu)]
    else:
        c = float(mu.abs().max() + math.sqrt(d) * chol.norm(dim=1).max() + 1.0)
        effective = [(chol, mu + c)] + [(eye, zeros)] * (len(layers) - 2) + [(eye, torch.full((d,), -c))]
    for layer, (weight, bias) in zip(layers, effective):
        layer.weight.copy_(weight / layer.scale)
        layer.bias.copy_(bias / layer.lr_mul)


@torch.no_grad()
def grey_output(g: StyleGAN2Generator) -> None:
    """Average the three output rows of every ToRGB layer (weights and biases).

    The image is the sum of the (linearly upsampled) ToRGB outputs, so afterwards every
    output is the per-pixel mean of the three channels the decoder made: grey, like the
    training faces, for any latent. On grey targets this never raises the pixel error
    (the channel mean is the closest grey image); it removes the colour casts that latents
    away from the training codes otherwise decode to.
    """
    for to_rgb in [g.to_rgb1, *g.to_rgbs]:
        w = to_rgb.conv.weight
        w.copy_(w.mean(1, keepdim=True).expand_as(w))
        to_rgb.bias.copy_(to_rgb.bias.mean(1, keepdim=True).expand_as(to_rgb.bias))


def train(steps: int = 800, batch: int = 16, lr: float = 2e-3, sigma: float = 0.1, code_reg: float = 1e-2,
          seed: int = 0, log_every: int = 100, progress_grid: str | None = None,
          ) -> tuple[StyleGAN2Generator, Encoder, torch.Tensor]:
    """Returns (generator, auto-encoder's encoder, latent_avg).

    ``progress_grid``: a PNG path rewritten at every log step with samples of the model so
    far (the mapping set from the current codes), to watch the training.
    """
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    data = to_pm1(lfw_faces("train"))
    g, enc = offline_generator(), Encoder()

    def finish() -> None:
        enc.eval()
        set_mapping(g, *code_gaussian(enc, data, sigma))
        g.eval()

    def show(step: int) -> None:
        finish()
        write_sample_grid(g, progress_grid)
        g.train(), enc.train()

    train_autoencoder(g, enc, data, steps, batch, lr, sigma, code_reg, gen, log_every,
                      on_log=show if progress_grid else None)
    finish()
    grey_output(g)
    return g, enc, g.mean_latent(4096, seed=seed)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=800, help="auto-encoder steps")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--sigma", type=float, default=0.1, help="std of the noise added to the codes in stage 1")
    p.add_argument("--code-reg", type=float, default=1e-2, help="weight of the codes' L2 penalty in stage 1")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=str(WEIGHTS / "stylegan2-lfw32.safetensors"))
    p.add_argument("--encoder-out", default=None,
                   help="also save the auto-encoder's encoder (the start of train_encoder's --init)")
    p.add_argument("--grid", default=None, help="write a PNG grid of 32 samples (z ~ N(0, I), stored noise)")
    p.add_argument("--progress-grid", default=None, help="rewrite this PNG with samples at every log step")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    t0 = time.time()
    g, enc, latent_avg = train(steps=a.steps, batch=a.batch, sigma=a.sigma, code_reg=a.code_reg, seed=a.seed,
                             progress_grid=a.progress_grid)
    state = {**g.state_dict(), "latent_avg": latent_avg[0]}
    digest = save_state_dict(state, a.out)
    print(f"wrote {a.out}\nsha256: {digest}\nwall: {time.time() - t0:.0f}s")
    if a.encoder_out:
        save_state_dict(enc.state_dict(), a.encoder_out)
        print(f"wrote {a.encoder_out}")
    if a.grid:
        write_sample_grid(g, a.grid)
        print(f"grid: {a.grid}")
    return 0


@torch.no_grad()
def write_sample_grid(g: StyleGAN2Generator, path: str, n: int = 32, seed: int = 123) -> None:
    """``n`` samples, z ~ N(0, I) (seeded, no truncation), stored noise maps; 8 per row."""
    from zoo.images import write_image

    z = torch.randn(n, g.style_dim, generator=torch.Generator().manual_seed(seed))
    write_image(path, image_grid(from_pm1(g(z, noise="const"))))


if __name__ == "__main__":
    sys.exit(main())
