"""Datasets: the lfw_subset faces the offline generator was (and was not) trained on, and an
edit set built from them (each item carries ``mask`` and ``scribble`` extras)."""

from __future__ import annotations

import torch

from zoo.datasets import Dataset, Item
from zoo_inversion.offline import N_TRAIN, lfw_faces


def lfw32(split: str = "heldout", limit: int | None = None) -> Dataset:
    """Faces of scikit-image's ``lfw_subset`` at 32 x 32 (train: 0-89, heldout: 90-99)."""
    faces = lfw_faces(split)
    first = N_TRAIN if split == "heldout" else 0
    loaders = [(f"lfw-{first + i:03d}", (lambda i=i: Item(f"lfw-{first + i:03d}", faces[i]))) for i in range(len(faces))]
    return Dataset(f"lfw32-{split}", loaders[:limit] if limit else loaders, {"split": split, "limit": limit})


def edit_item(face: torch.Tensor, index: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A deterministic edit request on one face: a rectangular mask (1 = edit) and a scribble
    that paints it a flat colour (alternating bright and dark, so edits go both ways)."""
    h, w = face.shape[-2:]
    mask = torch.zeros(1, h, w)
    top, left = h // 4 + (index % 3), w // 4 + (index % 5)
    mask[:, top: top + h // 3, left: left + w // 2] = 1
    colour = 0.9 if index % 2 == 0 else 0.1
    scribble = face * (1 - mask) + colour * mask
    return mask, scribble


def lfw32_edits(split: str = "heldout", limit: int | None = None) -> Dataset:
    """:func:`lfw32` with ``extras = {"mask": 1 x H x W, "scribble": 3 x H x W}`` per item."""
    faces = lfw_faces(split)
    first = N_TRAIN if split == "heldout" else 0

    def load(i: int) -> Item:
        mask, scribble = edit_item(faces[i], first + i)
        return Item(f"lfw-{first + i:03d}", faces[i], {"mask": mask, "scribble": scribble})

    loaders = [(f"lfw-{first + i:03d}", (lambda i=i: load(i))) for i in range(len(faces))]
    return Dataset(f"lfw32-edits-{split}", loaders[:limit] if limit else loaders, {"split": split, "limit": limit})
