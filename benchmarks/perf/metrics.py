"""Metric speed: imagezoo vs torchmetrics and pytorch-msssim, same process, same inputs.

16 images of 3 x 512 x 512, 2 threads. Each case runs ours and the peer alternately for
``--rounds`` rounds and keeps each side's fastest round (the fastest is the least disturbed
by other processes on a shared machine); prints both times, the ratio (peer / ours, > 1 means
ours is faster) and the largest value difference, with the torch and OpenCV versions and the
load average at the start and end (side-by-side ratios hold under load; absolute times don't).

    uv run python benchmarks/perf/metrics.py [--rounds 5] [--threads 2] [--batch 16]
"""

from __future__ import annotations

import argparse
import os

import torch
from _race import race


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--only", nargs="*", default=None, help="metrics to run (psnr ssim ms-ssim)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    import cv2
    import pytorch_msssim
    from torchmetrics.functional.image import multiscale_structural_similarity_index_measure as tm_msssim
    from torchmetrics.functional.image import peak_signal_noise_ratio as tm_psnr
    from torchmetrics.functional.image import structural_similarity_index_measure as tm_ssim

    import zoo

    n, s = args.batch, args.size
    g = torch.Generator().manual_seed(0)
    ref = torch.rand(n, 3, s, s, generator=g)
    out = (ref + 0.05 * torch.randn(n, 3, s, s, generator=g)).clamp(0, 1)
    ours = {m: zoo.metric(m) for m in ("psnr", "ssim", "ms-ssim")}
    cases = [
        ("psnr", "torchmetrics", lambda: tm_psnr(out, ref, data_range=1.0, reduction="none", dim=(1, 2, 3))),
        ("ssim", "torchmetrics", lambda: tm_ssim(out, ref, data_range=1.0, reduction="none")),
        ("ssim", "pytorch-msssim", lambda: pytorch_msssim.ssim(out, ref, data_range=1.0, size_average=False)),
        ("ms-ssim", "torchmetrics", lambda: tm_msssim(out, ref, data_range=1.0, reduction="none")),
        ("ms-ssim", "pytorch-msssim", lambda: pytorch_msssim.ms_ssim(out, ref, data_range=1.0, size_average=False)),
    ]
    print(f"torch {torch.__version__}, opencv {cv2.__version__}, threads {torch.get_num_threads()}, {n} x 3 x {s} x {s}, "
          f"fastest of {args.rounds} alternating rounds; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'metric':8s} {'peer':15s} {'ours ms':>9s} {'peer ms':>9s} {'peer/ours':>10s} {'max |diff|':>11s}")
    for name, peer, f_peer in cases:
        if args.only and name not in args.only:
            continue
        t_ours, t_peer, v_ours, v_peer = race(lambda: ours[name](out, ref), f_peer, args.rounds)
        diff = (v_ours.double() - v_peer.double()).abs().max().item()
        print(f"{name:8s} {peer:15s} {t_ours * 1e3:9.1f} {t_peer * 1e3:9.1f} {t_peer / t_ours:9.1f}x {diff:11.2e}", flush=True)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
