"""imagezoo fairness plugin: bias probes that run as metrics on any method's outputs.

Probes: ``skin-tone-shift`` (ITA, no classifier), ``group-quality-gap`` (any paired metric
per group), ``representation`` and ``attribute-preservation`` (with an attribute
classifier: ITA bins, or a network with pinned weights). Datasets: ``samples-faces``
(embedded face photographs) and ``fairface`` (pinned Hub commit). See docs/fairness.md.
"""

from __future__ import annotations

from pathlib import Path

import zoo

ZOO_HOOK_API = 1


@zoo.hookimpl
def register_tasks(register):
    register("classification", "zoo_fairness.classifiers:ClassificationSpec")


@zoo.hookimpl
def register_methods(register):
    register("classifier-ita-bins", "zoo_fairness.classifiers:ItaBins", task="classification")
    register("classifier-hub", "zoo_fairness.classifiers:HubClassifier", task="classification")


@zoo.hookimpl
def register_catalog(register):
    from zoo_fairness.catalog import catalog_entries

    for name, entry in catalog_entries().items():
        register(name, entry)


@zoo.hookimpl
def register_metrics(register):
    register("skin-tone-shift", "zoo_fairness.probes:SkinToneShift")
    register("group-quality-gap", "zoo_fairness.probes:GroupQualityGap")
    register("representation", "zoo_fairness.probes:Representation")
    register("attribute-preservation", "zoo_fairness.probes:AttributePreservation")


@zoo.hookimpl
def register_datasets(register):
    register("samples-faces", "zoo_fairness.datasets:samples_faces")
    register("counterfactual-faces", "zoo_fairness.datasets:counterfactual_faces")
    register("fairface", "zoo_fairness.datasets:fairface")


@zoo.hookimpl
def register_suites(register):
    register("fairness-quick", str(Path(__file__).parent / "suites" / "fairness-quick.yaml"))
