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
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from zoo.taskspec import task_spec

from zoo.errors import PluginError, SuiteError, UnknownNameError, ZooError
from zoo.tolerance import suite_tolerances

SUITE_KEYS = {"name", "seed", "include", "benchmarks", "description", "round_outputs", "samples_per_benchmark",
              "tolerances"}
#: keys every benchmark may set; each task's spec adds its own (``TaskSpec.bench_keys``)
BENCH_KEYS = {"name", "task", "dataset", "methods", "metrics", "batch_size", "shard_size", "allow_unavailable", "baselines",
              "timeout"}

#: columns the harness writes beside the metrics (cost and bookkeeping): no metric may be named so
RESERVED_COLUMNS = ("*", "runtime_ms", "encode_ms", "decode_ms", "params", "peak_mem_mb")
#: seeds torch, numpy and Python all take
MAX_SEED = 2**32 - 1


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
    #: method ids that are this benchmark's trivial baselines: a method below one is marked in the report
    baselines: list[str] = field(default_factory=list)
    #: why the dataset is not here (a folder the suite names that does not exist, listed in allow_unavailable)
    dataset_missing: str | None = None
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
    #: the regression gate's tolerances for this suite (``tolerances:`` NAME: TOL; see zoo.tolerance)
    tolerances: dict = field(default_factory=dict)

    @property
    def folder_name(self) -> str:
        """The suite's name as one safe folder name (the default output folder is ``runs/<folder_name>``)."""
        return safe_folder_name(self.name)


def safe_folder_name(name: str) -> str:
    """``name`` as a single path component: letters, digits, ``._-`` kept, anything else ``-``; never ``.``/``..``."""
    import re

    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", str(name)).strip("-.")
    return safe[:100] or "suite"


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


#: A suite file larger than this is refused (a suite is a few kilobytes of YAML).
MAX_SUITE_BYTES = 8 << 20


def _read_text(path: Path) -> str:
    """A suite file's text; anything but a regular file (a FIFO, a device, a folder) is refused before it is opened."""
    import stat

    try:
        st = os.stat(path)
    except OSError as exc:
        raise SuiteError(f"{path}: cannot be read ({exc.strerror}); check the path") from None
    if not stat.S_ISREG(st.st_mode):
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file (a pipe, socket or device)"
        raise SuiteError(f"{path}: is {kind}; a suite is a YAML file")
    if st.st_size > MAX_SUITE_BYTES:
        raise SuiteError(f"{path}: {st.st_size} bytes is too large for a suite file (limit {MAX_SUITE_BYTES} bytes)")
    with open(path, "rb") as f:
        data = f.read(MAX_SUITE_BYTES + 1)
    if len(data) > MAX_SUITE_BYTES:
        raise SuiteError(f"{path}: too large for a suite file (limit {MAX_SUITE_BYTES} bytes)")
    return data.decode("utf-8")


def _read(path: Path, include_path, seen: tuple = ()) -> dict:
    if path.resolve() in seen:
        raise SuiteError(f"{path}: include cycle through {' -> '.join(map(str, seen))}")
    try:
        text = _read_text(path)
    except UnicodeDecodeError as exc:
        raise SuiteError(f"{path}: not a text file ({exc.reason}); a suite is a UTF-8 YAML file") from exc
    try:
        data = yaml.load(text, Loader=_LineLoader) or {}
    except yaml.YAMLError as exc:
        raise SuiteError(f"{path}: invalid YAML: {exc}") from exc
    except RecursionError:
        raise SuiteError(f"{path}: nested too deeply to be a suite") from None
    except ValueError as exc:  # a number too long to convert (Python's 4300-digit limit)
        raise SuiteError(f"{path}: a value cannot be read ({exc}); write numbers of sensible size") from None
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


#: dataset options that name a local file or folder (resolved against the suite file)
PATH_OPTIONS = ("path", "pair_path", "style_path")


def shipped_suite(path: str | Path) -> bool:
    """Is ``path`` a suite shipped inside imagezoo or a plugin (whose folder cannot hold the user's data)?"""
    p = Path(path).resolve()
    roots = {builtin_suite_dir().resolve()}
    try:
        roots |= {f.resolve().parent for f in plugin_suites().values()}
    except Exception:  # a broken plugin: its suites are not shipped ones here
        pass
    return any(p.parent == r or r in p.parents for r in roots)


def resolve_dataset_paths(ds: dict, suite_file: str) -> dict:
    """``ds`` with relative ``path``/``pair_path``/``style_path`` made absolute.

    A relative path is resolved against the folder of the suite file that names it, so a suite
    reads the same data wherever `zoo bench` is started. A suite shipped inside imagezoo or a
    plugin names folders the user adds, so its relative paths are resolved against the current
    folder instead (docs/reliability.md). ``~`` is the home folder.
    """
    base = Path.cwd() if shipped_suite(suite_file) else Path(suite_file).resolve().parent
    out = dict(ds)
    for key in PATH_OPTIONS:
        value = out.get(key)
        if isinstance(value, str) and value:
            p = Path(value).expanduser()
            out[key] = str(p if p.is_absolute() else (base / p).resolve())
    return out


def dataset_folders(suite: "Suite") -> list[Path]:
    """Every local folder the suite's datasets read (``path``, ``pair_path``, ``style_path``)."""
    return [Path(b.dataset[k]) for b in suite.benchmarks for k in PATH_OPTIONS if isinstance(b.dataset.get(k), str)]


def _check_local_dataset(ds: dict, where: str, allow_missing: bool, suite_file: str = "") -> str | None:
    """Folders the dataset names exist; a ``folder`` dataset's pattern and items are valid.

    Returns why the dataset is missing when ``allow_missing`` (the benchmark lists ``dataset``
    in ``allow_unavailable``) and a folder does not exist; raises otherwise.
    """
    for key in PATH_OPTIONS:
        value = ds.get(key)
        if isinstance(value, str) and value and not Path(value).exists():
            base = ("the current folder: this suite ships with imagezoo or a plugin" if shipped_suite(suite_file)
                    else "the suite file's folder")
            why = (f"dataset {key} {value} does not exist; add the folder there, or change `{key}:` in the suite "
                   f"(a relative path is read from {base})")
            if allow_missing:
                return why
            raise SuiteError(f"{where}: {why}; a benchmark whose data may be absent lists `dataset` in allow_unavailable")
        if not isinstance(value, (str, type(None))):
            raise SuiteError(f"{where}: dataset option {key} must be a path, got {value!r}")
    from zoo.plugins import registry

    entry = registry().items["datasets"].get(ds["name"])
    from zoo.datasets.folder import folder

    if entry is not None and entry.obj is folder:
        try:
            folder(**{k: v for k, v in ds.items() if k != "name"})
        except ZooError as exc:
            raise SuiteError(f"{where}: {exc}") from None
    return None


def _check_method(m: MethodSpec, task: str, where: str) -> None:
    """An id the catalog knows, of the benchmark's task, and settings its card allows."""
    from zoo.catalog import get_card
    from zoo.errors import OptionsError, ZooError
    from zoo.loading import check_options
    from zoo.plugins import registry

    from zoo.plugins import check_unambiguous

    try:
        card = get_card(m.id)
        check_unambiguous("methods", card.factory)
    except (UnknownNameError, PluginError) as exc:
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


def _unambiguous(kind: str, name: str, where: str) -> None:
    """A name two plugins registered (and the user did not choose between) is a suite error naming both."""
    from zoo.plugins import check_unambiguous

    try:
        check_unambiguous(kind, name)
    except PluginError as exc:
        raise SuiteError(f"{where}: {exc}") from None


def _reserved_alias(ms: MetricSpec, metric_names: set[str], aliases: dict) -> str | None:
    """Why a metric's column name is taken (a cost or bookkeeping column, another metric's), or None."""
    a = ms.alias
    if a in RESERVED_COLUMNS or a.endswith("_ms"):
        return "is a column the harness writes (cost and bookkeeping columns: runtime_ms, params, peak_mem_mb, *_ms)"
    if ":" in a:
        return "holds ':', which marks a metric's summary columns (ALIAS:gap ...)"
    if a != ms.name and a in metric_names:
        return f"is the name of metric {a!r}, but it holds {ms.name}"
    head = a.split(".", 1)[0]
    if "." in a and head in aliases:
        return f"is a sub-column of metric column {head!r} (a metric with named outputs writes {head}.NAME)"
    clash = [x for x in aliases if x.startswith(a + ".")]
    if clash:
        return f"would own the sub-column {clash[0]!r} listed before it"
    return None


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
    for key, ok, what in (("seed", lambda v: _is_int(v) and 0 <= v <= MAX_SEED, f"a whole number from 0 to {MAX_SEED}"), ("round_outputs", lambda v: isinstance(v, bool), "true or false"),
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
        ds_where = f"{bsrc}:{_line(ds) or _line(b)}: benchmark {name!r}"
        _unambiguous("tasks", spec.name, f"{bsrc}:{_line(b)}: benchmark {name!r}")
        _unambiguous("datasets", _strip(ds["name"]), ds_where)
        _dataset_options(_strip(ds), ds_where)
        ds = resolve_dataset_paths(_strip(ds), bsrc)
        allow_raw = _strip(b.get("allow_unavailable", []))
        dataset_missing = _check_local_dataset(ds, ds_where, isinstance(allow_raw, list) and "dataset" in allow_raw, bsrc)
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
            _unambiguous("metrics", ms.name, where)
            if ms.alias in aliases:
                raise SuiteError(f"{where}: metric column {ms.alias!r} is used twice (also line {aliases[ms.alias]}); two "
                                 f"metrics would mix in one column. Give one of them another name with `as:`")
            reserved = _reserved_alias(ms, metric_names, aliases)
            if reserved:
                raise SuiteError(f"{where}: metric column {ms.alias!r} {reserved}; its numbers would mix with that column's. "
                                 f"Give it another name with `as:`")
            aliases[ms.alias] = ms.line or _line(b)
            metrics.append(ms)
        allow = _strip(b.get("allow_unavailable", []))
        if not isinstance(allow, list) or not all(isinstance(x, str) for x in allow):
            raise _err(bsrc, b, f"benchmark {name!r}: allow_unavailable must be a list of metric aliases "
                                f"or method ids, e.g. [lpips, fid], got {allow!r}")
        named = {m.alias for m in metrics} | {m.id for m in methods} | {"dataset"}
        stray = [x for x in allow if x not in named]
        if stray:
            raise _err(bsrc, b, f"benchmark {name!r}: allow_unavailable names {stray}, which are not among its "
                                f"metrics or methods ({', '.join(sorted(named))})")
        btimeout = _timeout(b.get("timeout"), f"{bsrc}:{_line(b)}: benchmark {name!r}")
        baselines = _strip(b.get("baselines", []))
        ids = [m.id for m in methods]
        if not isinstance(baselines, list) or not all(isinstance(x, str) for x in baselines):
            raise _err(bsrc, b, f"benchmark {name!r}: baselines must be a list of method ids, got {baselines!r}")
        stray = [x for x in baselines if x not in ids]
        if stray:
            raise _err(bsrc, b, f"benchmark {name!r}: baselines names {stray}, which are not among its methods "
                                f"({', '.join(ids)}); list each baseline under methods: too")
        benches.append(Benchmark(
            name=name, task=spec.name, dataset=ds, methods=methods, metrics=metrics,
            options=options, batch_size=int(b.get("batch_size", 4)), shard_size=b.get("shard_size"),
            allow_unavailable=allow, baselines=baselines, dataset_missing=dataset_missing, line=_line(b), source=bsrc,
            timeout=btimeout,
        ))
    names = [b.name for b in benches]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise SuiteError(f"{src}: duplicate benchmark name(s) {sorted(dup)}")
    if not benches:
        raise SuiteError(f"{src}: no benchmarks")
    return Suite(name=_strip(raw.get("name", path.stem)), benchmarks=benches, seed=int(raw.get("seed", 0)),
                 round_outputs=bool(raw.get("round_outputs", True)),
                 samples_per_benchmark=int(raw.get("samples_per_benchmark", 2)), source=src,
                 tolerances=suite_tolerances(_strip(raw.get("tolerances")), src))
