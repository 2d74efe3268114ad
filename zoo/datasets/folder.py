"""Image folders: single, paired (translation) and with style images (stylization)."""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

from zoo.datasets.base import Dataset, Item
from zoo.errors import ZooError
from zoo.images import EXTENSIONS, read_image


def list_images(path: str | os.PathLike) -> list[Path]:
    root = Path(path)
    if not root.is_dir():
        raise ZooError(f"folder dataset: {root} is not a directory; pass path= an existing folder of images")
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS)


def folder(path: str, pair_path: str | None = None, style_path: str | None = None, name: str | None = None,
           crop: int | None = None, limit: int | None = None, pattern: str = "*") -> Dataset:
    """Every image under ``path`` (recursively, sorted by relative path).

    Args:
        pair_path: folder of targets matched by relative path without extension (``extras['target']``).
        style_path: folder of style images, assigned to items in turn (``extras['style']``).
        pattern: glob on the relative path (e.g. ``HR/*.png``).
    """
    root = Path(path)
    files = [f for f in list_images(root) if fnmatch.fnmatch(f.relative_to(root).as_posix(), pattern)]
    pairs: dict[str, Path] = {}
    if pair_path:
        pairs = {str(p.relative_to(pair_path).with_suffix("")): p for p in list_images(pair_path)}
        missing = [str(f.relative_to(root)) for f in files if str(f.relative_to(root).with_suffix("")) not in pairs]
        if missing:
            raise ZooError(f"paired folder: no target in {pair_path} for {missing[:5]} (matched by name without extension)")
    styles = list_images(style_path) if style_path else []
    if style_path and not styles:
        raise ZooError(f"style folder {style_path} has no images")

    def loader(i: int, f: Path):
        def load() -> Item:
            key = str(f.relative_to(root).with_suffix(""))
            extras = {}
            if pairs:
                extras["target"] = read_image(pairs[key])
            if styles:
                extras["style"] = read_image(styles[i % len(styles)])
            return Item(key, read_image(f), extras)

        return load

    loaders = [(str(f.relative_to(root).with_suffix("")), loader(i, f)) for i, f in enumerate(files)]
    if not loaders:
        raise ZooError(f"folder dataset: no images matching {pattern!r} under {root} (extensions {', '.join(EXTENSIONS)})")
    opts = {"path": str(root), "pattern": pattern, "pair_path": pair_path, "style_path": style_path, "crop": crop, "limit": limit}
    ds = Dataset(name or root.name, loaders[:limit] if limit else loaders, opts)
    ds.files = files  # every matching file, before limit (variant manifests are over the whole set)
    return ds
