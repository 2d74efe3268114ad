"""imagezoo compression plugin: classical codecs through Pillow, learned codecs through CompressAI."""

from __future__ import annotations

import zoo

ZOO_HOOK_API = 1


@zoo.hookimpl
def register_methods(register):
    from zoo_compression.learned import CompressAICodec
    from zoo_compression.pillow_codecs import PillowCodec

    register("pillow-codec", PillowCodec, task="compression")
    register("compressai", CompressAICodec, task="compression")


@zoo.hookimpl
def register_catalog(register):
    from zoo_compression.catalog import ENTRIES

    for method_id, entry in ENTRIES.items():
        register(method_id, entry)
