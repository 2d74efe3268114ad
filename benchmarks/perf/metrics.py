"""Metric speed: imagezoo vs torchmetrics and pytorch-msssim, same process, same inputs.

16 images of 512x512, 2 CPU threads; prints median wall time of 5 runs per library,
the ratio (peer / ours; > 1 means ours is faster) and the largest value difference.

    uv run python benchmarks/perf/metrics.py
"""

from __future__ import annotations

import statistics
import time

import torch


def timeit(fn, repeat: int = 5) -> tuple[float, torch.Tensor]:
    out = fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    torch.set_num_threads(2)
    import pytorch_msssim
    from torchmetrics.functional.image import multiscale_structural_similarity_index_measure as tm_msssim
    from torchmetrics.functional.image import peak_signal_noise_ratio as tm_psnr
    from torchmetrics.functional.image import structural_similarity_index_measure as tm_ssim

    import zoo

    g = torch.Generator().manual_seed(0)
    ref = torch.rand(16, 3, 512, 512, generator=g)
    out = (ref + 0.05 * torch.randn(16, 3, 512, 512, generator=g)).clamp(0, 1)
    ours = {n: zoo.metric(n) for n in ("psnr", "ssim", "ms-ssim")}
    cases = [
        ("psnr", lambda: ours["psnr"](out, ref), "torchmetrics", lambda: tm_psnr(out, ref, data_range=1.0, reduction="none", dim=(1, 2, 3))),
        ("ssim", lambda: ours["ssim"](out, ref), "torchmetrics", lambda: tm_ssim(out, ref, data_range=1.0, reduction="none")),
        ("ssim", lambda: ours["ssim"](out, ref), "pytorch-msssim", lambda: pytorch_msssim.ssim(out, ref, data_range=1.0, size_average=False)),
        ("ms-ssim", lambda: ours["ms-ssim"](out, ref), "torchmetrics", lambda: tm_msssim(out, ref, data_range=1.0, reduction="none")),
        ("ms-ssim", lambda: ours["ms-ssim"](out, ref), "pytorch-msssim", lambda: pytorch_msssim.ms_ssim(out, ref, data_range=1.0, size_average=False)),
    ]
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, 16 x 3 x 512 x 512")
    print(f"{'metric':8s} {'peer':15s} {'ours ms':>9s} {'peer ms':>9s} {'speed-up':>9s} {'max |diff|':>11s}")
    for name, f_ours, peer, f_peer in cases:
        t_ours, v_ours = timeit(f_ours)
        t_peer, v_peer = timeit(f_peer)
        diff = (v_ours.double() - v_peer.double()).abs().max().item()
        print(f"{name:8s} {peer:15s} {t_ours * 1e3:9.1f} {t_peer * 1e3:9.1f} {t_peer / t_ours:8.2f}x {diff:11.2e}")


if __name__ == "__main__":
    main()
