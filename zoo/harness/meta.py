"""Provenance written beside the results: versions, seeds, host, plugins, timing."""

from __future__ import annotations

import importlib.metadata as md
import os
import platform
from datetime import datetime, timezone

import torch

DISTRIBUTIONS = ("imagezoo", "torch", "torchvision", "numpy", "pandas", "pillow", "lpips", "clean-fid", "compressai", "timm")


def run_meta(runner) -> dict:
    """meta.json for a finished run."""
    from zoo.harness.dispatch import execution_meta
    from zoo.plugins import plugin_choices, plugin_report

    versions = {}
    for dist in DISTRIBUTIONS:
        try:
            versions[dist] = md.version(dist)
        except md.PackageNotFoundError:
            pass
    return {
        "run": runner.run_id, "suite": runner.suite.name, "suite_file": runner.suite.source, "seed": runner.suite.seed,
        "round_outputs": runner.suite.round_outputs,
        "tolerances": {k: str(v) for k, v in getattr(runner.suite, "tolerances", {}).items()},  # the gate reads them
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "host": {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
                 "device": str(runner.device), "torch_threads": torch.get_num_threads()},
        "versions": versions,
        "plugins": [{"name": p.name, "version": p.version, "error": p.error} for p in plugin_report()],
        #: names two plugins registered, and which one ZOO_PREFER chose
        "plugin_choices": plugin_choices(),
        #: trivial baselines per benchmark, and the metric column a method is judged against them on
        "baselines": {b.name: {"methods": b.baselines, "judged_on": b.metrics[0].alias}
                      for b in runner.suite.benchmarks if b.baselines},
        **runner.meta,
        "units": {"computed": runner.computed, "reused": runner.reused, "retried": getattr(runner, "retried", 0)},
        # seconds by phase (zoo.harness.measure.PHASES) over the computed units, run_s the whole run;
        # unit_timing: the same per computed unit (reused units cost only reuse_s)
        "timing": {k: round(v, 3) for k, v in runner.timing.items()},
        "unit_timing": list(getattr(getattr(runner, "clock", None), "units", [])),
        "execution": execution_meta(runner),
    }
