"""A minimal third-party imagezoo plugin: one method, one metric, one dataset — and a new task.

Copy this package to start your own. The entry point in pyproject.toml::

    [project.entry-points.zoo]
    example = "zoo_example"

is all imagezoo needs to find it; nothing in the core knows this plugin exists. Classes are
registered as ``"module:attribute"`` strings so that loading the plugin imports no torch
(``zoo list`` stays fast); they are imported when first used.
The ``denoising`` task (:mod:`zoo_example.denoising`) shows that a plugin can add a whole
task: its spec, a method, and a suite that ``zoo bench denoise`` runs.
"""

from __future__ import annotations

from pathlib import Path

import zoo

ZOO_HOOK_API = 1  # the hook API version this plugin targets


@zoo.hookimpl
def register_tasks(register):
    register("denoising", "zoo_example.denoising:DenoisingSpec")


@zoo.hookimpl
def register_methods(register):
    register("example-grayscale", "zoo_example.methods:Grayscale", task="translation")
    register("example-gaussian-blur", "zoo_example.denoising:GaussianBlur", task="denoising")


@zoo.hookimpl
def register_metrics(register):
    register("example-mae", "zoo_example.methods:MeanAbsoluteError")


@zoo.hookimpl
def register_datasets(register):
    register("example-gradients", "zoo_example.methods:gradients")


@zoo.hookimpl
def register_catalog(register):
    register("grayscale.example", {
        "task": "translation", "factory": "example-grayscale", "license": "Apache-2.0",
        "description": "Example plugin: colour to BT.601 gray",
    })
    register("gaussian-blur.example", {
        "task": "denoising", "factory": "example-gaussian-blur", "license": "Apache-2.0",
        "description": "Example plugin: Gaussian blur as a denoiser (the floor a learned denoiser must beat)",
        "settings": [{"sigma": 0.8}, {"sigma": 1.5}], "options": {"sigma": [0.5, 0.8, 1.0, 1.5, 2.0]},
    })
    register("identity-denoise.example", {
        "task": "denoising", "factory": "example-gaussian-blur", "params": {"sigma": 0.0}, "license": "Apache-2.0",
        "description": "Example plugin: returns the noisy input (no denoising)",
    })


@zoo.hookimpl
def register_suites(register):
    register("denoise", str(Path(__file__).parent / "suites" / "denoise.yaml"))
