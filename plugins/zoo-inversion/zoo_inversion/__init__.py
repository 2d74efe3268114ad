"""imagezoo inversion plugin: GAN inversion (optimisation, encoder, hybrid) in z / w / w+,
manifold edits, PULSE-style super-resolution, a StyleGAN2 that loads rosinality checkpoints and
the StyleGAN v1 that loads PULSE's."""

from __future__ import annotations

from pathlib import Path

import zoo

ZOO_HOOK_API = 1
SUITES = Path(__file__).parent / "suites"


@zoo.hookimpl
def register_methods(register):
    # "module:attribute" strings: imported (with torch) only when a method is built
    register("gan-inversion-optim", "zoo_inversion.inverters:OptimizationInverter", task="inversion")
    register("gan-inversion-encoder", "zoo_inversion.inverters:EncoderInverter", task="inversion")
    register("gan-inversion-hybrid", "zoo_inversion.inverters:hybrid", task="inversion")
    register("dcgan-inversion", "zoo_inversion.dcgan:DCGANInverter", task="inversion")
    register("inversion-baseline", "zoo_inversion.baselines:InversionBaseline", task="inversion")
    register("pulse", "zoo_inversion.pulse:PulseSR", task="super-resolution")
    register("pulse-sg1", "zoo_inversion.pulse:PulseSG1SR", task="super-resolution")


@zoo.hookimpl
def register_metrics(register):
    register("edit-inside", "zoo_inversion.metrics:EditInside")
    register("edit-outside", "zoo_inversion.metrics:EditOutside")
    register("path-smoothness", "zoo_inversion.metrics:PathSmoothness")


@zoo.hookimpl
def register_datasets(register):
    register("lfw32", "zoo_inversion.datasets:lfw32")
    register("lfw32-edits", "zoo_inversion.datasets:lfw32_edits")


@zoo.hookimpl
def register_catalog(register):
    from zoo_inversion.catalog import ENTRIES

    for method_id, entry in ENTRIES.items():
        register(method_id, entry)


@zoo.hookimpl
def register_suites(register):
    """Suite files shipped with the plugin: ``zoo bench inversion``."""
    for path in sorted(SUITES.glob("*.yaml")):
        register(path.stem, str(path))


@zoo.hookimpl
def register_commands(register):
    register("edit", "zoo_inversion.__main__:main",
             help="GAN-manifold edits: interpolate | mix | scribble | inpaint (zoo edit VERB IMAGES -o OUT)")
