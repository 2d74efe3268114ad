"""Runs a suite: units of (benchmark, method, operating point) over a dataset.

Each unit loads its method, runs batches under ``torch.inference_mode``, rounds outputs
to uint8 levels (as a saved image would be) and feeds the metrics. Per-item values land
in the long-form table; distribution metrics accumulate over the whole dataset. A
failing method or item is recorded with its error and the run goes on; every finished
unit is persisted at once.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from tqdm.auto import tqdm

import zoo
from zoo.catalog import MethodCard, get_card
from zoo.datasets import Dataset, build_dataset
from zoo.datasets.degrade import bicubic_down
from zoo.errors import MetricUnavailable, WeightsError, WeightsIntegrityError, ZooError
from zoo.harness.store import COLUMNS, Store, unit_key
from zoo.harness.suite import Benchmark, Suite, load_suite
from zoo.images import quantize, write_image
from zoo.metrics import Metric, build_metric
from zoo.tasks import apply

CODEC_TIMES = ("encode_ms", "decode_ms")


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

    @property
    def failures(self) -> pd.DataFrame:
        return self.results[self.results.status == "failed"]


def setting_str(setting: dict) -> str:
    return json.dumps(setting, sort_keys=True, separators=(",", ":"))


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class PeakRSS:
    """Peak resident memory above the starting point, sampled every 5 ms (CPU), or CUDA peak."""

    def __init__(self, device: torch.device) -> None:
        self.device, self.peak, self._stop = device, 0, threading.Event()

    @staticmethod
    def _rss() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def __enter__(self) -> "PeakRSS":
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            return self
        self.base = self._rss()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss() - self.base)
            time.sleep(0.005)

    def __exit__(self, *exc) -> None:
        if self.device.type == "cuda":
            self.peak = torch.cuda.max_memory_allocated(self.device)
            return
        self._stop.set()
        self._thread.join()

    @property
    def mb(self) -> float:
        return self.peak / 2**20


def make_inputs(bench: Benchmark, item_image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(method input, reference) for one dataset image under the benchmark's degradation."""
    if bench.task == "super-resolution":
        scale = bench.degradation.get("bicubic")
        if not scale:
            raise ZooError(f"benchmark {bench.name}: super-resolution needs `degradation: {{bicubic: SCALE}}`")
        lr, hr = bicubic_down(item_image, int(scale))
        return lr, hr
    return item_image, item_image


def _row(base: dict, **kw: Any) -> dict:
    return {**base, "fingerprint": "", "status": "ok", "error": "", "value": float("nan"), "item": "*", **kw}


class Runner:
    def __init__(self, suite: Suite, out: Path, device: str = "cpu", run_id: str | None = None, progress: bool = True,
                 include_path: list[str] | tuple[str, ...] = (), executor: str = "local", workers: int | None = None) -> None:
        if executor not in EXECUTORS:
            raise ZooError(f"executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
        self.suite, self.device, self.progress = suite, torch.device(device), progress
        self.include_path, self.executor, self.workers = tuple(include_path), executor, workers
        self.store = Store(out)
        self.out = Path(out)
        self.run_id = run_id or self.out.name
        self.meta: dict[str, Any] = {"methods": {}, "datasets": {}, "metrics": {}, "unavailable": {}}
        self.reused = self.computed = 0
        self.timing = {"model_s": 0.0, "metrics_s": 0.0}  # time spent inside methods and metrics (perf benchmark)
        self.keys: list[str] = []

    # -- metrics ------------------------------------------------------------------------------
    def _metrics(self, bench: Benchmark) -> tuple[list[tuple[str, Metric]], list[dict]]:
        built, unavailable = [], []
        for spec in bench.metrics:
            try:
                m = build_metric(spec.name, **spec.options).to(self.device)
                built.append((spec.alias, m))
                self.meta["metrics"][f"{bench.name}/{spec.alias}"] = {"fingerprint": m.fingerprint, "higher_is_better": m.higher_is_better}
            except MetricUnavailable as exc:
                unavailable.append({"metric": spec.alias, "reason": str(exc)})
                self.meta["unavailable"][f"{bench.name}/{spec.alias}"] = str(exc)
                _log(f"[zoo] {bench.name}: metric {spec.alias} unavailable: {exc}")
        return built, unavailable

    # -- one unit -----------------------------------------------------------------------------
    def _unit(self, bench: Benchmark, card: MethodCard, setting: dict, dataset: Dataset,
              metrics: list[tuple[str, Metric]], unavailable: list[dict], base: dict) -> pd.DataFrame:
        rows: list[dict] = []
        for u in unavailable:
            rows.append(_row(base, metric=u["metric"], status="unavailable", error=u["reason"]))
        try:
            method = self._load(card.id, setting)
        except Exception as exc:
            err = f"{type(exc).__name__}: {exc}"
            # weights that are not here (offline, unpinned, no Hub mirror) make a method
            # unavailable, with the reason; anything else is a failure of the method
            status = "unavailable" if isinstance(exc, WeightsError) and not isinstance(exc, WeightsIntegrityError) else "failed"
            _log(f"[zoo] {bench.name}: {card.id} {setting_str(setting)} {status}: {err}")
            rows.append(_row(base, metric="*", status=status, error=err))
            return pd.DataFrame(rows)
        for _, m in metrics:
            m.reset()
        n_params = sum(p.numel() for p in method.parameters())
        times: list[float] = []
        codec_times: dict[str, list[float]] = {}
        dist_keys = {}
        for alias, m in metrics:
            if not m.paired:
                dist_keys[alias] = f"{dataset.content_hash}|{setting_str(bench.degradation)}"
                m.load_reference(dist_keys[alias])
        bs = max(1, bench.batch_size)
        warmed = False
        with PeakRSS(self.device) as mem:
            for start in range(0, len(dataset), bs):
                idx = list(range(start, min(start + bs, len(dataset))))
                try:
                    pairs = [make_inputs(bench, dataset[i].image) for i in idx]
                except Exception as exc:  # unreadable image: record it, go on
                    for i in idx:
                        rows.append(_row(base, item=dataset.ids[i], metric="*", status="failed", error=f"{type(exc).__name__}: {exc}"))
                    continue
                groups = _same_size_groups(pairs)
                for group in groups:
                    x = torch.stack([pairs[g][0] for g in group]).to(self.device)
                    ref = torch.stack([pairs[g][1] for g in group]).to(self.device)
                    ids = [dataset.ids[idx[g]] for g in group]
                    extras = {}
                    if bench.task == "style-transfer":
                        st = [dataset[idx[g]].extras.get("style") for g in group]
                        extras["style"] = torch.stack(st).to(self.device) if all(s is not None for s in st) else None
                    if bench.task == "translation":
                        tg = [dataset[idx[g]].extras.get("target") for g in group]
                        if all(t is not None for t in tg):
                            ref = torch.stack(tg).to(self.device)
                        extras["direction"] = bench.direction
                    tm = time.perf_counter()
                    try:
                        with torch.inference_mode():
                            if not warmed:
                                apply(method, x[:1], **{k: (v[:1] if isinstance(v, torch.Tensor) else v) for k, v in extras.items()})
                                warmed = True
                            t0 = time.perf_counter()
                            y, task_extras = apply(method, x, **extras)
                            if self.device.type == "cuda":
                                torch.cuda.synchronize()
                            times.append((time.perf_counter() - t0) * 1000 / len(group))
                            for k in CODEC_TIMES:
                                if k in task_extras:
                                    codec_times.setdefault(k, []).append(task_extras.pop(k))
                    except Exception as exc:
                        err = f"{type(exc).__name__}: {exc}"
                        _log(f"[zoo] {bench.name}: {card.id} failed on {ids}: {err}")
                        for i in ids:
                            rows.append(_row(base, item=i, metric="*", status="failed", error=err))
                        continue
                    finally:
                        self.timing["model_s"] += time.perf_counter() - tm
                    if self.suite.round_outputs:
                        y = quantize(y)
                    self._save_samples(bench, card, setting, ids, y)
                    tm = time.perf_counter()
                    for alias, m in metrics:
                        try:
                            if m.paired:
                                vals = m(y, ref, **task_extras)
                                for i, v in zip(ids, vals.tolist()):
                                    rows.append(_row(base, item=i, metric=alias, value=float(v), fingerprint=m.fingerprint))
                            else:
                                m.update(y, ref, **task_extras)
                        except Exception as exc:
                            for i in ids:
                                rows.append(_row(base, item=i, metric=alias, status="failed", error=f"{type(exc).__name__}: {exc}"))
                    self.timing["metrics_s"] += time.perf_counter() - tm
        tm = time.perf_counter()
        for alias, m in metrics:
            if m.paired:
                continue
            try:
                value = float(m.compute())
                m.save_reference(dist_keys[alias])
                rows.append(_row(base, metric=alias, value=value, fingerprint=m.fingerprint))
            except Exception as exc:
                rows.append(_row(base, metric=alias, status="failed", error=f"{type(exc).__name__}: {exc}"))
        self.timing["metrics_s"] += time.perf_counter() - tm
        if times:
            rows.append(_row(base, metric="runtime_ms", value=statistics.median(times), fingerprint=f"median-per-image,warm,{self.device.type}"))
        for k, v in codec_times.items():
            rows.append(_row(base, metric=k, value=statistics.median(v), fingerprint=f"median-per-image,warm,{self.device.type}"))
        rows.append(_row(base, metric="params", value=float(n_params), fingerprint="count"))
        if times:
            rows.append(_row(base, metric="peak_mem_mb", value=mem.mb, fingerprint=f"{'cuda-allocated' if self.device.type == 'cuda' else 'rss-delta'}"))
        return pd.DataFrame(rows)

    def _load(self, method_id: str, setting: dict):
        from zoo.loading import load_method

        return load_method(method_id, device=str(self.device), download=False, **setting)

    def _save_samples(self, bench: Benchmark, card: MethodCard, setting: dict, ids: list[str], y: torch.Tensor) -> None:
        from zoo.report.html import safe_name

        keep = set(self._sample_ids.get(bench.name, []))
        for i, img in zip(ids, y):
            if i in keep:
                write_image(self.out / "samples" / safe_name(bench.name) / f"{safe_name(card.id)}--{safe_name(setting_str(setting))}--{safe_name(i)}.png", img.cpu())

    # -- the whole suite ------------------------------------------------------------------------
    def run(self, only_methods: list[str] | None = None) -> pd.DataFrame:
        parts: list[pd.DataFrame | None] = []
        deferred: list[tuple] = []  # units for the Ray executor: (slot in parts, key, benchmark, method, setting, base)
        self._sample_ids: dict[str, list[str]] = {}
        for bench in self.suite.benchmarks:
            base0 = {"run": self.run_id, "suite": self.suite.name, "benchmark": bench.name, "task": bench.task}
            try:
                dataset = bench_dataset(bench)
                ds_hash = dataset.content_hash
            except Exception as exc:
                err = f"{type(exc).__name__}: {exc}"
                _log(f"[zoo] {bench.name}: dataset failed: {err}")
                parts.append(pd.DataFrame([_row({**base0, "dataset": bench.dataset["name"], "method": "*", "setting": "{}"}, metric="*", status="failed", error=err)]))
                continue
            self.meta["datasets"][bench.name] = {"name": dataset.name, "options": dataset.options, "content_sha256": ds_hash, "items": len(dataset)}
            self._sample_ids[bench.name] = dataset.ids[: self.suite.samples_per_benchmark]
            self._save_references(bench, dataset)
            metrics, unavailable = self._metrics(bench)
            shards = shard_bounds(len(dataset), bench.shard_size)
            if len(shards) > 1 and any(not m.paired for _, m in metrics):
                err = (f"benchmark {bench.name}: shard_size splits the dataset, but distribution metrics "
                       f"({', '.join(a for a, m in metrics if not m.paired)}) need every image in one unit; remove one of them")
                _log(f"[zoo] {err}")
                parts.append(pd.DataFrame([_row({**base0, "dataset": dataset.name, "method": "*", "setting": "{}"}, metric="*", status="failed", error=err)]))
                continue
            units = []
            for spec in bench.methods:
                if only_methods and spec.id not in only_methods:
                    continue
                try:
                    card = get_card(spec.id)
                except Exception as exc:
                    parts.append(pd.DataFrame([_row({**base0, "dataset": dataset.name, "method": spec.id, "setting": "{}"}, metric="*", status="failed", error=str(exc))]))
                    continue
                if card.task != bench.task:
                    parts.append(pd.DataFrame([_row({**base0, "dataset": dataset.name, "method": spec.id, "setting": "{}"}, metric="*", status="failed", error=f"{spec.id} is a {card.task} method, benchmark {bench.name} is {bench.task}")]))
                    continue
                for setting in spec.settings or list(card.settings):
                    for shard in shards:
                        units.append((card, setting, shard))
            bar = tqdm(units, desc=bench.name, unit="unit", disable=not self.progress, file=sys.stderr)
            for card, setting, shard in bar:
                bar.set_postfix_str(f"{card.id} {setting_str(setting)}" + (f" items {shard[0]}-{shard[1] - 1}" if len(shards) > 1 else ""))
                base = {**base0, "dataset": dataset.name, "method": card.id, "setting": setting_str(setting)}
                weights = self._weights_meta(card, setting)
                key = unit_key({
                    "card": card.to_dict(), "weights": weights, "setting": setting, "dataset": ds_hash,
                    **({"shard": list(shard)} if len(shards) > 1 else {}),
                    "degradation": bench.degradation, "metrics": [(a, m.fingerprint) for a, m in metrics],
                    "unavailable": unavailable, "zoo": zoo.__version__, "seed": self.suite.seed,
                    "round": self.suite.round_outputs, "benchmark": bench.name, "task": bench.task, "batch": bench.batch_size,
                })
                self.meta["methods"].setdefault(card.id, {"weights_sha256": weights, "origin": card.origin, "license": card.license, "paper": card.paper})
                self.keys.append(key)
                if self.store.has(key):
                    df = self.store.get(key)
                    self.reused += 1
                elif self.executor == "ray":
                    deferred.append((len(parts), key, bench.name, card.id, setting, base, shard))
                    parts.append(None)
                    continue
                else:
                    torch.manual_seed(self.suite.seed)
                    df = self._persist(key, self._unit(bench, card, setting, dataset.subset(*shard), metrics, unavailable, base))
                df = df.assign(run=self.run_id)
                parts.append(df)
        if deferred:
            self._run_on_ray(deferred, parts)
        if not parts:
            return pd.DataFrame(columns=COLUMNS)
        out = pd.concat(parts, ignore_index=True)
        return out[COLUMNS]

    def _persist(self, key: str, df: pd.DataFrame) -> pd.DataFrame:
        """Write a freshly computed unit to the store at once (a killed run keeps it)."""
        df = df.reindex(columns=[c for c in COLUMNS if c != "run"] + ["run"])
        self.store.put(key, df)
        self.computed += 1
        return df

    def _run_on_ray(self, deferred: list[tuple], parts: list) -> None:
        """Run units as Ray tasks (one CPU each); persist each part as soon as it arrives."""
        # under `uv run`, Ray would otherwise package the working directory and rebuild the
        # environment for its workers (~30 s); a local cluster's workers can use this interpreter.
        # Ray reads the flag when it is first imported.
        os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
        try:
            import ray
        except ImportError as exc:
            raise ZooError("executor 'ray' needs Ray: pip install 'imagezoo[ray]' (or uv sync --extra ray)") from exc
        if not ray.is_initialized():  # a local cluster: its workers inherit this process's environment (caches, offline)
            ray.init(num_cpus=self.workers or os.cpu_count(), include_dashboard=False, log_to_driver=False,
                     configure_logging=False)
        task = ray.remote(num_cpus=1)(_ray_unit)
        spec = (self.suite.source, self.include_path, str(self.out), str(self.device), self.run_id)
        pending = {task.remote(spec, bench, method, setting, base, shard): (slot, key)
                   for slot, key, bench, method, setting, base, shard in deferred}
        bar = tqdm(total=len(pending), desc="ray", unit="unit", disable=not self.progress, file=sys.stderr)
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            slot, key = pending.pop(done[0])
            df, timing = ray.get(done[0])
            df = self._persist(key, df)
            for k, v in timing.items():
                self.timing[k] = self.timing.get(k, 0.0) + v
            parts[slot] = df.assign(run=self.run_id)
            bar.update(1)
        bar.close()

    @staticmethod
    def _weights_meta(card: MethodCard, setting: dict) -> list[str | None]:
        return [r.sha256 for r in card.weights_for(setting)]

    def _save_references(self, bench: Benchmark, dataset: Dataset) -> None:
        from zoo.report.html import safe_name

        for i in self._sample_ids[bench.name]:
            try:
                item = dataset[dataset.ids.index(i)]
                x, ref = make_inputs(bench, item.image)
            except Exception:
                continue
            folder = self.out / "samples" / safe_name(bench.name)
            write_image(folder / f"_input--{safe_name(i)}.png", x)
            write_image(folder / f"_reference--{safe_name(i)}.png", ref)


EXECUTORS = ("local", "ray")


def bench_dataset(bench: Benchmark) -> Dataset:
    """The dataset a benchmark names, built with its options."""
    return build_dataset(bench.dataset["name"], **{k: v for k, v in bench.dataset.items() if k != "name"})


def shard_bounds(n: int, shard_size: int | None) -> list[tuple[int, int]]:
    """[start, stop) item ranges of the units a dataset of ``n`` items is split into."""
    if not shard_size or shard_size >= n:
        return [(0, n)]
    return [(i, min(i + shard_size, n)) for i in range(0, n, shard_size)]


def _ray_unit(spec: tuple, bench_name: str, method_id: str, setting: dict, base: dict,
              shard: tuple[int, int]) -> tuple[pd.DataFrame, dict]:
    """One unit inside a Ray worker: rebuild the benchmark's dataset and metrics, run the method."""
    source, include_path, out, device, run_id = spec
    torch.set_num_threads(1)  # one CPU per task; Ray runs several at once
    suite = load_suite(source, include_path)
    bench = next(b for b in suite.benchmarks if b.name == bench_name)
    runner = Runner(suite, Path(out), device=device, run_id=run_id, progress=False)
    dataset = bench_dataset(bench)
    runner._sample_ids = {bench.name: dataset.ids[: suite.samples_per_benchmark]}
    metrics, unavailable = runner._metrics(bench)
    torch.manual_seed(suite.seed)
    df = runner._unit(bench, get_card(method_id), setting, dataset.subset(*shard), metrics, unavailable, base)
    return df, runner.timing


def _same_size_groups(pairs: list[tuple[torch.Tensor, torch.Tensor]]) -> list[list[int]]:
    groups: dict[tuple, list[int]] = {}
    for i, (x, ref) in enumerate(pairs):
        groups.setdefault((tuple(x.shape), tuple(ref.shape)), []).append(i)
    return list(groups.values())


def run_meta(runner: Runner) -> dict:
    import importlib.metadata as md

    from zoo.plugins import plugin_report

    versions = {}
    for dist in ("imagezoo", "torch", "torchvision", "numpy", "pandas", "pillow", "lpips", "clean-fid", "compressai", "timm"):
        try:
            versions[dist] = md.version(dist)
        except md.PackageNotFoundError:
            pass
    return {
        "run": runner.run_id, "suite": runner.suite.name, "suite_file": runner.suite.source, "seed": runner.suite.seed,
        "round_outputs": runner.suite.round_outputs,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "host": {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
                 "device": str(runner.device), "torch_threads": torch.get_num_threads()},
        "versions": versions,
        "plugins": [{"name": p.name, "version": p.version, "error": p.error} for p in plugin_report()],
        **runner.meta,
        "units": {"computed": runner.computed, "reused": runner.reused},
        "timing": {k: round(v, 3) for k, v in runner.timing.items()},
    }


def run_suite(suite: str, out: str | os.PathLike | None = None, include_path: list[str] | tuple[str, ...] = (),
              device: str = "cpu", methods: list[str] | None = None, progress: bool = True, report: bool = True,
              run_id: str | None = None, executor: str = "local", workers: int | None = None) -> Run:
    """Run a suite (name or path) into ``out`` (default ``runs/<suite>``) and write its report.

    ``executor="ray"`` runs the units that are not in the result store as Ray tasks
    (``workers`` CPUs, default all); each finished unit is persisted as it arrives.
    """
    spec = load_suite(suite, include_path)
    out_path = Path(out) if out else Path("runs") / spec.name
    runner = Runner(spec, out_path, device=device, run_id=run_id, progress=progress, include_path=include_path,
                    executor=executor, workers=workers)
    t0 = time.perf_counter()
    results = runner.run(only_methods=methods)
    runner.timing["run_s"] = time.perf_counter() - t0
    meta = run_meta(runner)
    run = Run(id=runner.run_id, suite=spec, path=out_path, results=results, meta=meta,
              reused_units=runner.reused, computed_units=runner.computed)
    if report:
        from zoo.report import write_report

        write_report(run)
    return run
