"""Plugin loading: pluggy manager, entry-point group ``zoo``, ``ZOO_LOAD_PLUGINS``.

Built-in families under ``plugins/`` are found through the same entry points as anyone's.
``ZOO_LOAD_PLUGINS=a,b`` loads only those entry points; an empty value loads none.
A plugin that fails to import, targets another hook API version, or raises in a hook is
recorded in :func:`plugin_report` and skipped; the others keep working.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import os
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

import pluggy

from zoo import hookspecs
from zoo.errors import PluginError, UnknownNameError

ENTRY_POINT_GROUP = "zoo"
BUILTIN = "builtin"  # imagezoo's own metrics and datasets: always loaded
TASKS = ("super-resolution", "compression", "translation", "style-transfer", "inversion")

pm = pluggy.PluginManager("zoo")
pm.add_hookspecs(hookspecs)


@dataclass
class PluginInfo:
    name: str
    module: str
    version: str | None = None
    error: str | None = None
    registered: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Entry:
    """One registered thing: what it is, and which plugin registered it."""

    name: str
    obj: Any
    plugin: str
    task: str | None = None


class Registry:
    """Everything the loaded plugins registered, by kind."""

    KINDS = ("methods", "metrics", "datasets", "catalog")

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Entry]] = {k: {} for k in self.KINDS}

    def get(self, kind: str, name: str) -> Entry:
        table = self.items[kind]
        if name not in table:
            raise UnknownNameError(unknown_message(kind[:-1] if kind != "catalog" else "method", name, table))
        return table[name]


def unknown_message(what: str, name: str, choices) -> str:
    close = difflib.get_close_matches(name, list(choices), n=5, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    avail = ", ".join(sorted(choices)) or "(none)"
    return f"Unknown {what} {name!r}.{hint} Available: {avail}"


_state: dict[str, Any] = {"loaded": False, "infos": {}, "registry": None}


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
    eps = sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (e.name != BUILTIN, e.name))
    wanted = _selected()
    for ep in eps:  # registration order = precedence: the built-ins first, then by name
        if wanted is not None and ep.name not in wanted and ep.name != BUILTIN:
            continue
        if pm.has_plugin(ep.name):
            continue
        version = ep.dist.version if ep.dist is not None else None
        info = PluginInfo(name=ep.name, module=ep.value, version=version)
        _state["infos"][ep.name] = info
        try:
            module = ep.load()
            api = getattr(module, "ZOO_HOOK_API", hookspecs.HOOK_API_VERSION)
            if api != hookspecs.HOOK_API_VERSION:
                raise PluginError(
                    f"plugin {ep.name!r} targets hook API version {api}, but this imagezoo provides "
                    f"version {hookspecs.HOOK_API_VERSION}; upgrade the plugin or imagezoo so they match"
                )
            pm.register(module, name=ep.name)
        except Exception as exc:  # a broken plugin must not break the others
            info.error = f"{type(exc).__name__}: {exc}"


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
    _state.update(loaded=False, infos={}, registry=None)


def _make_register(reg: Registry, kind: str, plugin: str, info: PluginInfo) -> Callable:
    def register(name: str, obj: Any, task: str | None = None) -> None:
        if not isinstance(name, str) or not name or any(c.isspace() for c in name):
            raise PluginError(f"plugin {plugin!r} registered a {kind[:-1]} with invalid name {name!r}")
        if kind == "methods" and task not in TASKS:
            raise PluginError(
                f"plugin {plugin!r} registered method factory {name!r} with task={task!r}; "
                f"task must be one of {', '.join(TASKS)}"
            )
        table = reg.items[kind]
        if name in table:
            raise PluginError(
                f"duplicate {kind[:-1]} {name!r}: registered by plugin {table[name].plugin!r} "
                f"and by plugin {plugin!r}; rename one or set ZOO_LOAD_PLUGINS to load only one"
            )
        table[name] = Entry(name=name, obj=obj, plugin=plugin, task=task)
        info.registered.setdefault(kind, []).append(name)

    return register


def registry() -> Registry:
    """The registry built from every loaded plugin's hooks (built once, then cached)."""
    if _state["registry"] is not None:
        return _state["registry"]
    load_entry_points()
    reg = Registry()
    for kind in Registry.KINDS:
        hook = getattr(pm.hook, f"register_{kind}")
        for impl in hook.get_hookimpls():
            info = _state["infos"].setdefault(impl.plugin_name, PluginInfo(impl.plugin_name, repr(impl.plugin)))
            if info.error:
                continue
            register = _make_register(reg, kind, impl.plugin_name, info)
            try:
                impl.function(register=register)
            except Exception as exc:
                info.error = f"register_{kind}: {type(exc).__name__}: {exc}"
                if os.environ.get("ZOO_DEBUG"):
                    traceback.print_exc()
    _state["registry"] = reg
    return reg


def plugin_report() -> list[PluginInfo]:
    """Every plugin seen, with its version, what it registered, and its error if any."""
    registry()
    return sorted(_state["infos"].values(), key=lambda i: i.name)
