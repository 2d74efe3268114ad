"""The plugin contract. These docstrings are the plugin author's reference (see docs/plugins.md).

Every hook receives a ``register`` callback; the host validates names, detects duplicates
and records which plugin registered what. Anything registered may be given as the object
itself or as a ``"module:attribute"`` string, imported only when first used (so listing
the catalog never imports torch).
"""

from __future__ import annotations

import pluggy

#: Version of the hook API described here. A plugin may set ``ZOO_HOOK_API = 1`` in its
#: module; a different value is reported as an error and the plugin is not loaded.
HOOK_API_VERSION = 1

hookspec = pluggy.HookspecMarker("zoo")
hookimpl = pluggy.HookimplMarker("zoo")


@hookspec
def register_tasks(register):
    """Register task specs: ``register(name, spec)``; ``spec`` is a :class:`zoo.taskspec.TaskSpec` subclass."""


@hookspec
def register_methods(register):
    """Register method factories: ``register(name, factory, task="super-resolution")``."""


@hookspec
def register_metrics(register):
    """Register metric factories: ``register(name, factory)``; ``factory(**options) -> Metric``."""


@hookspec
def register_datasets(register):
    """Register dataset factories: ``register(name, factory)``; ``factory(**options) -> Dataset``."""


@hookspec
def register_catalog(register):
    """Register catalog entries: ``register(method_id, entry_dict)`` in the registry.yaml schema."""


@hookspec
def register_suites(register):
    """Register suite files: ``register(name, path)``; ``zoo bench NAME`` then finds the YAML at ``path``."""


@hookspec
def register_commands(register):
    """Register ``zoo`` sub-commands: ``register(name, "module:function", help="one line")``; ``function(argv) -> int``."""
