"""Runs a suite: plans each benchmark's units, executes those not in the store, writes the report.

Each unit is a method at one operating point over a dataset shard (:mod:`zoo.harness.execute`);
every finished unit is persisted at once (:mod:`zoo.harness.store`), so an interrupted run
resumes and a repeated run reuses. Units run in-process or as Ray tasks
(:mod:`zoo.harness.executors`). Distribution metrics over a sharded dataset keep mergeable
states per shard; their value for the whole set is computed once every shard is in.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from tqdm.auto import tqdm

from zoo.errors import ZooError
from zoo.harness.dispatch import ExecOptions
from zoo.harness.execute import UnitContext, compute_distribution, log, setting_str
from zoo.harness.measure import UnitClock, phase
from zoo.harness.plan import BenchPlan, Unit, check_method_filter, plan_benchmark
from zoo.harness.store import Store
from zoo.harness.suite import Suite, load_suite
from zoo.images import write_image
from zoo.results import COLUMNS, sample_file

EXECUTORS = ("local", "ray")


@dataclass
class Run:
    """A finished (or resumed) run: the long-form results and where the report lives."""

    id: str
    suite: Suite
    path: Path
    results: pd.DataFrame
    meta: dict = field(default_factory=dict)
    reused_units: int = 0
    computed_units: int = 0
    retried_units: int = 0  # computed again because they failed in an earlier run into this folder

    @property
    def failures(self) -> pd.DataFrame:
        return self.results[self.results.status == "failed"]


def unit_failure(rows: pd.DataFrame) -> str | None:
    """Why a unit's rows are not a result to keep: a failed row, or the method unavailable; None if fine."""
    bad = rows[(rows.status == "failed") | ((rows.status == "unavailable") & (rows.metric == "*"))]
    if bad.empty:
        return None
    return f"{bad.status.iloc[0]}: {bad.error.iloc[0]}"


class Runner:
    def __init__(self, suite: Suite, out: Path, device: str = "cpu", run_id: str | None = None, progress: bool = True,
                 include_path: list[str] | tuple[str, ...] = (), executor: str = "local", workers: int | None = None,
                 recompute: list[str] | None = None, unit_timeout: float | None = None, threads: int | None = None,
                 retries: int | None = None, memory: int | None = None, address: str | None = None,
                 shared_fs: bool = False) -> None:
        if executor not in EXECUTORS:
            raise ZooError(f"executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
        self.suite, self.device, self.progress = suite, torch.device(device), progress
        self.include_path, self.executor = tuple(include_path), executor
        self.options = ExecOptions.resolve(workers=workers, unit_timeout=unit_timeout, threads=threads, retries=retries,
                                           memory=memory, address=address, shared_fs=shared_fs)
        self.workers = self.options.workers
        self.store = Store(out)
        self.out = Path(out)
        self.run_id = run_id or self.out.name
        self.meta: dict[str, Any] = {"methods": {}, "datasets": {}, "metrics": {}, "unavailable": {}}
        self.reused = self.computed = self.retried = 0
        #: method ids whose stored units are ignored and computed again (``[]``: every method; None: none)
        self.recompute = recompute
        self.timing = {"model_s": 0.0, "metrics_s": 0.0}  # seconds by phase over the run's computed units (measure.PHASES)
        self.clock = UnitClock(self.timing)  # and per unit: meta.json's unit_timing
        self.keys: list[str] = []
        self._sample_ids: dict[str, list[str]] = {}
        #: where each computed unit ran (host, node, worker, wall, retries, timeout), by unit key
        self.placement: dict[str, dict] = {}
        self.execution: dict[str, Any] = {}

    # -- planning -------------------------------------------------------------------------------
    def plan(self, only_methods: list[str] | None = None) -> list[BenchPlan]:
        """Every benchmark's plan; raises :class:`SuiteError` before any unit runs on a bad suite."""
        check_method_filter(self.suite, only_methods)
        t0 = time.perf_counter()
        plans = [plan_benchmark(b, self.suite, self.run_id, self.device, only_methods) for b in self.suite.benchmarks]
        # planning decodes every item once (the dataset's content hash covers its pixels): decode_s,
        # the rest (building metrics, hashing) plan_s; both run-level, in no unit
        decoded = sum(ds.decode_s for ds in {id(p.dataset): p.dataset for p in plans if p.dataset is not None}.values())
        self.timing["decode_s"] = self.timing.get("decode_s", 0.0) + decoded
        self.timing["plan_s"] = self.timing.get("plan_s", 0.0) + max(0.0, time.perf_counter() - t0 - decoded)
        for p in plans:
            b = p.bench
            for alias, m in p.metrics:
                self.meta["metrics"][f"{b.name}/{alias}"] = {"fingerprint": m.fingerprint, "higher_is_better": m.higher_is_better,
                                                             **({"rate": True} if getattr(m, "rate", False) else {})}
            for u in p.unavailable:
                self.meta["unavailable"][f"{b.name}/{u['metric']}"] = u["reason"]
            if p.dataset is not None:
                self.meta["datasets"][b.name] = {"name": p.dataset.name, "options": p.dataset.options,
                                                 "content_sha256": p.dataset.content_hash, "items": len(p.dataset),
                                                 **({"variant": p.dataset.variant} if p.dataset.variant else {})}
                self._sample_ids[b.name] = p.dataset.ids[: self.suite.samples_per_benchmark]
                self.meta["datasets"][b.name]["samples"] = self._sample_ids[b.name]  # the report's viewer shows these
            for unit in p.units:
                c = unit.card
                self.meta["methods"].setdefault(c.id, {"weights_sha256": [r.sha256 for r in c.weights_for(unit.setting)],
                                                       "origin": c.origin, "license": c.license, "paper": c.paper,
                                                       **weights_meta(c, unit.setting)})
        return plans

    def context(self, plan: BenchPlan, unit: Unit) -> UnitContext:
        return UnitContext(
            bench=plan.bench, spec=plan.spec, card=unit.card, setting=unit.setting,
            dataset=plan.dataset.subset(*unit.shard), metrics=plan.metrics, unavailable=plan.unavailable,
            base=unit.base, load=self._load, device=self.device, round_outputs=self.suite.round_outputs,
            sharded=unit.sharded, save_samples=lambda ids, y: self._save_samples(plan.bench.name, unit, ids, y),
        )

    # -- the whole suite ------------------------------------------------------------------------
    def run(self, only_methods: list[str] | None = None) -> pd.DataFrame:
        """Plan, reuse what the store has (without starting any worker), compute the rest, merge shards."""
        from zoo.harness.dispatch import execute_units

        plans = self.plan(only_methods)
        parts: list[pd.DataFrame | None] = []
        pending: list[tuple[int, BenchPlan, Unit]] = []  # units to compute: (slot in parts, plan, unit)
        bar = tqdm(total=sum(len(p.units) for p in plans if p.dataset is not None), desc=self.suite.name, unit="unit",
                   disable=not self.progress, file=sys.stderr)
        for plan in plans:
            parts += [pd.DataFrame(plan.failures)] if plan.failures else []
            if plan.dataset is None or not plan.units:
                continue
            self._save_references(plan)
            for unit in plan.units:
                self.keys.append(unit.key)
                if self._reusable(plan, unit):
                    with phase(self.timing, "reuse_s"):
                        parts.append(self.store.get(unit.key).assign(run=self.run_id))
                    self.reused += 1
                    bar.update(1)
                else:
                    pending.append((len(parts), plan, unit))
                    parts.append(None)
        try:
            execute_units(self, pending, parts, bar)
        finally:
            bar.close()
        parts += [self._merge_shards(p) for p in plans if p.units and p.units[0].sharded]
        parts = [p for p in parts if p is not None and len(p)]
        if not parts:
            return pd.DataFrame(columns=COLUMNS)
        return pd.concat(parts, ignore_index=True).reindex(columns=COLUMNS)

    def _forced(self, unit: Unit) -> bool:
        """Does ``--recompute`` name this unit's method (or every method)?"""
        return self.recompute is not None and (not self.recompute or unit.card.id in self.recompute)

    def _reusable(self, plan: BenchPlan, unit: Unit) -> bool:
        """Is the unit's stored result reused? Says why a unit is computed again (--recompute, earlier failure)."""
        forced = self._forced(unit)
        where = f"{plan.bench.name}: {unit.card.id} {setting_str(unit.setting)}"
        if self.store.has(unit.key):
            if not forced:
                return True
            log(f"[zoo] {where}: recomputing (--recompute)")
            return False
        failed = self.store.get_failed(unit.key)
        if failed is not None:
            self.retried += 1
            log(f"[zoo] {where}: retrying; the last run into this folder found it {(unit_failure(failed) or 'failed')[:300]}")
        return False

    def persist(self, key: str, df: pd.DataFrame, states: dict | None = None) -> pd.DataFrame:
        """Write a freshly computed unit (and its metric states) to the store at once.

        A failed unit is recorded apart (:meth:`Store.put_failed`): it is never reused as a
        result, and the next run into this folder retries it.
        """
        df = df.reindex(columns=[c for c in COLUMNS if c != "run"] + ["run"])
        self.computed += 1
        if unit_failure(df) is not None:
            self.store.drop(key)  # a recompute that failed must not leave the old result to be reused
            self.store.put_failed(key, df)
            return df
        for alias, state in (states or {}).items():
            self.store.put_state(key, alias, state)
        self.store.put(key, df)
        self.store.clear_failed(key)
        return df

    def _merge_shards(self, plan: BenchPlan) -> pd.DataFrame:
        """Distribution metrics of a sharded benchmark: merge each method's shard states, compute once."""
        rows = []
        by_method: dict[tuple, list[Unit]] = {}
        for u in plan.units:
            by_method.setdefault((u.card.id, setting_str(u.setting)), []).append(u)
        for (_, _), units in by_method.items():
            base = {**units[0].base, "run": self.run_id}
            for alias, m in plan.metrics:
                if m.paired:
                    continue
                states = [self.store.get_state(u.key, alias) for u in units]
                if any(s is None for s in states):
                    continue  # the method failed or was unavailable on some shard: its rows say so
                m.reset()
                m.merge_states(states)
                rows.append(compute_distribution(base, alias, m))
        return pd.DataFrame(rows)

    def _load(self, method_id: str, setting: dict):
        from zoo.loading import load_method

        return load_method(method_id, device=str(self.device), download=False, **setting)

    def _save_samples(self, bench: str, unit: Unit, ids: list[str], y: torch.Tensor) -> None:
        keep = set(self._sample_ids.get(bench, []))
        for i, img in zip(ids, y):
            if i in keep:
                write_image(self.out / sample_file(bench, unit.card.id, setting_str(unit.setting), i), img.cpu())

    def _save_references(self, plan: BenchPlan) -> None:
        # run-level phases (in ``timing``, in no unit): the first read of an item decodes it for every unit
        for i in self._sample_ids.get(plan.bench.name, []):
            try:
                with phase(self.timing, "decode_s"):
                    item = plan.dataset[plan.dataset.ids.index(i)]
                with phase(self.timing, "degrade_s"):
                    s = plan.spec.sample(item, plan.bench.options)
            except Exception:
                continue
            with phase(self.timing, "samples_s"):
                write_image(self.out / sample_file(plan.bench.name, "_input", "", i), s.input)
                for key in getattr(plan.spec, "shown_extras", ()):
                    extra = s.extras.get(key)
                    if isinstance(extra, torch.Tensor) and extra.dim() == 3:
                        write_image(self.out / sample_file(plan.bench.name, f"_{key}", "", i), extra)
                if s.reference is not None:
                    write_image(self.out / sample_file(plan.bench.name, "_reference", "", i), s.reference)


def weights_meta(card, setting: dict) -> dict:
    """meta.json's per-method licence flag and weights provenance (hash status, local verification)."""
    from zoo.licences import is_non_commercial
    from zoo.sources import cached_source, hash_status, verification_of

    weights = []
    for r in card.weights_for(setting):
        got = cached_source(r)
        weights.append({"part": r.part, "sha256": r.sha256, "source": r.source, "hash_status": hash_status(r),
                        "provenance": r.provenance, "local_copy": verification_of(r),
                        **({"local_copy_sha256": got[1].get("sha256")} if got else {})})
    return {"non_commercial": is_non_commercial(card.license), "weights": weights}


def licence_split(spec, methods: list[str] | None, licence: str) -> tuple[list[str] | None, list[str]]:
    """(methods to run, methods left out) for ``--licence``: ``commercial`` drops non-commercial methods."""
    from zoo.catalog import get_card
    from zoo.licences import LICENCE_FILTERS, is_non_commercial

    if licence not in LICENCE_FILTERS:
        from zoo.errors import ZooError

        raise ZooError(f"--licence {licence!r}: allowed values are {', '.join(LICENCE_FILTERS)}")
    if licence == "any":
        return methods, []
    ids = list(dict.fromkeys(m.id for b in spec.benchmarks for m in b.methods))
    ids = [i for i in ids if not methods or i in methods]
    left_out = [i for i in ids if is_non_commercial(get_card(i).license)]
    if ids and len(left_out) == len(ids):
        from zoo.errors import ZooError

        raise ZooError(f"--licence commercial leaves no method to run: {', '.join(left_out)} are non-commercial only")
    return [i for i in ids if i not in left_out], left_out


def run_suite(suite: str, out: str | os.PathLike | None = None, include_path: list[str] | tuple[str, ...] = (),
              device: str = "cpu", methods: list[str] | None = None, progress: bool = True, report: bool = True,
              run_id: str | None = None, executor: str = "local", workers: int | None = None,
              licence: str = "any", recompute: list[str] | None = None, force: bool = False,
              unit_timeout: float | None = None, threads: int | None = None, retries: int | None = None,
              memory: int | str | None = None, address: str | None = None, shared_fs: bool = False) -> Run:
    """Run a suite (name or path) into ``out`` (default ``runs/<suite>``) and write its report.

    Units not in the result store run in worker processes (:mod:`zoo.harness.dispatch`):
    ``executor="local"`` on ``workers`` processes of this machine (None: one per CPU, at most
    8; 0: in this process, without isolation or timeouts), ``executor="ray"`` as Ray tasks on a
    local Ray or the cluster at ``address`` (or ``RAY_ADDRESS``). A unit whose worker dies is
    run again up to ``retries`` times, then recorded failed with the cause; one that runs past
    its timeout (``unit_timeout``, else the suite's, else 3600 s) is failed. ``threads``: the
    intra-op thread count of every unit (default 1; the same everywhere so values are identical).
    ``memory``: an address-space limit per local worker (``"4G"``). Each unit is persisted as it lands.
    ``licence="commercial"`` leaves out methods whose weights are for non-commercial use only
    (recorded in ``meta.json`` as ``licence_filter``).
    ``recompute``: method ids whose stored units are computed again (``[]``: all of them).
    Units that failed in an earlier run into ``out`` are always retried.
    ``out`` must be new, empty or a zoo run folder (``force=True`` writes into any folder).
    """
    from zoo.harness.codehash import clear_caches
    from zoo.harness.meta import run_meta
    from zoo.harness.store import claim_run_folder
    from zoo.harness.suite import dataset_folders

    clear_caches()  # plugins installed or upgraded since the last run in this process are keyed by their new version
    spec = load_suite(suite, include_path)
    out_path = Path(out) if out else Path("runs") / spec.folder_name
    if recompute:
        known = {m.id for b in spec.benchmarks for m in b.methods}
        unknown = [m for m in recompute if m not in known]
        if unknown:
            some = ", ".join(sorted(known)[:12]) + (" ..." if len(known) > 12 else "")
            raise ZooError(f"--recompute: {', '.join(map(repr, unknown))} is not a method of suite {spec.name!r} "
                           f"(its methods: {some}); name the suite before --recompute "
                           f"(`zoo bench SUITE --recompute [METHOD ...]`)")
    claim_run_folder(out_path, force, suite=spec.name, inputs=dataset_folders(spec))
    runner = Runner(spec, out_path, device=device, run_id=run_id, progress=progress, include_path=include_path,
                    executor=executor, workers=workers, recompute=recompute, unit_timeout=unit_timeout,
                    threads=threads, retries=retries, memory=memory, address=address, shared_fs=shared_fs)
    methods, left_out = licence_split(spec, methods, licence)
    if licence != "any":
        runner.meta["licence_filter"] = {"licence": licence, "left_out": left_out}
    t0 = time.perf_counter()
    results = runner.run(only_methods=methods)
    runner.timing["run_s"] = time.perf_counter() - t0
    meta = run_meta(runner)
    run = Run(id=runner.run_id, suite=spec, path=out_path, results=results, meta=meta,
              reused_units=runner.reused, computed_units=runner.computed, retried_units=runner.retried)
    if report:
        from filelock import FileLock

        from zoo.report import write_report

        (out_path / ".locks").mkdir(exist_ok=True)
        with FileLock(str(out_path / ".locks" / "report.lock")):  # two runs into one folder write it in turn
            write_report(run)
    return run
