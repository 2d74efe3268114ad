"""Planning a run: each benchmark's dataset, metrics and units, and every unit's cache key.

A unit's key covers everything that can change its values: the card, the weights' hashes,
the operating point, the dataset's content hash (and shard), the task's options, the
metric fingerprints, imagezoo's version, the seed, rounding and batch size, and the code
that computes them: for the method's factory, the task spec and each metric, the plugin
distribution's name and version and a hash of the defining modules' source
(:mod:`zoo.harness.codehash`). Keys are versioned by :data:`KEY_VERSION`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from zoo.catalog import MethodCard, get_card
from zoo.datasets import Dataset, build_dataset
from zoo.errors import MetricUnavailable, SuiteError
from zoo.harness.codehash import code_identity
from zoo.errors import MetricUnavailable, OptionsError, SuiteError, UnknownNameError, ZooError
from zoo.harness.execute import log, row, setting_str
from zoo.harness.store import unit_key
from zoo.harness.suite import Benchmark, Suite
from zoo.metrics import Metric, build_metric
from zoo.taskspec import TaskSpec, task_spec
from zoo.version import __version__

#: bumped when the key's payload changes shape (2: code identities of method, task and metrics)
KEY_VERSION = 2


@dataclass
class Unit:
    """(benchmark, method, operating point, shard) with its cache key."""

    bench: Benchmark
    card: MethodCard
    setting: dict
    shard: tuple[int, int]
    sharded: bool
    key: str
    base: dict


@dataclass
class BenchPlan:
    """One benchmark, ready to run: its spec, dataset, metrics and units (or why it cannot run)."""

    bench: Benchmark
    spec: TaskSpec
    dataset: Dataset | None = None
    metrics: list[tuple[str, Metric]] = field(default_factory=list)
    unavailable: list[dict] = field(default_factory=list)
    units: list[Unit] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)  # rows: dataset or method problems found while planning


def bench_dataset(bench: Benchmark) -> Dataset:
    """The dataset a benchmark names, built with its options."""
    return build_dataset(bench.dataset["name"], **{k: v for k, v in bench.dataset.items() if k != "name"})


def shard_bounds(n: int, shard_size: int | None) -> list[tuple[int, int]]:
    """[start, stop) item ranges of the units a dataset of ``n`` items is split into."""
    if not shard_size or shard_size >= n:
        return [(0, n)]
    return [(i, min(i + shard_size, n)) for i in range(0, n, shard_size)]


def build_metrics(bench: Benchmark, spec: TaskSpec, device: Any) -> tuple[list[tuple[str, Metric]], list[dict]]:
    """The benchmark's metrics, built; unavailable ones with their reasons.

    Raises:
        SuiteError: a metric reads something (``needs``) the benchmark's task cannot supply.
    """
    built, unavailable = [], []
    for m in bench.metrics:
        try:
            metric = build_metric(m.name, **m.options).to(device)
        except MetricUnavailable as exc:
            unavailable.append({"metric": m.alias, "reason": str(exc)})
            log(f"[zoo] {bench.name}: metric {m.alias} unavailable: {exc}")
            continue
        except (ZooError, TypeError, ValueError) as exc:  # bad options: the suite's mistake, found before anything runs
            raise SuiteError(f"{bench.where(m.line)}: benchmark {bench.name!r}: metric {m.alias!r}: {exc}") from exc
        missing = metric.requirements() - spec.all_provides()
        if missing:
            raise SuiteError(
                f"benchmark {bench.name!r}: metric {m.alias!r} needs {sorted(missing)}, which task {spec.name!r} "
                f"does not supply (it supplies {sorted(spec.all_provides())}); remove the metric or use another task"
            )
        built.append((m.alias, metric))
    return built, unavailable


def plan_benchmark(bench: Benchmark, suite: Suite, run_id: str, device: Any, only_methods: list[str] | None = None) -> BenchPlan:
    """Dataset, metrics and keyed units of one benchmark; problems become failure rows."""
    spec = task_spec(bench.task)
    plan = BenchPlan(bench, spec)
    plan.metrics, plan.unavailable = build_metrics(bench, spec, device)
    base0 = {"run": run_id, "suite": suite.name, "benchmark": bench.name, "task": bench.task}
    code = {"task": _registered_code("tasks", bench.task, spec), "metrics": metrics_code(bench, plan.metrics)}
    if bench.dataset_missing:  # allowed to be absent here (allow_unavailable: [dataset])
        log(f"[zoo] {bench.name}: dataset unavailable: {bench.dataset_missing}")
        plan.failures.append(row({**base0, "dataset": bench.dataset["name"], "method": "*", "setting": "{}"}, metric="*",
                                 status="unavailable", error=bench.dataset_missing))
        return plan
    try:
        dataset = bench_dataset(bench)
        ds_hash = dataset.content_hash
        if dataset.variant is not None:  # the same pixels stored as another variant's files get their own label
            ds_hash = f"{ds_hash}:{dataset.name}:{dataset.variant['manifest_sha256']}"
        plan.dataset = dataset
    except (OptionsError, UnknownNameError, TypeError) as exc:  # the suite names something that does not exist
        raise SuiteError(f"{bench.where()}: benchmark {bench.name!r}: dataset {bench.dataset['name']!r}: {exc}") from exc
    except Exception as exc:
        err = f"{type(exc).__name__}: {exc}"
        log(f"[zoo] {bench.name}: dataset failed: {err}")
        plan.failures.append(row({**base0, "dataset": bench.dataset["name"], "method": "*", "setting": "{}"}, metric="*", status="failed", error=err))
        return plan
    shards = shard_bounds(len(plan.dataset), bench.shard_size)
    unmergeable = [a for a, m in plan.metrics if not m.paired and not m.mergeable]
    if len(shards) > 1 and unmergeable:
        err = (f"benchmark {bench.name}: shard_size splits the dataset, but distribution metrics "
               f"({', '.join(unmergeable)}) keep no mergeable state; remove shard_size or those metrics")
        log(f"[zoo] {err}")
        plan.failures.append(row({**base0, "dataset": plan.dataset.name, "method": "*", "setting": "{}"}, metric="*", status="failed", error=err))
        return plan
    for mspec in bench.methods:
        if only_methods and mspec.id not in only_methods:
            continue
        where = {**base0, "dataset": plan.dataset.name, "method": mspec.id, "setting": "{}"}
        try:
            card = get_card(mspec.id)
        except Exception as exc:
            plan.failures.append(row(where, metric="*", status="failed", error=str(exc)))
            continue
        if card.task != bench.task:
            plan.failures.append(row(where, metric="*", status="failed", error=f"{mspec.id} is a {card.task} method, benchmark {bench.name} is {bench.task}"))
            continue
        mcode = {**code, "method": _registered_code("methods", card.factory)}
        for setting in mspec.settings or list(card.settings):
            for shard in shards:
                base = {**base0, "dataset": plan.dataset.name, "method": card.id, "setting": setting_str(setting)}
                key = unit_key({
                    "card": card.to_dict(), "weights": weights_hashes(card, setting), "setting": setting, "dataset": ds_hash,
                    **({"shard": list(shard)} if len(shards) > 1 else {}),
                    "task_options": spec.unit_options(bench.options), "metrics": [(a, m.fingerprint) for a, m in plan.metrics],
                    "unavailable": plan.unavailable, "zoo": __version__, "seed": suite.seed,
                    "round": suite.round_outputs, "benchmark": bench.name, "task": bench.task, "batch": bench.batch_size,
                    "code": mcode, "key_version": KEY_VERSION,
                })
                plan.units.append(Unit(bench, card, setting, shard, len(shards) > 1, key, base))
    return plan


def _registered_code(kind: str, name: str, *instances: Any) -> dict[str, Any]:
    """Code identity of a registered factory (and instances it built); its error if it cannot be imported."""
    from zoo.plugins import registry

    try:
        entry = registry().get(kind, name)
        return code_identity(entry.plugin, entry.obj, *instances)
    except Exception as exc:  # the unit itself reports the failure; the key records why the code is unknown
        return {"error": f"{type(exc).__name__}: {exc}"}


def metrics_code(bench: Benchmark, metrics: list[tuple[str, Metric]]) -> list[tuple[str, dict]]:
    """(alias, code identity) of every built metric of a benchmark."""
    names = {m.alias: m.name for m in bench.metrics}
    return [(alias, _registered_code("metrics", names.get(alias, m.name), m)) for alias, m in metrics]
def check_method_filter(suite: Suite, only_methods: list[str] | None) -> None:
    """``--method`` names that no benchmark of the suite lists are a usage error (nothing would run)."""
    if not only_methods:
        return
    listed = {m.id for b in suite.benchmarks for m in b.methods}
    missing = [m for m in only_methods if m not in listed]
    if missing:
        from zoo.plugins import unknown_message

        raise SuiteError(f"--method {missing[0]}: not in suite {suite.name!r} ({suite.source}). "
                         + unknown_message("method", missing[0], listed).replace("Unknown method", "Method", 1))


def weights_hashes(card: MethodCard, setting: dict) -> list[str | None]:
    """The pinned sha256 of each file; for an unpinned file fetched on trust, the hash recorded at fetch time."""
    from zoo.sources import cached_source

    out = []
    for r in card.weights_for(setting):
        got = None if r.sha256 or r.bundled else cached_source(r)
        out.append(r.sha256 or (got[1].get("sha256") if got else None))
    return out
