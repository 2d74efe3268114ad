"""imagezoo: a plugin-based model zoo for neural image processing, with a benchmark harness."""

from __future__ import annotations

from typing import Any

from zoo.hookspecs import hookimpl
from zoo.version import __version__
__all__ = [
    "hookimpl", "list_methods", "load", "list_metrics", "metric", "list_datasets", "dataset", "bench",
    "__version__",
]


def list_methods(task: str | None = None, pattern: str | None = None, available: bool = False):
    """Method cards, filtered by task, glob pattern on the id, and local availability of weights."""
    from zoo.catalog import list_methods as _list

    return _list(task=task, pattern=pattern, available=available)


def load(method_id: str, device: str = "cpu", weights: str | None = None, **options: Any):
    """Build a method from its catalog card, with verified weights, on ``device``.

    Args:
        method_id: catalog id (``zoo list``).
        device: torch device string.
        weights: a local checkpoint for the entry's architecture instead of the catalog's file.
        **options: an operating point (catalog ``settings`` keys), passed to the factory.
    """
    from zoo.loading import load_method

    return load_method(method_id, device=device, weights=weights, **options)


def list_metrics() -> list[str]:
    """Names of every registered metric."""
    from zoo.plugins import registry

    return sorted(registry().items["metrics"])


def metric(name: str, **options: Any):
    """A metric instance: ``m(output, reference) -> Tensor[B]``."""
    from zoo.metrics import build_metric

    return build_metric(name, **options)


def list_datasets() -> list[str]:
    """Names of every registered dataset kind."""
    from zoo.plugins import registry

    return sorted(registry().items["datasets"])


def dataset(name: str, **options: Any):
    """A dataset instance (a sequence of items with ``image`` tensors)."""
    from zoo.datasets import build_dataset

    return build_dataset(name, **options)


def bench(suite: str = "quick", **overrides: Any):
    """Run a suite (name or path) and return a :class:`zoo.harness.runner.Run`."""
    from zoo.harness.runner import run_suite

    return run_suite(suite, **overrides)
