"""Train the bundled small factorized-prior codec on patches of the embedded photographs.

    python -m zoo_compression.train_codec --rate 1
    python -m zoo_compression.train_codec --rate 2 & python -m zoo_compression.train_codec --rate 3

One model per rate point; the rate is set by the Lagrange multiplier λ of the loss
``λ·255²·MSE + bpp`` (Ballé et al., ICLR 2018, arXiv:1802.01436; the λ values are the
ones CompressAI used for its own qualities). The architecture is CompressAI's
``FactorizedPrior`` with narrower channels, so the bundled files load exactly like the
official checkpoints. Rate 1 trains from scratch; rates 2 and 3 start from rate 1's
weights (a warm start that cuts their training to 4000 steps), so they can run in parallel.

Deterministic for a given seed and thread count. Prints the sha256 to put in the catalog.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from zoo.datasets.samples import random_patches, samples
from zoo.weights import load_state_dict, save_state_dict

WEIGHTS = Path(__file__).parent / "weights"
N, M = 48, 64
LAMBDAS = {1: 0.0035, 2: 0.013, 3: 0.0483}


def weights_path(rate: int) -> Path:
    return WEIGHTS / f"factorized-small-r{rate}.safetensors"


def without_cdf_tables(state: dict) -> dict:
    """The weights without the entropy coder's CDF tables: loading recomputes them exactly
    (``CompressAICodec.load_weights`` calls ``update()``), and they would cost 40 kB a file."""
    return {k: v for k, v in state.items() if k.rsplit(".", 1)[-1] not in ("_quantized_cdf", "_offset", "_cdf_length")}


def train(rate: int, steps: int = 10000, batch: int = 8, patch: int = 128, lr: float = 5e-4, seed: int = 0,
          init: dict | None = None, log_every: int = 200):
    from compressai.losses import RateDistortionLoss
    from compressai.models import FactorizedPrior

    torch.manual_seed(seed + rate)
    gen = torch.Generator().manual_seed(seed + rate)
    images = [item.image for item in samples("train")]
    net = FactorizedPrior(N, M)
    if init is not None:  # a bundled file has no CDF tables: keep the fresh model's (empty) ones
        own = net.state_dict()
        net.load_state_dict({**{k: own[k] for k in own if k not in init}, **init})
    main_params = [p for n, p in net.named_parameters() if not n.endswith(".quantiles")]
    aux_params = [p for n, p in net.named_parameters() if n.endswith(".quantiles")]
    opt = torch.optim.Adam(main_params, lr=lr)
    aux_opt = torch.optim.Adam(aux_params, lr=1e-2)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps, eta_min=lr / 20)
    criterion = RateDistortionLoss(lmbda=LAMBDAS[rate])
    t0 = time.time()
    for step in range(1, steps + 1):
        x = random_patches(images, batch, patch, gen)
        out = criterion(net(x), x)
        opt.zero_grad()
        out["loss"].backward()
        torch.nn.utils.clip_grad_norm_(main_params, 1.0)
        opt.step()
        sched.step()
        aux = net.aux_loss()
        aux_opt.zero_grad()
        aux.backward()
        aux_opt.step()
        if step % log_every == 0 or step == steps:
            print(f"rate {rate} step {step}/{steps} bpp {out['bpp_loss'].item():.3f} mse {out['mse_loss'].item():.5f} "
                  f"aux {aux.item():.1f} ({time.time() - t0:.0f}s)", file=sys.stderr, flush=True)
    net.eval()
    net.update(force=True)
    return net


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rate", type=int, choices=sorted(LAMBDAS), required=True)
    p.add_argument("--steps", type=int, help="default 10000 from scratch, 4000 warm-started")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--init", help="warm start from this checkpoint (default for rates 2 and 3: the bundled rate-1 file)")
    p.add_argument("--out", help="output file (default: the bundled weights file for this rate)")
    a = p.parse_args(argv)
    init_path = a.init or (weights_path(1) if a.rate > 1 else None)
    init = None
    if init_path and Path(init_path).exists():
        init = load_state_dict(init_path)  # CDF tables included (CompressAI resizes them); recomputed after training
    steps = a.steps or (4000 if init else 10000)
    net = train(a.rate, steps=steps, seed=a.seed, init=init)
    out = Path(a.out) if a.out else weights_path(a.rate)
    out.parent.mkdir(parents=True, exist_ok=True)
    digest = save_state_dict(without_cdf_tables(net.state_dict()), out)
    print(f"wrote {out}\nsha256: {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
