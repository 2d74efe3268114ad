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
BENCH_KEYS = {"name", "task", "dataset", "methods", "metrics", "batch_size", "shard_size", "allow_unavailable", "timeout"}


#: A suite that expands (through YAML anchors and aliases) to more values than this is refused.
MAX_SUITE_VALUES = 100_000


@dataclass
class MetricSpec:
    name: str
    alias: str
    options: dict = field(default_factory=dict)
    line: int | None = None


@dataclass
class MethodSpec:
    id: str
    settings: list[dict] | None = None  # None: the card's settings
    line: int | None = None
    timeout: float | None = None  # seconds a unit of this method may run in a worker (zoo.harness.runner)


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
    line: int | None = None
    source: str = ""
    timeout: float | None = None  # seconds each unit may run in a worker; a method's own `timeout` wins

    def where(self, line: int | None = None) -> str:
        """``file:line`` of this benchmark (or of one of its entries) for error messages."""
        line = line or self.line
        return f"{self.source}{f':{line}' if line else ''}"


@dataclass
class Suite:
    name: str
    benchmarks: list[Benchmark]
    seed: int = 0
    round_outputs: bool = True
    samples_per_benchmark: int = 2
    source: str = ""


class _LineLoader(yaml.SafeLoader):
    """Keeps the line of every mapping and string so errors can name it."""


class _LineStr(str):
    """A YAML string that remembers its line."""

    line: int | None = None


def _construct_mapping(loader, node, deep=False):
    mapping = yaml.SafeLoader.construct_mapping(loader, node, deep=deep)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


def _construct_str(loader, node):
    value = _LineStr(yaml.SafeLoader.construct_yaml_str(loader, node))
    value.line = node.start_mark.line + 1
    return value


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor("tag:yaml.org,2002:str", _construct_str)


def _line(node: Any) -> int | None:
    return node.get("__line__") if isinstance(node, dict) else getattr(node, "line", None)


def _err(src: str, node: Any, msg: str) -> SuiteError:
    line = _line(node)
    return SuiteError(f"{src}{f':{line}' if line else ''}: {msg}")


def _strip(x: Any) -> Any:
    if isinstance(x, dict):
        return {_strip(k): _strip(v) for k, v in x.items() if k not in ("__line__", "__file__")}
    if isinstance(x, list):
        return [_strip(v) for v in x]
    if isinstance(x, _LineStr):
        return str.__str__(x)
    return x


def _expanded_size(data: Any, limit: int) -> int:
    """How many values ``data`` holds once YAML aliases are expanded (counted over the shared graph, never expanded)."""
    memo: dict[int, int] = {}

    def size(x: Any) -> int:
        if id(x) in memo:
            return memo[id(x)]
        if isinstance(x, dict):
            n = 1 + sum(size(v) for v in x.values())
        elif isinstance(x, list):
            n = 1 + sum(size(v) for v in x)
        else:
            return 1
        memo[id(x)] = n = min(n, limit + 1)
        return n

    return size(data)


def _timeout(value: Any, where: str) -> float | None:
    """A suite's ``timeout:`` (seconds a unit may run in a worker), checked."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or value == float("inf"):
        raise SuiteError(f"{where}: timeout must be a positive number of seconds, got {_strip(value)!r}")
    return float(value)


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


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
        text = path.read_text()
    except UnicodeDecodeError as exc:
        raise SuiteError(f"{path}: not a text file ({exc.reason}); a suite is a UTF-8 YAML file") from exc
    try:
        data = yaml.load(text, Loader=_LineLoader) or {}
    except yaml.YAMLError as exc:
        raise SuiteError(f"{path}: invalid YAML: {exc}") from exc
    except RecursionError:
        raise SuiteError(f"{path}: nested too deeply to be a suite") from None
    if not isinstance(data, dict):
        raise SuiteError(f"{path}: a suite must be a mapping")
    if _expanded_size(data, MAX_SUITE_VALUES) > MAX_SUITE_VALUES:
        raise SuiteError(f"{path}: expands to more than {MAX_SUITE_VALUES} values through YAML anchors and aliases "
                         f"(an alias bomb?); write the suite out, or split it with include:")
    includes = data.get("include") or []
    if not isinstance(includes, list) or not all(isinstance(i, str) for i in includes):
        raise _err(str(path), data, f"include must be a list of suite files, got {_strip(includes)!r}")
    if not isinstance(data.get("benchmarks") or [], list):
        raise _err(str(path), data, "benchmarks must be a list of benchmark mappings")
    merged: dict = {"benchmarks": []}
    for inc in includes:
        inc_path = path.parent / inc if (path.parent / inc).exists() else find_suite(inc, include_path)
        sub = _read(inc_path, include_path, seen + (path.resolve(),))
        merged["benchmarks"] += sub.pop("benchmarks", [])
        merged.update(sub)
    benches = data.get("benchmarks") or []
    for b in benches:
        if isinstance(b, dict):
            b.setdefault("__file__", str(path))  # errors name the file a benchmark is written in
    merged.update({k: v for k, v in data.items() if k not in ("include", "benchmarks")})
    merged["benchmarks"] += benches
    merged["__source__"] = str(path)
    return merged


def _dataset_options(ds: dict, where: str) -> None:
    """Refuse an unknown dataset, or an option its builder does not take, before anything runs."""
    import inspect

    from zoo.datasets.hub import catalog_datasets, hub
    from zoo.plugins import registry, unknown_message

    name = ds["name"]
    kinds = registry().items["datasets"]
    catalog = catalog_datasets()
    if name in kinds:
        builder = kinds[name].obj
    elif name in catalog:
        builder = hub  # from_catalog passes these through; `path` (a local copy) is its own
    else:
        raise SuiteError(f"{where}: {unknown_message('dataset', name, [*kinds, *catalog])}")
    try:
        params = inspect.signature(builder).parameters
    except (TypeError, ValueError):
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    accepted = {k for k, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)} - {"name"}
    if builder is hub:
        accepted.add("path")
    unknown = sorted(set(ds) - {"name"} - accepted)
    if unknown:
        raise SuiteError(f"{where}: dataset {name!r} takes no option(s) {unknown}; its options are {sorted(accepted)}")
    for key in ("crop", "limit"):
        value = ds.get(key)
        if value is not None and (not _is_int(value) or value < 1):
            raise SuiteError(f"{where}: dataset option {key} must be a positive number of pixels/images, got {value!r}")


def _check_method(m: MethodSpec, task: str, where: str) -> None:
    """An id the catalog knows, of the benchmark's task, and settings its card allows."""
    from zoo.catalog import get_card
    from zoo.errors import OptionsError, ZooError
    from zoo.loading import check_options
    from zoo.plugins import registry

    try:
        card = get_card(m.id)
    except UnknownNameError as exc:
        raise SuiteError(f"{where}: {exc}") from None
    if card.task != task:
        raise SuiteError(f"{where}: {m.id} is a {card.task} method; this benchmark's task is {task}")
    if not m.settings:
        return
    try:
        factory = registry().get("methods", card.factory).obj
    except ZooError:
        return  # the method is reported unavailable with its reason when the suite runs
    for setting in m.settings:
        try:
            check_options(card, factory, setting)
        except OptionsError as exc:
            raise SuiteError(f"{where}: {exc}") from None


def load_suite(ref: str, include_path: list[str] | tuple[str, ...] = ()) -> Suite:
    """Parse and validate a suite; errors name the file, line and field.

    Everything a suite names is checked here, before anything runs: keys, types, the task,
    the dataset and its options, every method id and setting, every metric name and that
    aliases are unique, and that no method and setting is listed twice.

    Raises:
        SuiteError: ``file:line: what is wrong and how to fix it``.
    """
    from zoo.plugins import registry, unknown_message

    path = find_suite(ref, include_path)
    raw = _read(path, include_path)
    src = str(path)
    extra = set(raw) - SUITE_KEYS - {"__line__", "__source__"}
    if extra:
        raise _err(src, raw, f"unknown key(s) {sorted(extra)}; allowed: {sorted(SUITE_KEYS)}")
    for key, ok, what in (("seed", _is_int, "a whole number"), ("round_outputs", lambda v: isinstance(v, bool), "true or false"),
                          ("samples_per_benchmark", lambda v: _is_int(v) and v >= 0, "a whole number >= 0"),
                          ("name", lambda v: isinstance(v, str) and v.strip(), "a non-empty name")):
        if key in raw and not ok(raw[key]):
            raise _err(src, raw, f"{key} must be {what}, got {_strip(raw[key])!r}")
    metric_names = set(registry().items["metrics"])
    benches = []
    for b in raw["benchmarks"]:
        if not isinstance(b, dict):
            raise _err(src, b, f"each benchmark must be a mapping, got {_strip(b)!r}")
        bsrc = b.get("__file__", src)
        for k in ("name", "task", "dataset", "methods", "metrics"):
            if k not in b:
                raise _err(bsrc, b, f"benchmark {_strip(b.get('name'))!r}: missing field `{k}`")
        name = _strip(b["name"])
        if not isinstance(name, str) or not name.strip():
            raise _err(bsrc, b, f"benchmark name must be a non-empty string, got {name!r}")
        try:
            spec = task_spec(b["task"])
        except (UnknownNameError, TypeError):
            from zoo.taskspec import task_names

            raise _err(bsrc, b, f"benchmark {name!r}: task must be one of {', '.join(task_names())}, "
                                f"got {_strip(b['task'])!r}") from None
        allowed = BENCH_KEYS | set(spec.bench_keys)
        bextra = set(b) - allowed - {"__line__", "__file__"}
        if bextra:
            raise _err(bsrc, b, f"benchmark {name!r}: unknown key(s) {sorted(map(str, bextra))} for task {spec.name}; "
                                f"allowed: {sorted(allowed)}")
        options = {k: _strip(b[k]) for k in spec.bench_keys if k in b}
        problem = spec.validate(options)
        if problem:
            raise _err(bsrc, b, f"benchmark {name!r}: {problem}")
        for key in ("batch_size", "shard_size"):
            value = b.get(key)
            if value is not None and (not _is_int(value) or value < 1):
                raise _err(bsrc, b, f"benchmark {name!r}: {key} must be a positive number of images, got {_strip(value)!r}")
        ds = b["dataset"]
        ds = {"name": ds} if isinstance(ds, str) else ds
        if not isinstance(ds, dict) or not isinstance(ds.get("name"), str):
            raise _err(bsrc, b, f"benchmark {name!r}: dataset must be a name or a mapping with `name`")
        _dataset_options(_strip(ds), f"{bsrc}:{_line(ds) or _line(b)}: benchmark {name!r}")
        for key in ("methods", "metrics"):
            if not isinstance(b[key], list) or not b[key]:
                raise _err(bsrc, b, f"benchmark {name!r}: {key} must be a non-empty list, got {_strip(b[key])!r}"
                                    + (f"; write [{_strip(b[key])}]" if isinstance(b[key], str) else ""))
        methods, seen_settings = [], {}
        for m in b["methods"]:
            where = f"{bsrc}:{_line(m) or _line(b)}: benchmark {name!r}"
            if isinstance(m, str):
                spec_m = MethodSpec(_strip(m), None, _line(m))
            elif isinstance(m, dict) and isinstance(m.get("id"), str):
                unknown = set(m) - {"id", "settings", "timeout", "__line__"}
                if unknown:
                    raise SuiteError(f"{where}: method {_strip(m['id'])!r}: unknown key(s) {sorted(map(str, unknown))}; "
                                     f"a method is {{id: ..., settings: [...], timeout: SECONDS}}")
                st = m.get("settings")
                if st is not None and (not isinstance(st, list) or not st or not all(isinstance(x, dict) for x in st)):
                    raise SuiteError(f"{where}: method {_strip(m['id'])!r}: settings must be a non-empty list of mappings")
                spec_m = MethodSpec(_strip(m["id"]), _strip(st), _line(m), _timeout(m.get("timeout"), where))
            else:
                raise SuiteError(f"{where}: a method is an id or a mapping with `id`, got {_strip(m)!r}")
            _check_method(spec_m, spec.name, where)
            from zoo.harness.execute import setting_str

            for st in spec_m.settings or [None]:
                key = (spec_m.id, setting_str(st) if st is not None else "(the card's settings)")
                if key in seen_settings:
                    raise SuiteError(f"{where}: method {spec_m.id} at {key[1]} is listed twice (also line "
                                     f"{seen_settings[key]}); its items would be counted twice. Remove one")
                seen_settings[key] = spec_m.line or _line(b)
            methods.append(spec_m)
        metrics, aliases = [], {}
        for m in b["metrics"]:
            where = f"{bsrc}:{_line(m) or _line(b)}: benchmark {name!r}"
            if isinstance(m, str):
                ms = MetricSpec(_strip(m), _strip(m), {}, _line(m))
            elif isinstance(m, dict) and isinstance(m.get("name"), str):
                alias = m.get("as", m["name"])
                if not isinstance(alias, str) or not alias.strip():
                    raise SuiteError(f"{where}: metric {_strip(m['name'])!r}: `as` must be a non-empty name, got {_strip(alias)!r}")
                opts = {k: v for k, v in _strip(m).items() if k not in ("name", "as")}
                ms = MetricSpec(_strip(m["name"]), _strip(alias), opts, _line(m))
            else:
                raise SuiteError(f"{where}: a metric is a name or a mapping with `name`, got {_strip(m)!r}")
            if ms.name not in metric_names:
                raise SuiteError(f"{where}: {unknown_message('metric', ms.name, metric_names)}")
            if ms.alias in aliases:
                raise SuiteError(f"{where}: metric column {ms.alias!r} is used twice (also line {aliases[ms.alias]}); two "
                                 f"metrics would mix in one column. Give one of them another name with `as:`")
            aliases[ms.alias] = ms.line or _line(b)
            metrics.append(ms)
        allow = _strip(b.get("allow_unavailable", []))
        if not isinstance(allow, list) or not all(isinstance(x, str) for x in allow):
            raise _err(bsrc, b, f"benchmark {name!r}: allow_unavailable must be a list of metric aliases "
                                f"or method ids, e.g. [lpips, fid], got {allow!r}")
        named = {m.alias for m in metrics} | {m.id for m in methods}
        stray = [x for x in allow if x not in named]
        if stray:
            raise _err(bsrc, b, f"benchmark {name!r}: allow_unavailable names {stray}, which are not among its "
                                f"metrics or methods ({', '.join(sorted(named))})")
        btimeout = _timeout(b.get("timeout"), f"{bsrc}:{_line(b)}: benchmark {name!r}")
        benches.append(Benchmark(
            name=name, task=spec.name, dataset=_strip(ds), methods=methods, metrics=metrics,
            options=options, batch_size=int(b.get("batch_size", 4)), shard_size=b.get("shard_size"),
            allow_unavailable=allow, line=_line(b), source=bsrc, timeout=btimeout,
        ))
    names = [b.name for b in benches]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise SuiteError(f"{src}: duplicate benchmark name(s) {sorted(dup)}")
    if not benches:
        raise SuiteError(f"{src}: no benchmarks")
    return Suite(name=_strip(raw.get("name", path.stem)), benchmarks=benches, seed=int(raw.get("seed", 0)),
                 round_outputs=bool(raw.get("round_outputs", True)),
                 samples_per_benchmark=int(raw.get("samples_per_benchmark", 2)), source=src)
