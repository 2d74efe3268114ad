"""imagezoo super-resolution plugin: classical interpolation and learned upscalers."""

from __future__ import annotations

import zoo

ZOO_HOOK_API = 1


@zoo.hookimpl
def register_methods(register):
    from zoo_superres.classical import Interpolation
    from zoo_superres.espcn import ESPCN

    register("interpolation", Interpolation, task="super-resolution")
    register("espcn", ESPCN, task="super-resolution")


@zoo.hookimpl
def register_catalog(register):
    from zoo_superres.catalog import ENTRIES

    for method_id, entry in ENTRIES.items():
        register(method_id, entry)
