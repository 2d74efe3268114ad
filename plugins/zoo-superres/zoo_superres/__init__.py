"""imagezoo super-resolution plugin: classical interpolation and learned upscalers."""

from __future__ import annotations

import zoo

ZOO_HOOK_API = 1


@zoo.hookimpl
def register_methods(register):
    from zoo_superres.classical import Interpolation
    from zoo_superres.edsr import EDSR
    from zoo_superres.espcn import ESPCN
    from zoo_superres.rrdbnet import RRDBNet
    from zoo_superres.srcnn import SRCNN
    from zoo_superres.srvgg import SRVGGNetCompact

    register("interpolation", Interpolation, task="super-resolution")
    register("espcn", ESPCN, task="super-resolution")
    register("srcnn", SRCNN, task="super-resolution")
    register("edsr", EDSR, task="super-resolution")
    register("rrdbnet", RRDBNet, task="super-resolution")
    register("srvgg", SRVGGNetCompact, task="super-resolution")


@zoo.hookimpl
def register_catalog(register):
    from zoo_superres.catalog import ENTRIES

    for method_id, entry in ENTRIES.items():
        register(method_id, entry)
