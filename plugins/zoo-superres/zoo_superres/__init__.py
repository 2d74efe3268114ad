"""imagezoo super-resolution plugin: classical interpolation and learned upscalers."""

from __future__ import annotations

import zoo

ZOO_HOOK_API = 1


@zoo.hookimpl
def register_methods(register):
    # "module:class" strings: imported (with torch) only when a method is built
    register("interpolation", "zoo_superres.classical:Interpolation", task="super-resolution")
    register("espcn", "zoo_superres.espcn:ESPCN", task="super-resolution")
    register("srcnn", "zoo_superres.srcnn:SRCNN", task="super-resolution")
    register("edsr", "zoo_superres.edsr:EDSR", task="super-resolution")
    register("rrdbnet", "zoo_superres.rrdbnet:RRDBNet", task="super-resolution")
    register("srvgg", "zoo_superres.srvgg:SRVGGNetCompact", task="super-resolution")


@zoo.hookimpl
def register_catalog(register):
    from zoo_superres.catalog import ENTRIES

    for method_id, entry in ENTRIES.items():
        register(method_id, entry)
