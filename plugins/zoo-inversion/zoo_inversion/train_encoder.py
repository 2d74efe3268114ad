"""Train the encoder of the offline generator (z, w and w+ heads) against the fixed generator.

    python -m zoo_inversion.train_encoder --steps 400 --out zoo_inversion/weights/encoder-lfw32.safetensors

Each step mixes generated images, whose latents are known (latent regression, as in Zhu et
al., ECCV 2016, arXiv:1609.03552), and real training faces (reconstruction through the
frozen generator with its stored noise, as in pSp, Richardson et al., CVPR 2021,
arXiv:2008.00951). Loss per head: pixel L2 of G(E(x)) against x on both halves, plus the
latent L2 on the generated half. Deterministic for a given seed and thread count.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from zoo.weights import load_state_dict, save_state_dict
from zoo_inversion.offline import Encoder, lfw_faces, offline_generator, to_pm1

WEIGHTS = Path(__file__).parent / "weights"


def train(generator_path: str, steps: int = 400, batch: int = 16, lr: float = 1e-3, seed: int = 0,
          latent_weight: float = 1.0, log_every: int = 100) -> Encoder:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    g = offline_generator()
    state = load_state_dict(generator_path)
    g.load_state_dict({k: v for k, v in state.items() if k != "latent_avg"})
    g.eval().requires_grad_(False)
    real = to_pm1(lfw_faces("train"))
    enc = Encoder()
    opt = torch.optim.Adam(enc.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps, eta_min=lr * 0.05)
    half = batch // 2
    t0 = time.time()
    for step in range(1, steps + 1):
        z = torch.randn(half, g.style_dim, generator=gen)
        with torch.no_grad():
            w = g.mapping(z)
            fake = g.synthesis(w.unsqueeze(1).expand(-1, g.n_latent, -1), "const")
        idx = torch.randint(len(real), (batch - half,), generator=gen)
        x = torch.cat([fake, real[idx]])
        h = enc.features(x)
        codes = {"z": enc.z(h), "w": enc.w(h), "w+": enc.wplus(h).view(-1, g.n_latent, g.style_dim)}
        targets = {"z": z, "w": w, "w+": w.unsqueeze(1).expand(-1, g.n_latent, -1)}
        loss = 0.0
        logs = []
        for space, code in codes.items():
            wp = g.mapping(code).unsqueeze(1).expand(-1, g.n_latent, -1) if space == "z" else (
                code.unsqueeze(1).expand(-1, g.n_latent, -1) if space == "w" else code)
            rec = (g.synthesis(wp, "const") - x).pow(2).mean()
            lat = (code[:half] - targets[space]).pow(2).mean()
            loss = loss + rec + latent_weight * lat
            logs.append(f"{space}: rec-psnr {-10 * torch.log10(rec.detach() / 4).item():.2f}")
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % log_every == 0 or step == steps:
            print(f"step {step}/{steps} " + ", ".join(logs) + f" ({time.time() - t0:.0f}s)", file=sys.stderr, flush=True)
    return enc.eval()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--generator", default=str(WEIGHTS / "stylegan2-lfw32.safetensors"))
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(WEIGHTS / "encoder-lfw32.safetensors"))
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    t0 = time.time()
    enc = train(a.generator, steps=a.steps, batch=a.batch, seed=a.seed)
    digest = save_state_dict(enc.state_dict(), a.out)
    print(f"wrote {a.out}\nsha256: {digest}\nwall: {time.time() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
