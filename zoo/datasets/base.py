"""Dataset and Item: sequences of images with stable ids and a content hash."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable

import torch

from zoo.errors import ZooError


@dataclass
class Item:
    """One dataset item: an id, an image (3 x H x W float32 in [0, 1]), extras and attributes.

    ``extras`` holds task inputs beside the image (``target``, ``style``, ``mask``,
    ``scribble``); ``attributes`` holds JSON-serialisable item labels (group labels for the
    fairness probes), which land in the results' ``attributes`` column.
    """

    id: str
    image: torch.Tensor
    extras: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)


class Dataset:
    """A list of lazily-decoded items with a content hash.

    Args:
        name: dataset name as reported in results.
        loaders: (item id, loader) pairs; each loader returns an :class:`Item`.
        options: everything that changes the content (split, crop ...), for the fingerprint.
    """

    def __init__(self, name: str, loaders: list[tuple[str, Callable[[], Item]]], options: dict | None = None) -> None:
        if not loaders:
            raise ZooError(f"dataset {name!r} has no images (options {options or {}})")
        self.name = name
        self._loaders = loaders
        self.options = dict(options or {})
        self._cache: dict[int, Item] = {}
        #: seconds spent decoding (and cropping) items so far: the harness's ``decode_s``
        self.decode_s = 0.0
        #: which catalog variant the files are (zoo.datasets.variants.identify), None where not checked
        self.variant: dict[str, Any] | None = None

    def __len__(self) -> int:
        return len(self._loaders)

    def __getitem__(self, i: int) -> Item:
        if i not in self._cache:
            t0 = time.perf_counter()
            item = self._loaders[i][1]()
            crop = self.options.get("crop")
            if crop:  # extras of the image's size (target, mask) are cropped with it
                hw = item.image.shape[-2:]
                extras = {k: center_crop(v, int(crop)) if isinstance(v, torch.Tensor) and v.shape[-2:] == hw else v
                          for k, v in item.extras.items()}
                item = Item(item.id, center_crop(item.image, int(crop)), extras, item.attributes)
            self._cache[i] = item
            self.decode_s += time.perf_counter() - t0
        return self._cache[i]

    def subset(self, start: int, stop: int) -> "Dataset":
        """Items ``start``..``stop-1`` (a shard), sharing this dataset's loaded images."""
        if (start, stop) == (0, len(self)):
            return self
        sub = Dataset(self.name, self._loaders[start:stop], self.options)
        sub._cache = {i - start: item for i, item in self._cache.items() if start <= i < stop}
        sub.variant = self.variant
        return sub

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    @property
    def ids(self) -> list[str]:
        return [i for i, _ in self._loaders]

    @cached_property
    def content_hash(self) -> str:
        """sha256 over every item's id, attributes, shape and uint8 pixels (and paired/style images)."""
        import json

        from zoo.images import to_uint8

        h = hashlib.sha256()
        for i in range(len(self)):
            try:
                item = self[i]
            except ZooError as exc:  # an unreadable file: that item fails when measured, the rest are measured
                h.update(f"unreadable:{self._loaders[i][0]}:{exc}".encode())
                continue
            h.update(item.id.encode())
            if item.attributes:
                h.update(json.dumps(item.attributes, sort_keys=True, default=str).encode())
            for t in [item.image, *[v for v in item.extras.values() if isinstance(v, torch.Tensor)]]:
                h.update(str(tuple(t.shape)).encode())
                h.update(to_uint8(t).numpy().tobytes())
        return h.hexdigest()


def center_crop(x: torch.Tensor, size: int) -> torch.Tensor:
    """Centre crop to at most size x size."""
    h, w = x.shape[-2:]
    th, tw = min(size, h), min(size, w)
    top, left = (h - th) // 2, (w - tw) // 2
    return x[..., top : top + th, left : left + tw]
