"""imagezoo translation plugin: pix2pix and CycleGAN in the official layouts, translators
trained here on known-answer tasks, colour-transfer baselines, cycle-consistency metrics.

Everything is registered as ``"module:attribute"`` strings, so ``zoo list`` imports no torch.
"""

from __future__ import annotations

from pathlib import Path

import zoo

ZOO_HOOK_API = 1


@zoo.hookimpl
def register_methods(register):
    register("pix2pix", "zoo_translation.translator:pix2pix", task="translation")
    register("cyclegan", "zoo_translation.translator:cyclegan", task="translation")
    register("identity", "zoo_translation.baselines:Identity", task="translation")
    register("color-transfer", "zoo_translation.baselines:ColorTransfer", task="translation")


@zoo.hookimpl
def register_metrics(register):
    register("cycle-l1", "zoo_translation.metrics:CycleL1")
    register("cycle-psnr", "zoo_translation.metrics:CyclePSNR")


@zoo.hookimpl
def register_datasets(register):
    register("translation-sketch", "zoo_translation.data:photo2sketch")
    register("translation-gray2color", "zoo_translation.data:gray2color")
    register("translation-graded", "zoo_translation.data:graded")
    register("pix2pix-aligned", "zoo_translation.data:aligned")


@zoo.hookimpl
def register_catalog(register):
    from zoo_translation.catalog import ENTRIES

    for method_id, entry in ENTRIES.items():
        register(method_id, entry)


@zoo.hookimpl
def register_suites(register):
    register("translation", str(Path(__file__).parent / "suites" / "translation.yaml"))
