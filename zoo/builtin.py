"""imagezoo's built-in tasks, metrics and datasets, registered through the same hooks as any plugin.

Everything is registered as a ``"module:attribute"`` string: nothing is imported until used.
"""

from __future__ import annotations

from zoo.hookspecs import hookimpl

TASKS = {
    "super-resolution": "zoo.tasks:SuperResolutionSpec",
    "compression": "zoo.tasks:CompressionSpec",
    "translation": "zoo.tasks:TranslationSpec",
    "style-transfer": "zoo.tasks:StyleTransferSpec",
    "inversion": "zoo.tasks:InversionSpec",
}

METRICS = {
    "psnr": "zoo.metrics.fidelity:PSNR",
    "ssim": "zoo.metrics.fidelity:SSIM",
    "ms-ssim": "zoo.metrics.fidelity:MSSSIM",
    "lpips": "zoo.metrics.perceptual:LPIPS",
    "deepdist-effnetlite0": "zoo.metrics.perceptual:DeepDistEffNetLite0",
    "bpp": "zoo.metrics.rate:BPP",
    "fid": "zoo.metrics.distribution:fid",
    "kid": "zoo.metrics.distribution:kid",
    "fd-effnetlite0": "zoo.metrics.distribution:fd_effnetlite0",
    "kd-effnetlite0": "zoo.metrics.distribution:kd_effnetlite0",
}

DATASETS = {
    "samples": "zoo.datasets.samples:samples",
    "folder": "zoo.datasets.folder:folder",
    "hub": "zoo.datasets.hub:hub",
}


@hookimpl
def register_tasks(register):
    for name, spec in TASKS.items():
        register(name, spec)


@hookimpl
def register_metrics(register):
    for name, factory in METRICS.items():
        register(name, factory)


@hookimpl
def register_datasets(register):
    for name, factory in DATASETS.items():
        register(name, factory)
