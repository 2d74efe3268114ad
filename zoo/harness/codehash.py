"""What code produced a unit's values: plugin distribution, version and source hashes.

A unit's cache key (:mod:`zoo.harness.plan`) includes, for the method's factory, the task
spec and every metric, a :func:`code_identity`: the name and version of the distribution
that registered it, and a sha256 over the source files of the modules that define it,
its class hierarchy, and the modules of its own package those import (transitively).
Change a method's code (an editable install), bump its version, or reinstall it, and
its units are recomputed instead of reused.

Modules of the standard library and of third-party libraries that are not imagezoo
plugins (torch, compressai ...) are not hashed; their versions are in ``meta.json``.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import inspect
import os
import sys
import types
from functools import lru_cache
from typing import Any

CORE_PACKAGE = "zoo"


@lru_cache(maxsize=1)
def _plugin_distributions() -> dict[str, tuple[str, str]]:
    """Entry-point name of every installed ``zoo`` plugin -> (distribution name, version)."""
    out = {}
    for ep in md.entry_points(group="zoo"):
        dist = ep.dist
        if dist is not None:
            out[ep.name] = (dist.metadata["Name"], dist.version)
    return out


@lru_cache(maxsize=1)
def _plugin_packages() -> frozenset[str]:
    """Top-level packages of every installed plugin's entry point, and imagezoo's own."""
    tops = {ep.value.split(":")[0].split(".")[0] for ep in md.entry_points(group="zoo")}
    return frozenset(tops | {CORE_PACKAGE})


@lru_cache(maxsize=1)
def _site_dirs() -> tuple[str, ...]:
    """Folders installed distributions live in (site-packages of this interpreter and the user's)."""
    import site
    import sysconfig

    dirs = {sysconfig.get_paths()[k] for k in ("purelib", "platlib")}
    dirs |= set(getattr(site, "getsitepackages", lambda: [])())
    user = getattr(site, "getusersitepackages", lambda: None)()
    dirs |= {user} if isinstance(user, str) else set()
    return tuple(os.path.realpath(d) + os.sep for d in dirs if d)


def _hashed(module_name: str) -> bool:
    top = module_name.split(".")[0]
    if top in sys.stdlib_module_names or top == "builtins":
        return False
    if top in _plugin_packages():  # imagezoo's and every plugin's code, installed or editable
        return True
    # code no distribution installed (a plugin on sys.path, a test) is hashed; third-party
    # libraries in site-packages (torch, compressai) are not: their versions are in meta.json
    module = sys.modules.get(module_name)
    path = _source_file(module) if module is not None else None
    return path is not None and not os.path.realpath(path).startswith(_site_dirs())


def _source_file(module: types.ModuleType) -> str | None:
    path = getattr(module, "__file__", None)
    if not path or not path.endswith(".py") or not os.path.isfile(path):
        return None
    return path


@lru_cache(maxsize=4096)
def _file_digest(path: str, size: int, mtime_ns: int, ctime_ns: int) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def file_digest(path: str) -> str:
    """sha256 of a source file (memoised per path, size and times within this process)."""
    st = os.stat(path)
    return _file_digest(path, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _package_imports(module: types.ModuleType) -> set[str]:
    """Modules of ``module``'s own top-level package that it imports (as modules or names)."""
    top = module.__name__.split(".")[0]
    found = set()
    for value in list(vars(module).values()):
        if isinstance(value, types.ModuleType):
            name = value.__name__
        else:
            name = getattr(value, "__module__", None) if inspect.isclass(value) or inspect.isfunction(value) else None
        if isinstance(name, str) and name.split(".")[0] == top and name != module.__name__:
            found.add(name)
    return found


def defining_modules(obj: Any) -> list[str]:
    """Names of the modules whose source decides what ``obj`` (a factory, class or instance) computes.

    The module defining it, those defining each class of its hierarchy, and, within each
    of those modules' own package, the modules they import (transitively). Standard
    library and non-plugin third-party modules are left out.
    """
    if not (inspect.isclass(obj) or inspect.isfunction(obj) or inspect.ismethod(obj)):
        obj = type(obj)
    roots = [c.__module__ for c in inspect.getmro(obj)] if inspect.isclass(obj) else [obj.__module__]
    seen: set[str] = set()
    todo = [r for r in roots if isinstance(r, str)]
    while todo:
        name = todo.pop()
        if name in seen or not _hashed(name):
            continue
        seen.add(name)
        module = sys.modules.get(name)
        if module is None:
            continue
        if name.split(".")[0] != CORE_PACKAGE:  # the core is followed along the class hierarchy only
            todo += sorted(_package_imports(module) - seen)
    return sorted(seen)


def source_digest(obj: Any) -> tuple[str, list[str]]:
    """(sha256 over the defining modules' source files, the module names hashed)."""
    h = hashlib.sha256()
    names = defining_modules(obj)
    for name in names:
        path = _source_file(sys.modules[name])
        h.update(name.encode() + b"\0" + (file_digest(path) if path else "no-source").encode() + b"\n")
    return h.hexdigest()[:32], names


def code_identity(plugin: str | None, *objs: Any) -> dict[str, Any]:
    """The distribution, version and source hash of the code behind registered objects.

    Args:
        plugin: the name of the plugin that registered them (its entry-point name); a plugin
            registered in-process (not installed) has no distribution and is keyed by source alone.
        objs: the registered factory (class or function) and/or an instance it built.
    """
    dist, version = _plugin_distributions().get(plugin or "", (None, None))
    h = hashlib.sha256()
    for obj in objs:
        h.update(source_digest(obj)[0].encode())
    return {"plugin": plugin, "distribution": dist, "version": version, "source": h.hexdigest()[:32]}


def clear_caches() -> None:
    """Forget the memoised distribution tables (after installing or removing a plugin in-process)."""
    for fn in (_plugin_distributions, _plugin_packages, _site_dirs):
        fn.cache_clear()
