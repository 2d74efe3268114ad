"""imagezoo style-transfer plugin: colour baselines, Gatys optimisation, fast neural style, AdaIN,
stylizers trained here, and style / content metrics."""

from __future__ import annotations

from pathlib import Path

import zoo

ZOO_HOOK_API = 1


@zoo.hookimpl
def register_methods(register):
    # "module:class" strings: imported (with torch) only when a method is built
    register("reinhard", "zoo_stylization.baselines:Reinhard", task="style-transfer")
    register("histogram-matching", "zoo_stylization.baselines:HistogramMatching", task="style-transfer")
    register("gatys", "zoo_stylization.gatys:Gatys", task="style-transfer")
    register("transformer-net", "zoo_stylization.transformer:TransformerNet", task="style-transfer")
    register("adain", "zoo_stylization.adain:AdaIN", task="style-transfer")
    register("adain-lite", "zoo_stylization.adain:AdaINLite", task="style-transfer")


@zoo.hookimpl
def register_metrics(register):
    register("style-distance", "zoo_stylization.metrics:StyleDistance")
    register("content-distance", "zoo_stylization.metrics:ContentDistance")
    register("color-hist-distance", "zoo_stylization.metrics:ColorHistDistance")
    register("artfid", "zoo_stylization.metrics:artfid")


@zoo.hookimpl
def register_datasets(register):
    register("samples-style", "zoo_stylization.datasets:samples_style")
    register("style-pairs", "zoo_stylization.datasets:style_pairs")


@zoo.hookimpl
def register_catalog(register):
    from zoo_stylization.catalog import ENTRIES

    for method_id, entry in ENTRIES.items():
        register(method_id, entry)


@zoo.hookimpl
def register_suites(register):
    register("style", str(Path(__file__).parent / "suites" / "style.yaml"))
