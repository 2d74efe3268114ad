"""``samples-style``: held-out embedded photos as content, each paired with package-shipped style images.

Content images are the held-out split of :mod:`zoo.datasets.samples` (never used to train the
stylizers bundled here). Style images ship inside scikit-image: ``ihc`` (immunohistochemistry
stain, the style of the bundled fast-style network), ``hubble`` (Hubble deep field) and
``color`` (a colour wheel). ``ihc`` and ``hubble`` are not among the styles the bundled AdaIN
decoder was trained with, so for it they are held-out styles too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F

from zoo.datasets import Dataset, Item, center_crop
from zoo.datasets.samples import SAMPLES, _package_dir
from zoo.errors import ZooError
from zoo.images import read_image


def _skimage(name: str) -> Path:
    return _package_dir("skimage") / "data" / name


STYLES: dict[str, Path] = {
    "ihc": _skimage("ihc.png"),
    "hubble": _skimage("hubble_deep_field.jpg"),
    "color": _skimage("color.png"),
}


def style_image(name: str, size: int | None = 256) -> torch.Tensor:
    """A package-shipped style image: centre square, resized to ``size`` x ``size`` (antialiased)."""
    if name not in STYLES:
        raise ZooError(f"unknown style image {name!r}; the package-shipped styles are {sorted(STYLES)}")
    x = read_image(STYLES[name])
    x = center_crop(x, min(x.shape[-2:]))
    if size is not None and x.shape[-1] != size:
        x = F.interpolate(x[None], size=(size, size), mode="bicubic", antialias=True, align_corners=False)[0].clamp(0, 1)
    return x


def samples_style(styles: Sequence[str] = ("ihc", "hubble"), split: str = "heldout", crop: int | None = None,
                  style_size: int = 256, limit: int | None = None) -> Dataset:
    """Every (content, style) pair: ``split`` photos x ``styles``; item ids ``photo~style``.

    Args:
        styles: names from :data:`STYLES`.
        split: the photos' split (``heldout``: never seen by the bundled models).
        crop: centre-crop the content to at most crop x crop.
        style_size: side of the square style images.
        limit: keep only the first ``limit`` pairs.
    """
    if isinstance(styles, str):
        styles = [styles]
    unknown = [s for s in styles if s not in STYLES]
    if unknown or not styles:
        raise ZooError(f"samples-style: unknown style(s) {unknown or styles}; choose from {sorted(STYLES)}")
    if split not in SAMPLES:
        raise ZooError(f"samples-style: split must be one of {sorted(SAMPLES)}, got {split!r}")
    loaders = []
    for photo, path in SAMPLES[split].items():
        for s in styles:
            loaders.append((f"{photo}~{s}", (lambda p=path, s=s, i=f"{photo}~{s}": Item(i, read_image(p), {"style": style_image(s, style_size)}))))
    opts = {"styles": list(styles), "split": split, "crop": crop, "style_size": style_size, "limit": limit}
    return Dataset("samples-style", loaders[:limit] if limit else loaders, opts)


def style_pairs(content: dict, style: dict, crop: int | None = None, style_size: int | None = 512,
                limit: int | None = None, name: str | None = None) -> Dataset:
    """Pair two datasets: content item ``i`` gets style image ``i mod len(styles)`` (``extras['style']``).

    Args:
        content, style: dataset specs, e.g. ``{name: hub, repo: ..., revision: ..., parquet: ...}``,
            ``{name: folder, path: ...}`` or ``{name: samples, split: heldout}``.
        crop: centre-crop the content to at most crop x crop.
        style_size: side of the square (centre-cropped, resized) style images; None keeps them.
    """
    from zoo.datasets import build_dataset

    for what, spec in (("content", content), ("style", style)):
        if not isinstance(spec, dict) or "name" not in spec:
            raise ZooError(f"style-pairs: {what} must be a dataset spec with a `name:` (e.g. {{name: samples}}), got {spec!r}")
    cds = build_dataset(**content)
    sds = build_dataset(**style)

    def load(i: int) -> Item:
        item = cds[i]
        s = sds[i % len(sds)].image
        s = center_crop(s, min(s.shape[-2:]))
        if style_size is not None:
            s = F.interpolate(s[None], size=(style_size, style_size), mode="bicubic", antialias=True,
                              align_corners=False)[0].clamp(0, 1)
        return Item(f"{item.id}~{sds.ids[i % len(sds)]}", item.image, {"style": s})

    loaders = [(f"{cid}~{sds.ids[i % len(sds)]}", (lambda i=i: load(i))) for i, cid in enumerate(cds.ids)]
    opts = {"content": cds.options | {"name": cds.name}, "style": sds.options | {"name": sds.name}, "crop": crop,
            "style_size": style_size, "limit": limit}
    return Dataset(name or f"{cds.name}+{sds.name}", loaders[:limit] if limit else loaders, opts)
