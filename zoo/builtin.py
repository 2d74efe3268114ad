"""imagezoo's built-in metrics and datasets, registered through the same hooks as any plugin."""

from __future__ import annotations

from zoo.hookspecs import hookimpl


@hookimpl
def register_metrics(register):
    from zoo.metrics import distribution as d
    from zoo.metrics.fidelity import MSSSIM, PSNR, SSIM
    from zoo.metrics.perceptual import LPIPS, DeepDistEffNetLite0
    from zoo.metrics.rate import BPP

    for name, factory in {
        "psnr": PSNR, "ssim": SSIM, "ms-ssim": MSSSIM, "lpips": LPIPS, "bpp": BPP,
        "fid": d.fid, "kid": d.kid, "fd-effnetlite0": d.fd_effnetlite0, "kd-effnetlite0": d.kd_effnetlite0,
        "deepdist-effnetlite0": DeepDistEffNetLite0,
    }.items():
        register(name, factory)


@hookimpl
def register_datasets(register):
    from zoo.datasets.folder import folder
    from zoo.datasets.hub import hub
    from zoo.datasets.samples import samples

    register("samples", samples)
    register("folder", folder)
    register("hub", hub)
