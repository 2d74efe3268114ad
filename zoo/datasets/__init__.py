"""Datasets: sequences of images with stable ids and a content hash.

Built-in kinds (registered through ``register_datasets`` like any plugin's):

* ``samples``: real photographs shipped inside scikit-image, scikit-learn and matplotlib,
  with a fixed ``train`` / ``heldout`` split. Works offline.
* ``folder``: every image under ``path`` (sorted); ``pair_path`` adds paired targets
  matched by file stem (translation); ``style_path`` adds style images (stylization).
* ``hub``: an image dataset repository on the Hugging Face Hub at a pinned revision;
  catalog entries in registry.yaml (``datasets:``) name Kodak, Set5, Set14, ...
"""

from __future__ import annotations

from typing import Any

from zoo.datasets.base import Dataset, Item, center_crop
from zoo.errors import UnknownNameError
from zoo.plugins import registry, unknown_message

__all__ = ["Dataset", "Item", "build_dataset", "center_crop"]


def build_dataset(name: str, **options: Any) -> Dataset:
    """A registered dataset kind, or a catalog dataset (``datasets:`` in registry.yaml)."""
    table = registry().items["datasets"]
    if name in table:
        return table[name].obj(**options)
    from zoo.datasets.hub import catalog_datasets, from_catalog

    known = catalog_datasets()
    if name in known:
        return from_catalog(name, **options)
    raise UnknownNameError(unknown_message("dataset", name, [*table, *known]))
