"""imagezoo compression plugin: classical codecs through Pillow, learned codecs through CompressAI."""

from __future__ import annotations

import zoo

ZOO_HOOK_API = 1


@zoo.hookimpl
def register_methods(register):
    # "module:class" strings: imported (with torch) only when a method is built
    register("pillow-codec", "zoo_compression.pillow_codecs:PillowCodec", task="compression")
    register("compressai", "zoo_compression.learned:CompressAICodec", task="compression")


@zoo.hookimpl
def register_catalog(register):
    from zoo_compression.catalog import ENTRIES

    for method_id, entry in ENTRIES.items():
        register(method_id, entry)
