"""Image folders: single, paired (translation) and with style images (stylization).

An item's id is its path relative to the folder, without the extension (``sub/x`` for
``sub/x.png``). Two files that would share an id (``a.png`` and ``a.jpg``) are refused, naming
both: one id must stand for one image, or a run's rows and ``zoo compare`` mix two images.
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path, PurePosixPath

from zoo.datasets.base import Dataset, Item
from zoo.errors import ZooError
from zoo.images import EXTENSIONS, read_image


def list_images(path: str | os.PathLike) -> list[Path]:
    """Every image file under ``path`` (recursively, sorted by path).

    Raises:
        ZooError: ``path`` does not exist or is not a folder.
    """
    root = Path(path)
    if not root.is_dir():
        why = "does not exist" if not root.exists() else "is not a directory"
        raise ZooError(f"folder dataset: {root} {why}; pass path= an existing folder of images")
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS)


def check_pattern(pattern: str) -> None:
    """Refuse a glob that is empty, absolute, climbs out of the folder (``..``) or has an unclosed ``[``.

    Raises:
        ZooError: names the pattern and what is wrong with it.
    """
    if not isinstance(pattern, str) or not pattern.strip():
        raise ZooError(f"folder dataset: pattern must be a non-empty glob such as '*.png', got {pattern!r}")
    parts = PurePosixPath(pattern.replace("\\", "/")).parts
    if pattern.startswith(("/", "\\")) or ".." in parts or (len(pattern) > 1 and pattern[1] == ":"):
        raise ZooError(f"folder dataset: pattern {pattern!r} reaches outside the folder; a pattern is matched "
                       f"against paths inside `path` (e.g. 'HR/*.png'): point `path` at the folder instead")
    depth = 0
    for i, c in enumerate(pattern):
        if c == "[" and depth == 0:
            depth = 1
            start = i
        elif c == "]" and depth and i > start + 1:
            depth = 0
    if depth:
        raise ZooError(f"folder dataset: pattern {pattern!r} is not a valid glob (a '[' is never closed); "
                       f"write '[[]' for a literal '['")


def item_ids(root: Path, files: list[Path], what: str = "folder dataset") -> dict[str, Path]:
    """id (relative path without extension) -> file; two files with one id are refused, naming both."""
    ids: dict[str, Path] = {}
    for f in files:
        key = f.relative_to(root).with_suffix("").as_posix()
        if key in ids:
            raise ZooError(f"{what}: {ids[key]} and {f} would both be item {key!r} (an item is its path without "
                           f"the extension); rename or remove one of them, or select one with pattern: (e.g. '*.png')")
        ids[key] = f
    return ids


def folder(path: str, pair_path: str | None = None, style_path: str | None = None, name: str | None = None,
           crop: int | None = None, limit: int | None = None, pattern: str = "*") -> Dataset:
    """Every image under ``path`` (recursively, sorted by relative path).

    Args:
        pair_path: folder of targets matched by relative path without extension (``extras['target']``).
        style_path: folder of style images, assigned to items in turn (``extras['style']``).
        pattern: glob on the relative path (e.g. ``HR/*.png``); never ``..`` or absolute.

    Raises:
        ZooError: a folder is missing, the pattern is invalid or matches nothing, two files
            would be one item, or an item has no paired target.
    """
    check_pattern(pattern)
    root = Path(path)
    files = [f for f in list_images(root) if fnmatch.fnmatch(f.relative_to(root).as_posix(), pattern)]
    ids = item_ids(root, files)
    pairs: dict[str, Path] = {}
    if pair_path:
        pairs = item_ids(Path(pair_path), list_images(pair_path), "paired folder")
        missing = [k for k in ids if k not in pairs]
        if missing:
            raise ZooError(f"paired folder: no target in {pair_path} for {missing[:5]} (matched by name without extension)")
    styles = list_images(style_path) if style_path else []
    if style_path and not styles:
        raise ZooError(f"style folder {style_path} has no images")

    def loader(i: int, key: str, f: Path):
        def load() -> Item:
            extras = {}
            if pairs:
                extras["target"] = read_image(pairs[key])
            if styles:
                extras["style"] = read_image(styles[i % len(styles)])
            return Item(key, read_image(f), extras)

        return load

    loaders = [(key, loader(i, key, f)) for i, (key, f) in enumerate(ids.items())]
    if not loaders:
        raise ZooError(f"folder dataset: no images matching {pattern!r} under {root} (extensions {', '.join(EXTENSIONS)})")
    opts = {"path": str(root), "pattern": pattern, "pair_path": pair_path, "style_path": style_path, "crop": crop, "limit": limit}
    ds = Dataset(name or root.name, loaders[:limit] if limit else loaders, opts)
    ds.files = files  # every matching file, before limit (variant manifests are over the whole set)
    return ds
