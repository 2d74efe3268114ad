"""Task specs: everything that is particular to one task, in one object.

The harness, ``zoo run``, the conformance kit and the report iterate over specs and never
branch on a task's name. A spec says

* which method base class the task has (:attr:`TaskSpec.method_class`) and checks a
  method's contract on a batch (:meth:`TaskSpec.check`);
* which extra benchmark keys a suite may set for it (:attr:`TaskSpec.bench_keys`,
  validated by :meth:`TaskSpec.validate` with the file and line named);
* how one dataset item becomes a :class:`Sample` (:meth:`TaskSpec.sample`);
* how a method is called on a batch of samples and what comes back (:meth:`TaskSpec.run`
  -> :class:`Outcome`: output images plus task outputs such as bitstreams or latents);
* what metrics may read besides the output (:attr:`TaskSpec.provides`);
* what the report adds (:meth:`TaskSpec.report_sections`, :meth:`TaskSpec.figures`).

Specs are registered through the ``register_tasks`` hook; the core's five tasks
(:mod:`zoo.tasks`) register exactly like a plugin's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import torch

    from zoo.method import Method

#: What every task supplies to metrics, whatever the spec adds.
COMMON_PROVIDES = ("reference", "input", "items", "attributes", "method")


@dataclass
class Sample:
    """One dataset item prepared for a task.

    Attributes:
        item: the item id.
        input: what the method receives, 3 x H x W float32 in [0, 1].
        reference: what paired metrics compare the output with (None: no reference).
        attributes: item attributes (group labels for fairness probes), JSON-serialisable.
        extras: task inputs beside the image (``style``, ``target``, ``mask``, ``scribble``).
    """

    item: str
    input: "torch.Tensor"
    reference: "torch.Tensor | None" = None
    attributes: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)

    def shape_key(self) -> tuple:
        """Samples with equal keys can be stacked into one batch."""
        shapes = [tuple(self.input.shape), None if self.reference is None else tuple(self.reference.shape)]
        shapes += [(k, tuple(v.shape)) for k, v in sorted(self.extras.items()) if hasattr(v, "shape")]
        return tuple(shapes)


@dataclass
class Batch:
    """Samples of equal shape stacked for a method call and the metrics after it."""

    items: list[str]
    input: "torch.Tensor"
    reference: "torch.Tensor | None"
    attributes: list[dict[str, Any]]
    extras: dict[str, Any]

    @classmethod
    def stack(cls, samples: list[Sample], device: Any = "cpu") -> "Batch":
        import torch

        refs = [s.reference for s in samples]
        extras: dict[str, Any] = {}
        for key in samples[0].extras:
            vals = [s.extras.get(key) for s in samples]
            if all(hasattr(v, "shape") for v in vals):
                extras[key] = torch.stack(vals).to(device)
            else:
                extras[key] = vals[0] if all(v == vals[0] for v in vals) else vals
        return cls(
            items=[s.item for s in samples],
            input=torch.stack([s.input for s in samples]).to(device),
            reference=None if any(r is None for r in refs) else torch.stack(refs).to(device),
            attributes=[s.attributes for s in samples],
            extras=extras,
        )

    def __len__(self) -> int:
        return len(self.items)

    def first(self) -> "Batch":
        """The batch's first sample alone (a warm-up call)."""
        cut = lambda v: v[:1] if hasattr(v, "shape") else v[:1] if isinstance(v, list) else v  # noqa: E731
        return Batch(self.items[:1], self.input[:1], None if self.reference is None else self.reference[:1],
                     self.attributes[:1], {k: cut(v) for k, v in self.extras.items()})


@dataclass
class Outcome:
    """What a method returned for a batch: output images plus task outputs and timings.

    ``outputs`` are handed to metrics that declare them in ``needs`` (``bitstreams``,
    ``latents``); ``timings`` (ms per image) become cost rows (``encode_ms`` ...).
    """

    images: "torch.Tensor"
    outputs: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


class TaskSpec:
    """Base of every task spec. Subclass, set the class attributes, override what differs."""

    #: the task's name, as catalog entries, methods and suites spell it
    name: ClassVar[str] = ""
    #: the method base class (a subclass of :class:`zoo.method.Method`)
    method_class: ClassVar[type]
    #: extra benchmark keys this task accepts: key -> one-line description
    bench_keys: ClassVar[dict[str, str]] = {}
    #: names metrics may read besides the common ones (``reference``, ``input``, ``items``,
    #: ``attributes``, ``method``): dataset extras and task outputs
    provides: ClassVar[tuple[str, ...]] = ()
    #: image extras of a sample the report shows beside the input (e.g. ``style``): written as
    #: ``samples/<bench>/_<name>--<item>.png`` and drawn in the sample grids and the viewer
    shown_extras: ClassVar[tuple[str, ...]] = ()

    # -- suites ---------------------------------------------------------------------------------
    def validate(self, options: dict[str, Any]) -> str | None:
        """Check a benchmark's task keys; return a message naming the problem and the fix, or None."""
        return None

    def unit_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """The benchmark options that change a unit's values (part of its cache key)."""
        return dict(options)

    def all_provides(self) -> set[str]:
        return set(COMMON_PROVIDES) | set(self.provides)

    # -- data -----------------------------------------------------------------------------------
    def sample(self, item: Any, options: dict[str, Any]) -> Sample:
        """One dataset item -> a Sample; by default the image is both input and reference."""
        return Sample(item.id, item.image, item.image, dict(getattr(item, "attributes", {}) or {}), dict(item.extras))

    # -- methods --------------------------------------------------------------------------------
    def run(self, method: "Method", batch: Batch, options: dict[str, Any]) -> Outcome:
        """Call ``method`` on a batch; the default is the contract's one call on the input."""
        raise NotImplementedError(f"task spec {type(self).__name__} must implement run()")

    def run_file(self, method: "Method", x: "torch.Tensor", options: dict[str, Any], extras: dict[str, Any]) -> Outcome:
        """``zoo run``: call ``method`` on one image read from a file (``options``, ``extras`` from the CLI)."""
        return self.run(method, Batch(["file"], x, None, [{}], dict(extras)), options)

    def check(self, method: "Method", x: "torch.Tensor", y: "torch.Tensor") -> str | None:
        """Conformance kit: task-specific check of output ``y`` for input ``x`` (message or None)."""
        return None

    def kit_extras(self, method: "Method", x: "torch.Tensor") -> dict[str, Any]:
        """Conformance kit: the extras (e.g. a style image) the kit passes with input ``x``."""
        return {}

    # -- reports --------------------------------------------------------------------------------
    def report_sections(self, df: "pd.DataFrame", benchmarks: list) -> list[tuple[str, "pd.DataFrame"]]:
        """Extra leaderboard sections: (title, table) pairs from this task's results and benchmarks."""
        return []

    def figures(self, df: "pd.DataFrame", out: Path) -> list[Path]:
        """Extra figures from this task's results, written under ``out / 'plots'``."""
        return []


def task_spec(name: str) -> TaskSpec:
    """The registered spec for task ``name``; unknown names list the registered tasks."""
    from zoo.plugins import registry

    entry = registry().get("tasks", name)
    spec = entry.obj
    return spec() if isinstance(spec, type) else spec


def task_names() -> tuple[str, ...]:
    """Names of every registered task (no plugin code is imported)."""
    from zoo.plugins import registry

    return registry().task_names()
