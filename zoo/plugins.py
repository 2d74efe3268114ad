"""Plugin loading: pluggy manager, entry-point group ``zoo``, ``ZOO_LOAD_PLUGINS``.

Built-in families under ``plugins/`` are found through the same entry points as anyone's.
``ZOO_LOAD_PLUGINS=a,b`` loads only those entry points; an empty value loads none.
A plugin that fails to import, targets another hook API version, or raises in a hook is
recorded in :func:`plugin_report` and skipped; the others keep working.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import os
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pluggy

from zoo import hookspecs
from zoo.errors import PluginError, UnknownNameError

ENTRY_POINT_GROUP = "zoo"
BUILTIN = "builtin"  # imagezoo's own tasks, metrics and datasets: always loaded
CORE_MODULE = "zoo.builtin"  # the only module the name BUILTIN may load

pm = pluggy.PluginManager("zoo")
pm.add_hookspecs(hookspecs)


@dataclass
class PluginInfo:
    name: str
    module: str
    version: str | None = None
    error: str | None = None
    registered: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


class Entry:
    """One registered thing: its name, the plugin that registered it, and the object.

    The object may be registered as a ``"module:attribute"`` string; it is imported on
    first use of :attr:`obj`, so building the registry imports no plugin code.
    """

    __slots__ = ("name", "_obj", "plugin", "task", "help")

    def __init__(self, name: str, obj: Any, plugin: str, task: str | None = None, help: str | None = None) -> None:
        self.name, self._obj, self.plugin, self.task, self.help = name, obj, plugin, task, help

    @property
    def obj(self) -> Any:
        if isinstance(self._obj, str):
            module, _, attr = self._obj.partition(":")
            try:
                self._obj = getattr(importlib.import_module(module), attr)
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # SystemExit included: a plugin must not end the process
                raise PluginError(f"plugin {self.plugin!r}: {self.name!r} points at {self._obj!r}, which cannot be "
                                  f"imported ({type(exc).__name__}: {exc}); fix the plugin or reinstall it") from exc
        return self._obj


def _lazy_ok(obj: Any) -> bool:
    return not isinstance(obj, str) or (obj.count(":") == 1 and all(obj.split(":")))


class _Kinds(dict):
    """kind -> {name: Entry}, each kind built from its hook on first access."""

    def __init__(self, reg: "Registry") -> None:
        super().__init__()
        self._reg = reg

    def __missing__(self, kind: str) -> dict[str, Entry]:
        if kind not in Registry.KINDS:
            raise KeyError(kind)
        table = self[kind] = {}
        self._reg._build(kind, table)
        return table


#: one thing of each kind, for messages
SINGULAR = {"tasks": "task", "methods": "method factory", "metrics": "metric", "datasets": "dataset",
            "catalog": "catalog entry", "suites": "suite", "commands": "command"}


def preferences() -> dict[str, Any]:
    """``ZOO_PREFER``: which plugin wins when two register one name.

    A comma-separated list: ``PLUGIN`` (it wins every conflict it is part of, earlier entries
    first) or ``NAME=PLUGIN`` (for that one name). Returns ``{"*": [plugins...], NAME: PLUGIN}``.
    """
    out: dict = {"*": []}
    for part in os.environ.get("ZOO_PREFER", "").split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, plugin = part.rpartition("=")
        if sep:
            out[name.strip()] = plugin.strip()
        else:
            out["*"].append(plugin)
    return out


class Registry:
    """Everything the loaded plugins registered, by kind (each kind built when first used).

    Two plugins registering one name is a *conflict*: the name is ambiguous, and using it
    (:meth:`get`, :func:`check_unambiguous`) is an error naming both plugins, until the user
    chooses one with ``ZOO_PREFER`` (:func:`preferences`). Built-in names are never replaced
    silently either: a plugin that registers ``psnr`` makes ``psnr`` ambiguous.
    """

    KINDS = ("tasks", "methods", "metrics", "datasets", "catalog", "suites", "commands")

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Entry]] = _Kinds(self)
        #: (kind, name) -> every entry registered under it, in registration order
        self.conflicts: dict[tuple[str, str], list[Entry]] = {}
        #: (kind, name) -> the plugin ZOO_PREFER chose and how
        self.choices: dict[tuple[str, str], dict[str, Any]] = {}

    def get(self, kind: str, name: str) -> Entry:
        table = self.items[kind]
        if name not in table:
            raise UnknownNameError(unknown_message(SINGULAR.get(kind, kind).replace("catalog entry", "method"), name, table))
        check_unambiguous(kind, name, self)
        return table[name]

    def unresolved(self, kind: str, name: str) -> list[Entry] | None:
        """The entries of an ambiguous name no preference resolved, else None."""
        self.items[kind]  # builds the kind (and its conflicts)
        key = (kind, name)
        if key in self.conflicts and key not in self.choices:
            return self.conflicts[key]
        return None

    def task_names(self) -> tuple[str, ...]:
        return tuple(self.items["tasks"])

    def _build(self, kind: str, table: dict[str, Entry]) -> None:
        hook = getattr(pm.hook, f"register_{kind}")
        for impl in hook.get_hookimpls():
            info = _state["infos"].setdefault(impl.plugin_name, PluginInfo(impl.plugin_name, repr(impl.plugin)))
            if info.error:
                continue
            register = _make_register(self, table, kind, impl.plugin_name, info)
            try:
                impl.function(register=register)
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # SystemExit included: a plugin must not end the process
                info.error = f"register_{kind}: {type(exc).__name__}: {exc}"
                if os.environ.get("ZOO_DEBUG"):
                    traceback.print_exc()


def failed_plugins() -> dict[str, str]:
    """Plugins that failed to load or register, with their errors."""
    return {n: i.error for n, i in _state["infos"].items() if i.error}


def unknown_message(what: str, name: str, choices) -> str:
    close = difflib.get_close_matches(name, list(choices), n=5, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    avail = ", ".join(sorted(choices)) or "(none)"
    broken = failed_plugins()
    why = "".join(f" Plugin {n!r} failed to load ({e}); it may have provided it." for n, e in sorted(broken.items()))
    return f"Unknown {what} {name!r}.{why}{hint} Available: {avail}"


_state: dict[str, Any] = {"loaded": False, "infos": {}, "registry": None, "warnings": []}


def _selected() -> set[str] | None:
    raw = os.environ.get("ZOO_LOAD_PLUGINS")
    if raw is None:
        return None
    return {n.strip() for n in raw.split(",") if n.strip()}


def load_entry_points() -> None:
    """Import every plugin of the ``zoo`` entry-point group once (respecting ZOO_LOAD_PLUGINS)."""
    if _state["loaded"]:
        return
    _state["loaded"] = True
    core = lambda e: e.name == BUILTIN and e.value == CORE_MODULE  # noqa: E731
    eps = sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (not core(e), e.name))
    wanted = _selected()
    from zoo.pluginprobe import probe

    # a plugin that ends the process at import (os._exit) is found by a probe process, not by us dying
    broken = probe([ep for ep in eps if not core(ep) and ep.name != BUILTIN and (wanted is None or ep.name in wanted)])
    for ep in eps:  # registration order = precedence: the built-ins first, then by name (a tie: sys.path order)
        if wanted is not None and ep.name not in wanted and ep.name != BUILTIN:
            continue
        if pm.has_plugin(ep.name) or (ep.name == BUILTIN and not core(ep)):
            first = _state["infos"].get(ep.name)
            msg = (f"two installed plugins are named {ep.name!r} ({first.module if first else CORE_MODULE} and "
                   f"{ep.value}); only the first is loaded. Rename the entry point of {ep.value} in its pyproject "
                   f"([project.entry-points.zoo])" + ("; 'builtin' is imagezoo's own" if ep.name == BUILTIN else ""))
            _state["warnings"].append(msg)
            print(f"warning: {msg}", file=sys.stderr)
            continue
        version = ep.dist.version if ep.dist is not None else None
        info = PluginInfo(name=ep.name, module=ep.value, version=version)
        _state["infos"][ep.name] = info
        if ep.name in broken:
            info.error = broken[ep.name]
            continue
        try:
            module = ep.load()
            api = getattr(module, "ZOO_HOOK_API", hookspecs.HOOK_API_VERSION)
            if api != hookspecs.HOOK_API_VERSION:
                raise PluginError(
                    f"plugin {ep.name!r} targets hook API version {api}, but this imagezoo provides "
                    f"version {hookspecs.HOOK_API_VERSION}; upgrade the plugin or imagezoo so they match"
                )
            pm.register(module, name=ep.name)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # a broken plugin must not break the others (SystemExit on import included)
            info.error = f"{type(exc).__name__}: {exc}"
    if wanted:
        found = {ep.name for ep in eps}
        for name in sorted(wanted - found - {BUILTIN}):
            close = difflib.get_close_matches(name, sorted(found), n=3, cutoff=0.5)
            msg = (f"ZOO_LOAD_PLUGINS names {name!r}, but no installed plugin has that entry-point name"
                   f"{'; did you mean ' + ', '.join(close) + '?' if close else ''} (installed: {', '.join(sorted(found))})")
            _state["warnings"].append(msg)
            print(f"warning: {msg}", file=sys.stderr)


def register_plugin(obj: Any, name: str) -> None:
    """Register an in-process plugin object (tests, notebooks) and rebuild the registry."""
    load_entry_points()  # installed plugins first, so they keep precedence over this one
    pm.register(obj, name=name)
    _state["infos"][name] = PluginInfo(name=name, module=getattr(obj, "__module__", repr(obj)))
    _state["registry"] = None


def unregister_plugin(name: str) -> None:
    """Remove a plugin registered with :func:`register_plugin`."""
    if pm.has_plugin(name):
        pm.unregister(name=name)
    _state["infos"].pop(name, None)
    _state["registry"] = None


def reset() -> None:
    """Forget every entry-point plugin and the built registry (next use reloads them)."""
    for name in list(_state["infos"]):
        if pm.has_plugin(name):
            pm.unregister(name=name)
    _state.update(loaded=False, infos={}, registry=None, warnings=[])


def _make_register(reg: Registry, table: dict[str, Entry], kind: str, plugin: str, info: PluginInfo) -> Callable:
    def register(name: str, obj: Any, task: str | None = None, help: str | None = None) -> None:
        if not isinstance(name, str) or not name or any(c.isspace() for c in name):
            raise PluginError(f"plugin {plugin!r} registered a {kind.rstrip('s')} entry with invalid name {name!r}")
        if kind == "suites":  # a suite is a file path, never imported
            obj = Path(obj)
        elif not _lazy_ok(obj):
            raise PluginError(f"plugin {plugin!r} registered {name!r} as {obj!r}; a string must be 'module:attribute'")
        if kind == "methods" and task not in reg.task_names():
            raise PluginError(
                f"plugin {plugin!r} registered method factory {name!r} with task={task!r}; "
                f"task must be one of {', '.join(reg.task_names())}"
            )
        entry = Entry(name=name, obj=obj, plugin=plugin, task=task, help=help)
        if name in table:  # a conflict: the name is ambiguous until ZOO_PREFER chooses (see Registry)
            entries = reg.conflicts.setdefault((kind, name), [table[name]])
            entries.append(entry)
            info.warnings.append(
                f"duplicate {SINGULAR.get(kind, kind)} {name!r}: also registered by plugin {entries[0].plugin!r}; "
                f"using it is an error until you choose one (ZOO_PREFER={name}={plugin} or "
                f"ZOO_PREFER={name}={entries[0].plugin}), or rename it"
            )
            chosen = _choose(name, entries)
            if chosen is not None:
                table[name] = chosen[0]
                reg.choices[(kind, name)] = {"plugin": chosen[0].plugin, "by": chosen[1],
                                             "registered_by": [e.plugin for e in entries]}
            info.registered.setdefault(kind, []).append(name)
            return
        table[name] = entry
        info.registered.setdefault(kind, []).append(name)

    return register


def _choose(name: str, entries: list[Entry]) -> tuple[Entry, str] | None:
    """The entry ZOO_PREFER picks among ``entries`` registered under ``name`` (and the setting), or None."""
    prefs = preferences()
    plugins = [e.plugin for e in entries]
    if name in prefs:
        for e in entries:
            if e.plugin == prefs[name]:
                return e, f"ZOO_PREFER={name}={e.plugin}"
        return None
    for p in prefs["*"]:
        if p in plugins:
            return entries[plugins.index(p)], f"ZOO_PREFER={p}"
    return None


def check_unambiguous(kind: str, name: str, reg: "Registry | None" = None) -> None:
    """Raise :class:`PluginError` when two plugins registered ``name`` and the user chose neither.

    Raises:
        PluginError: names every plugin that registered it and the ``ZOO_PREFER`` setting that chooses.
    """
    reg = reg or registry()
    entries = reg.unresolved(kind, name)
    if entries:
        plugins = [e.plugin for e in entries]
        raise PluginError(
            f"{SINGULAR.get(kind, kind)} {name!r} is registered by {len(plugins)} plugins ({', '.join(map(repr, plugins))}); "
            f"imagezoo will not guess whose numbers to report. Choose one with the environment variable "
            f"ZOO_PREFER={name}={plugins[0]} (or ZOO_PREFER=PLUGIN for every conflict), or uninstall one "
            f"(ZOO_LOAD_PLUGINS limits which load)"
        )


def plugin_choices() -> dict[str, dict[str, Any]]:
    """Conflicts ZOO_PREFER resolved: ``"kind/name" -> {plugin, by, registered_by}`` (recorded in meta.json)."""
    reg = registry()
    for kind in Registry.KINDS:
        reg.items[kind]
    return {f"{k}/{n}": v for (k, n), v in sorted(reg.choices.items())}


def registry() -> Registry:
    """The registry of every loaded plugin's registrations (created once; kinds built on use)."""
    if _state["registry"] is not None:
        return _state["registry"]
    load_entry_points()
    _state["registry"] = Registry()
    return _state["registry"]


def plugin_report() -> list[PluginInfo]:
    """Every plugin seen, with its version, what it registered, and its error if any."""
    reg = registry()
    for kind in Registry.KINDS:
        reg.items[kind]
    return sorted(_state["infos"].values(), key=lambda i: i.name)
