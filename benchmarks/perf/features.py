"""Deep-feature metric throughput: imagezoo's LPIPS against the ``lpips`` package, same network
(random AlexNet trunk, seed 0, the real v0.1 heads: no download needed), same inputs, one process.

    uv run python benchmarks/perf/features.py [--batch 8] [--size 256] [--rounds 5] [--threads 2]

Runs ours and the peer alternately and keeps each side's fastest round; prints images per
second, the ratio (ours / peer, >= 1 means ours is not slower) and the largest value difference.
(FID/KID's Inception runs clean-fid's own network and resizer on the same uint8 pixels; its
weights are not on this machine, so it is not timed here.)
"""

from __future__ import annotations

import argparse
import os
import time

import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    import lpips

    import zoo

    g = torch.Generator().manual_seed(0)
    ref = torch.rand(a.batch, 3, a.size, a.size, generator=g)
    out = (ref + 0.1 * torch.randn(ref.shape, generator=g)).clamp(0, 1)
    ours = zoo.metric("lpips", net="alex", random_trunk=True, seed=0)
    torch.manual_seed(0)
    peer = lpips.LPIPS(net="alex", version="0.1", pretrained=True, pnet_rand=True, verbose=False).eval()

    def run_peer() -> torch.Tensor:
        with torch.no_grad():
            return peer(out * 2 - 1, ref * 2 - 1).flatten()

    v_o, v_p = ours(out, ref), run_peer()
    t_o = t_p = float("inf")
    for _ in range(a.rounds):
        t0 = time.perf_counter()
        v_o = ours(out, ref)
        t1 = time.perf_counter()
        v_p = run_peer()
        t2 = time.perf_counter()
        t_o, t_p = min(t_o, t1 - t0), min(t_p, t2 - t1)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, {a.batch} x 3 x {a.size}^2, fastest of {a.rounds} "
          f"alternating rounds; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"lpips (alex, random trunk): ours {a.batch / t_o:.1f} img/s, lpips package {a.batch / t_p:.1f} img/s -> "
          f"ours/peer {t_p / t_o:.2f}x; max |diff| {(v_o.double() - v_p.double()).abs().max().item():.2e}")


if __name__ == "__main__":
    main()
