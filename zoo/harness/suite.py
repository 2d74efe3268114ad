"""Suite files (YAML): which methods run on which data with which metrics.

```yaml
name: quick
seed: 0
include: [common.yaml]          # merged first; `benchmarks` lists are concatenated
benchmarks:
  - name: sr-x4
    task: super-resolution
    dataset: {name: samples, split: heldout, crop: 192}
    degradation: {bicubic: 4}    # SR only: HR -> MATLAB bicubic LR
    methods:
      - bicubic-x4                 # every operating point in the card's settings
      - {id: jpeg.pil, settings: [{quality: 50}]}
    metrics:
      - psnr
      - {name: psnr, as: psnr-y, channel: y, crop_border: 4}
    batch_size: 4
    shard_size: 50               # optional: units of at most 50 images (finer resume, Ray parallelism)
```
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from zoo.taskspec import task_spec

from zoo.errors import SuiteError, UnknownNameError

SUITE_KEYS = {"name", "seed", "include", "benchmarks", "description", "round_outputs", "samples_per_benchmark"}
#: keys every benchmark may set; each task's spec adds its own (``TaskSpec.bench_keys``)
BENCH_KEYS = {"name", "task", "dataset", "methods", "metrics", "batch_size", "shard_size", "allow_unavailable"}


@dataclass
class MetricSpec:
    name: str
    alias: str
    options: dict = field(default_factory=dict)


@dataclass
class MethodSpec:
    id: str
    settings: list[dict] | None = None  # None: the card's settings


@dataclass
class Benchmark:
    name: str
    task: str
    dataset: dict
    methods: list[MethodSpec]
    metrics: list[MetricSpec]
    options: dict = field(default_factory=dict)  # the task's own keys (degradation, anchor, direction ...)
    batch_size: int = 4
    shard_size: int | None = None
    #: metric aliases and method ids expected to be unavailable on some machines (offline metrics):
    #: reported, but they do not make `zoo bench` exit non-zero
    allow_unavailable: list[str] = field(default_factory=list)


@dataclass
class Suite:
    name: str
    benchmarks: list[Benchmark]
    seed: int = 0
    round_outputs: bool = True
    samples_per_benchmark: int = 2
    source: str = ""


class _LineLoader(yaml.SafeLoader):
    """Keeps the line of every mapping so errors can name it."""


def _construct_mapping(loader, node, deep=False):
    mapping = yaml.SafeLoader.construct_mapping(loader, node, deep=deep)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _err(src: str, node: Any, msg: str) -> SuiteError:
    line = node.get("__line__") if isinstance(node, dict) else None
    return SuiteError(f"{src}{f':{line}' if line else ''}: {msg}")


def _strip(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _strip(v) for k, v in x.items() if k != "__line__"}
    if isinstance(x, list):
        return [_strip(v) for v in x]
    return x


def builtin_suite_dir() -> Path:
    """The suites shipped with imagezoo (benchmarks/ in a checkout, zoo/benchmarks in a wheel)."""
    here = Path(str(importlib.resources.files("zoo")))
    for p in (here / "benchmarks", here.parent / "benchmarks"):
        if p.is_dir():
            return p
    return here.parent / "benchmarks"


def plugin_suites() -> dict[str, Path]:
    """Suite files plugins registered (``register_suites``): name -> path."""
    from zoo.plugins import registry

    return {name: Path(e.obj) for name, e in registry().items["suites"].items()}


def find_suite(ref: str, include_path: list[str] | tuple[str, ...] = ()) -> Path:
    """A suite by path, or by name in --include-path folders, the built-in suites and plugins' suites."""
    p = Path(ref)
    if p.suffix in (".yaml", ".yml") and p.exists():
        return p
    dirs = [Path(d) for d in include_path] + [builtin_suite_dir()]
    for d in dirs:
        for cand in (d / ref, d / f"{ref}.yaml", d / f"{ref}.yml"):
            if cand.is_file():
                return cand
    from_plugins = plugin_suites()
    if ref in from_plugins and from_plugins[ref].is_file():
        return from_plugins[ref]
    known = sorted({f.stem for d in dirs if d.is_dir() for f in d.glob("*.yaml") if not f.stem.startswith("_")} | set(from_plugins))
    raise SuiteError(f"suite {ref!r} not found (looked in {', '.join(map(str, dirs))}). Available: {', '.join(known) or '(none)'}")


def _read(path: Path, include_path, seen: tuple = ()) -> dict:
    if path.resolve() in seen:
        raise SuiteError(f"{path}: include cycle through {' -> '.join(map(str, seen))}")
    try:
        data = yaml.load(path.read_text(), Loader=_LineLoader) or {}
    except yaml.YAMLError as exc:
        raise SuiteError(f"{path}: invalid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise SuiteError(f"{path}: a suite must be a mapping")
    merged: dict = {"benchmarks": []}
    for inc in data.get("include") or []:
        inc_path = path.parent / inc if (path.parent / inc).exists() else find_suite(inc, include_path)
        sub = _read(inc_path, include_path, seen + (path.resolve(),))
        merged["benchmarks"] += sub.pop("benchmarks", [])
        merged.update(sub)
    benches = data.get("benchmarks") or []
    merged.update({k: v for k, v in data.items() if k not in ("include", "benchmarks")})
    merged["benchmarks"] += benches
    merged["__source__"] = str(path)
    return merged


def load_suite(ref: str, include_path: list[str] | tuple[str, ...] = ()) -> Suite:
    """Parse and validate a suite; errors name the file, line and field."""
    path = find_suite(ref, include_path)
    raw = _read(path, include_path)
    src = str(path)
    extra = set(raw) - SUITE_KEYS - {"__line__", "__source__"}
    if extra:
        raise _err(src, raw, f"unknown key(s) {sorted(extra)}; allowed: {sorted(SUITE_KEYS)}")
    benches = []
    for b in raw["benchmarks"]:
        if not isinstance(b, dict):
            raise SuiteError(f"{src}: each benchmark must be a mapping, got {b!r}")
        for k in ("name", "task", "dataset", "methods", "metrics"):
            if k not in b:
                raise _err(src, b, f"benchmark {b.get('name')!r}: missing field `{k}`")
        try:
            spec = task_spec(b["task"])
        except UnknownNameError:
            from zoo.taskspec import task_names

            raise _err(src, b, f"benchmark {b['name']!r}: task must be one of {', '.join(task_names())}, "
                               f"got {b['task']!r}") from None
        allowed = BENCH_KEYS | set(spec.bench_keys)
        bextra = set(b) - allowed - {"__line__"}
        if bextra:
            raise _err(src, b, f"benchmark {b.get('name')!r}: unknown key(s) {sorted(bextra)} for task {spec.name}; "
                               f"allowed: {sorted(allowed)}")
        options = {k: _strip(b[k]) for k in spec.bench_keys if k in b}
        problem = spec.validate(options)
        if problem:
            raise _err(src, b, f"benchmark {b['name']!r}: {problem}")
        ds = b["dataset"]
        ds = {"name": ds} if isinstance(ds, str) else ds
        if not isinstance(ds, dict) or "name" not in ds:
            raise _err(src, b, f"benchmark {b['name']!r}: dataset must be a name or a mapping with `name`")
        methods = []
        for m in b["methods"] or []:
            if isinstance(m, str):
                methods.append(MethodSpec(m))
            elif isinstance(m, dict) and "id" in m:
                s = m.get("settings")
                if s is not None and (not isinstance(s, list) or not all(isinstance(x, dict) for x in s)):
                    raise _err(src, m, f"method {m['id']!r}: settings must be a list of mappings")
                methods.append(MethodSpec(m["id"], _strip(s)))
            else:
                raise _err(src, b, f"benchmark {b['name']!r}: a method is an id or a mapping with `id`, got {_strip(m)!r}")
        metrics = []
        for m in b["metrics"] or []:
            if isinstance(m, str):
                metrics.append(MetricSpec(m, m))
            elif isinstance(m, dict) and "name" in m:
                opts = {k: v for k, v in _strip(m).items() if k not in ("name", "as")}
                metrics.append(MetricSpec(m["name"], m.get("as", m["name"]), opts))
            else:
                raise _err(src, b, f"benchmark {b['name']!r}: a metric is a name or a mapping with `name`, got {_strip(m)!r}")
        if not methods or not metrics:
            raise _err(src, b, f"benchmark {b['name']!r}: needs at least one method and one metric")
        shard = b.get("shard_size")
        if shard is not None and (not isinstance(shard, int) or isinstance(shard, bool) or shard < 1):
            raise _err(src, b, f"benchmark {b['name']!r}: shard_size must be a positive number of images, got {shard!r}")
        allow = _strip(b.get("allow_unavailable", []))
        if not isinstance(allow, list) or not all(isinstance(x, str) for x in allow):
            raise _err(src, b, f"benchmark {b['name']!r}: allow_unavailable must be a list of metric aliases "
                               f"or method ids, e.g. [lpips, fid], got {allow!r}")
        named = {m.alias for m in metrics} | {m.id for m in methods}
        stray = [x for x in allow if x not in named]
        if stray:
            raise _err(src, b, f"benchmark {b['name']!r}: allow_unavailable names {stray}, which are not among its "
                               f"metrics or methods ({', '.join(sorted(named))})")
        benches.append(Benchmark(
            name=b["name"], task=b["task"], dataset=_strip(ds), methods=methods, metrics=metrics,
            options=options, batch_size=int(b.get("batch_size", 4)), shard_size=shard, allow_unavailable=allow,
        ))
    names = [b.name for b in benches]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise SuiteError(f"{src}: duplicate benchmark name(s) {sorted(dup)}")
    if not benches:
        raise SuiteError(f"{src}: no benchmarks")
    return Suite(name=raw.get("name", path.stem), benchmarks=benches, seed=int(raw.get("seed", 0)),
                 round_outputs=bool(raw.get("round_outputs", True)),
                 samples_per_benchmark=int(raw.get("samples_per_benchmark", 2)), source=src)
