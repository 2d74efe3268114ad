"""Where the units a run must compute go: this process, a local pool of workers, or Ray.

:func:`execute_units` gets the units the store does not have (the runner resolves cached
units itself, so a cached re-run starts no worker) and persists each one as it lands. Every
executor pins the intra-op thread count of a unit (:attr:`ExecOptions.threads`, default 1)
so that the same suite gives bit-identical values in-process, on 1 or N local workers, on
Ray and on machines with another core count: torch's CPU reductions split their work by
thread, and a sum over another split rounds differently.

Timeouts: ``--unit-timeout`` (CLI) wins over a method's ``timeout:`` in the suite, which
wins over its benchmark's ``timeout:``, which wins over :data:`DEFAULT_TIMEOUT`. They are
enforced in worker processes (the in-process executor cannot stop a unit).
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.errors import ZooError
from zoo.harness.threads import available_cpus, intra_op_threads
from zoo.harness.execute import log, row, setting_str

if TYPE_CHECKING:
    from zoo.harness.plan import BenchPlan, Unit
    from zoo.harness.pool import Answer

#: seconds a unit may run in a worker when neither the CLI nor the suite says
DEFAULT_TIMEOUT = 3600.0
#: times a unit whose worker (or node) died is run again on a fresh one
DEFAULT_RETRIES = 1
#: the most local workers chosen automatically (each holds its own models and metric networks)
MAX_AUTO_WORKERS = 8


def parse_memory(text: str | int | None) -> int:
    """``4G``, ``512M``, ``1.5GB`` or a number of bytes -> bytes (0: no limit)."""
    if text in (None, "", 0, "0"):
        return 0
    if isinstance(text, int):
        return text
    t = str(text).strip().upper().removesuffix("B").removesuffix("I")
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}.get(t[-1:], 1)
    try:
        value = float(t[:-1] if scale > 1 else t)
    except ValueError:
        raise ZooError(f"--worker-memory {text!r}: not a size; write e.g. 4G, 512M or a number of bytes") from None
    if value <= 0:
        raise ZooError(f"--worker-memory {text!r}: must be positive (or 0 for no limit)")
    return int(value * scale)


@dataclass
class ExecOptions:
    """How units run: worker count (None: automatic, 0: in this process), threads per unit, limits."""

    workers: int | None = None
    unit_timeout: float | None = None
    threads: int = 1
    retries: int = DEFAULT_RETRIES
    memory: int = 0
    address: str | None = None
    shared_fs: bool = False

    @classmethod
    def resolve(cls, workers: int | None = None, unit_timeout: float | None = None, threads: int | None = None,
                retries: int | None = None, memory: int | str | None = None, address: str | None = None,
                shared_fs: bool = False) -> "ExecOptions":
        """Check the options; ``ZOO_WORKERS`` (a number, or ``auto``) stands in for an unset ``workers``."""
        if workers is None:
            env = os.environ.get("ZOO_WORKERS", "auto").strip().lower()
            if env not in ("", "auto"):
                try:
                    workers = int(env)
                except ValueError:
                    raise ZooError(f"ZOO_WORKERS={env!r}: expected a number of workers (0: in-process) or 'auto'") from None
        if workers is not None and workers < 0:
            raise ZooError(f"--workers {workers}: must be 0 (units in this process) or more")
        if unit_timeout is not None and not unit_timeout > 0:
            raise ZooError(f"--unit-timeout {unit_timeout}: must be a positive number of seconds")
        threads = 1 if threads is None else threads
        if threads < 1:
            raise ZooError(f"--threads-per-unit {threads}: must be 1 or more")
        retries = DEFAULT_RETRIES if retries is None else retries
        if retries < 0:
            raise ZooError(f"--retries {retries}: must be 0 or more")
        return cls(workers, unit_timeout, threads, retries, parse_memory(memory), address, shared_fs)


def timeout_for(runner, unit: "Unit") -> tuple[float, str]:
    """(seconds, where from) for a unit: CLI, then the method's suite entry, the benchmark, the default."""
    if runner.options.unit_timeout is not None:
        return runner.options.unit_timeout, "cli"
    for m in unit.bench.methods:
        if m.id == unit.card.id and getattr(m, "timeout", None):
            return float(m.timeout), "suite method"
    if getattr(unit.bench, "timeout", None):
        return float(unit.bench.timeout), "suite benchmark"
    return DEFAULT_TIMEOUT, "default"


def in_process_plugins() -> list[str]:
    """Plugins registered in this process (:func:`zoo.plugins.register_plugin`), which a worker cannot see."""
    import importlib.metadata

    from zoo.plugins import BUILTIN, pm

    eps = {ep.name for ep in importlib.metadata.entry_points(group="zoo")}
    return sorted(n for n, _ in pm.list_name_plugin() if n not in eps and n != BUILTIN)


def absolute_paths(dataset: dict) -> dict:
    """A benchmark's dataset options with relative ``*path`` options made absolute (workers start elsewhere)."""
    return {k: (str(Path(v).resolve()) if k.endswith("path") and isinstance(v, str) and v else v) for k, v in dataset.items()}


class Dispatch:
    """Turns pending units into worker requests and lands the answers (persist, samples, placement)."""

    def __init__(self, runner, pending: list[tuple[int, "BenchPlan", "Unit"]], parts: list, bar) -> None:
        from zoo.harness.worker import bench_to_dict, versions

        self.runner, self.parts, self.bar = runner, parts, bar
        self.units: dict[int, tuple[int, "BenchPlan", "Unit"]] = dict(enumerate(pending))
        self.claims: dict[int, Any] = {}
        self.timeouts: dict[int, tuple[float, str]] = {}
        self._benches: dict[str, dict] = {}
        self._versions = versions()
        self._bench_to_dict = bench_to_dict

    def bench_payload(self, plan: "BenchPlan") -> dict:
        name = plan.bench.name
        if name not in self._benches:
            d = self._bench_to_dict(plan.bench)
            d["dataset"] = absolute_paths(d["dataset"])
            self._benches[name] = d
        return self._benches[name]

    def request(self, i: int) -> dict:
        r = self.runner
        _, plan, unit = self.units[i]
        s = r.suite
        return {"bench": self.bench_payload(plan), "device": str(r.device), "run_id": r.run_id,
                "suite": {"name": s.name, "seed": s.seed, "round_outputs": s.round_outputs,
                          "samples_per_benchmark": s.samples_per_benchmark, "source": s.source},
                "method": unit.card.id, "setting": unit.setting, "shard": list(unit.shard), "key": unit.key,
                "threads": r.options.threads, "samples": r._sample_ids.get(plan.bench.name, []),
                "versions": self._versions}

    def claim_all(self) -> list[int]:
        """Claim every pending unit in the store (another run into the folder may be computing it).

        Units another run finished meanwhile are landed from the store; the others are returned.
        """
        todo = []
        for i, (slot, plan, unit) in list(self.units.items()):
            cm = self.runner.store.claim(unit.key)
            stored = cm.__enter__()
            if stored is not None and not self.runner._forced(unit):
                cm.__exit__(None, None, None)
                self.parts[slot] = stored.assign(run=self.runner.run_id)
                self.runner.reused += 1
                self.bar.update(1)
                del self.units[i]
                continue
            self.claims[i] = cm
            self.timeouts[i] = timeout_for(self.runner, unit)
            todo.append(i)
        return todo

    def release_all(self) -> None:
        for cm in self.claims.values():
            cm.__exit__(None, None, None)
        self.claims.clear()

    def land(self, i: int, rows, states: dict | None, samples: list[tuple[str, bytes]], timing: dict, where: dict,
             attempts: int = 1, causes: list[str] | None = None) -> None:
        """Persist a unit's answer at once, write its samples, note where it ran; release its claim."""
        import pandas as pd

        from zoo.harness.worker import sample_relpath

        r = self.runner
        slot, plan, unit = self.units[i]
        from zoo.harness.measure import phase

        timing = {k: float(v) for k, v in (timing or {}).items()}
        with phase(timing, "store_s"):
            df = r.persist(unit.key, rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows), states)
        self.parts[slot] = df.assign(run=r.run_id)
        keep = set(r._sample_ids.get(plan.bench.name, []))
        for item, png in samples:
            if item in keep:  # the driver names the file; a worker only says which item it is
                path = r.out / sample_relpath(plan.bench.name, unit.card.id, unit.setting, item)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(png)
        clock = getattr(r, "clock", None)
        if clock is not None:  # per unit and totals (meta.json unit_timing / timing); the unit's wall is the worker's

            clock.add(unit_label(plan, unit), timing, float(where.get("wall_s") or 0.0) + timing.get("store_s", 0.0))
        else:
            for k, v in timing.items():
                r.timing[k] = r.timing.get(k, 0.0) + v
        timeout, source = self.timeouts.get(i, (None, ""))
        failed = df[df.status == "failed"]
        r.placement[unit.key] = {
            "benchmark": plan.bench.name, "method": unit.card.id, "setting": setting_str(unit.setting),
            "shard": list(unit.shard), "host": where.get("host", ""), "node": where.get("node", ""),
            "worker": where.get("worker", ""), "pid": where.get("pid"), "wall_s": where.get("wall_s"),
            "retries": max(0, attempts - 1), "causes": causes or [], "timeout_s": timeout, "timeout_from": source,
            "status": "failed" if (failed.metric == "*").any() else "ok",
        }
        cm = self.claims.pop(i, None)
        if cm is not None:
            cm.__exit__(None, None, None)
        self.bar.update(1)

    def land_failure(self, i: int, error: str, where: dict, attempts: int = 1, causes: list[str] | None = None) -> None:
        _, plan, unit = self.units[i]
        rows = [row(unit.base, metric=u["metric"], status="unavailable", error=u["reason"]) for u in plan.unavailable]
        rows.append(row(unit.base, metric="*", status="failed", error=error))
        log(f"[zoo] {plan.bench.name}: {unit.card.id} {setting_str(unit.setting)} failed: {error}")
        self.land(i, rows, None, [], {}, where, attempts, causes)

    def land_answer(self, i: int, header: dict, blobs: list[bytes], attempts: int = 1, causes: list[str] | None = None) -> None:
        """A worker's answer (:func:`zoo.harness.worker.execute`): rows, states and samples, or its error."""
        from zoo.harness.worker import frame_from_bytes, state_from_bytes

        where = header.get("where", {})
        if not header.get("ok"):
            self.land_failure(i, header.get("error") or "the worker answered without a result", where, attempts, causes)
            return
        aliases, items = header.get("states", []), header.get("samples", [])
        if len(blobs) != 1 + len(aliases) + len(items):
            self.land_failure(i, f"WorkerProtocol: expected {1 + len(aliases) + len(items)} blobs, got {len(blobs)}",
                              where, attempts, causes)
            return
        rows = frame_from_bytes(blobs[0])
        states = {a: state_from_bytes(b) for a, b in zip(aliases, blobs[1:1 + len(aliases)])}
        samples = list(zip(items, blobs[1 + len(aliases):]))
        self.land(i, rows, states, samples, header.get("timing", {}), where, attempts, causes)


def workers_for(options: ExecOptions, pending: int, device: str) -> int:
    """How many local workers: the option, or as many as CPUs allow (one GPU worker on CUDA), at most the units."""
    if options.workers is not None:
        return min(options.workers, pending) if options.workers else 0
    if device.startswith("cuda"):
        return min(1, pending)
    return max(1, min(available_cpus() // options.threads, pending, MAX_AUTO_WORKERS))


def execute_units(runner, pending: list[tuple[int, "BenchPlan", "Unit"]], parts: list, bar) -> None:
    """Compute ``pending`` (slot, plan, unit) with the runner's executor; fill ``parts[slot]`` as each lands."""
    o = runner.options
    runner.execution = {"executor": runner.executor, "intra_op_threads": o.threads, "retries": o.retries,
                        "default_timeout_s": DEFAULT_TIMEOUT, "unit_timeout_s": o.unit_timeout,
                        "worker_memory_bytes": o.memory or None, "units_to_compute": len(pending)}
    if not pending:
        runner.execution["mode"] = "nothing to compute (every unit reused)"
        return
    d = Dispatch(runner, pending, parts, bar)
    if runner.executor == "ray":
        from zoo.harness.executors import run_on_ray

        run_on_ray(runner, d)
        return
    n = workers_for(o, len(pending), str(runner.device))
    local = in_process_plugins()
    if n and local:
        log(f"[zoo] plugin(s) {', '.join(local)} are registered in this process, which worker processes cannot see: "
            f"units run in this process (no timeouts, no isolation); install them as packages to use workers")
        n = 0
    if n == 0:
        run_in_process(runner, d)
    else:
        run_local_pool(runner, d, n)


def run_in_process(runner, d: Dispatch) -> None:
    """Today's loop: each unit in the ``zoo bench`` process, threads pinned, persisted at once."""
    import torch

    from zoo.harness.execute import run_unit

    runner.execution.update(mode="in-process", workers=0, timeouts_enforced=False)
    if runner.options.unit_timeout is not None or any(timeout_for(runner, u)[1] != "default" for _, _, u in d.units.values()):
        log("[zoo] timeouts are enforced only in worker processes (--workers N, N >= 1); units run in this process")
    where = {"host": socket.gethostname(), "pid": os.getpid(), "worker": "in-process", "node": ""}
    with intra_op_threads(runner.options.threads):  # once for the loop: entering it costs a library scan
        for i in list(d.units):
            slot, plan, unit = d.units[i]
            with runner.store.claim(unit.key) as stored:  # another run into this folder may hold it
                if stored is not None and not runner._forced(unit):
                    d.parts[slot] = stored.assign(run=runner.run_id)
                    runner.reused += 1
                    d.bar.update(1)
                    continue
                d.bar.set_postfix_str(f"{unit.card.id} {setting_str(unit.setting)}", refresh=False)
                torch.manual_seed(runner.suite.seed)
                ctx = runner.context(plan, unit)
                timing: dict[str, float] = {}
                ctx.timing = timing
                t0 = time.perf_counter()
                result = run_unit(ctx)
                d.timeouts[i] = (None, "not enforced in-process")
                d.land(i, result.rows, result.states, [], timing, {**where, "wall_s": round(time.perf_counter() - t0, 6)})


def run_local_pool(runner, d: Dispatch, n: int) -> None:
    """Units on ``n`` worker processes of this machine; each persisted as it lands."""
    import sys

    from zoo.harness.pool import Job, LocalPool

    todo = d.claim_all()
    runner.execution.update(mode="local workers", workers=n, timeouts_enforced=True)
    if not todo:
        return
    jobs = [Job(i, d.request(i), d.timeouts[i][0], retries=runner.options.retries) for i in todo]
    pool = LocalPool(min(n, len(jobs)), threads=runner.options.threads, memory=runner.options.memory, log=log,
                     sys_path=list(sys.path))

    def on_answer(a: "Answer") -> None:
        if a.error:
            d.land_failure(a.job.id, a.error, a.where, a.job.attempts, a.job.causes)
        else:
            d.land_answer(a.job.id, a.header, a.blobs, a.job.attempts, a.job.causes)

    t0 = time.perf_counter()
    try:
        pool.run(jobs, on_answer)
    finally:
        d.release_all()
    runner.execution.update(workers_started=pool.started, pool_wall_s=round(time.perf_counter() - t0, 3))


def execution_meta(runner) -> dict:
    """meta.json's ``execution``: how units ran, and where each computed unit ran."""
    placement = sorted(runner.placement.values(), key=lambda p: (p["benchmark"], p["method"], p["setting"], p["shard"]))
    return {**runner.execution, "units": placement}


__all__ = ["DEFAULT_TIMEOUT", "ExecOptions", "execute_units", "execution_meta", "timeout_for"]


def unit_label(plan, unit) -> str:
    """``bench/method setting`` (and the shard's items), as meta.json's ``unit_timing`` names a unit."""
    label = f"{plan.bench.name}/{unit.card.id} {setting_str(unit.setting)}".rstrip()
    return label + (f" items {unit.shard[0]}-{unit.shard[1] - 1}" if unit.sharded else "")
