"""The embedded photographs: real images shipped inside scikit-image, scikit-learn and matplotlib."""

from __future__ import annotations

from pathlib import Path

from zoo.datasets.base import Dataset, Item
from zoo.errors import OptionsError, ZooError
from zoo.images import read_image


def _package_dir(package: str) -> Path:
    """A package's folder without importing it (scikit-learn and matplotlib take seconds to import)."""
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ZooError(f"the embedded photographs need the {package} package: pip install {package}")
    return Path(list(spec.submodule_search_locations)[0])


def _skimage(name: str) -> Path:
    return _package_dir("skimage") / "data" / name


def _sklearn(name: str) -> Path:
    return _package_dir("sklearn") / "datasets" / "images" / name


def _mpl(name: str) -> Path:
    return _package_dir("matplotlib") / "mpl-data" / "sample_data" / name


#: Fixed split. Held-out images are never used to train the project's bundled models.
SAMPLES: dict[str, dict[str, Path]] = {
    "train": {
        "astronaut": _skimage("astronaut.png"),
        "coffee": _skimage("coffee.png"),
        "hubble": _skimage("hubble_deep_field.jpg"),
        "retina": _skimage("retina.jpg"),
        "motorcycle": _skimage("motorcycle_left.png"),
        "ihc": _skimage("ihc.png"),
        "camera": _skimage("camera.png"),
        "grass": _skimage("grass.png"),
        "gravel": _skimage("gravel.png"),
        "brick": _skimage("brick.png"),
        "china": _sklearn("china.jpg"),
    },
    "heldout": {
        "chelsea": _skimage("chelsea.png"),
        "rocket": _skimage("rocket.jpg"),
        "flower": _sklearn("flower.jpg"),
        "grace_hopper": _mpl("grace_hopper.jpg"),
    },
}


def samples(split: str = "heldout", crop: int | None = None, limit: int | None = None) -> Dataset:
    """Embedded sample photographs.

    Args:
        split: ``train``, ``heldout`` or ``all``.
        crop: centre-crop every image to at most crop x crop pixels.
        limit: keep only the first ``limit`` images.
    """
    if split not in ("train", "heldout", "all"):
        raise OptionsError("dataset samples", "split", split, ["train", "heldout", "all"])
    files = {**SAMPLES["train"], **SAMPLES["heldout"]} if split == "all" else SAMPLES[split]
    loaders = [(name, (lambda n=name, p=path: Item(n, read_image(p)))) for name, path in files.items()]
    return Dataset(f"samples-{split}", loaders[:limit] if limit else loaders, {"split": split, "crop": crop, "limit": limit})


def random_patches(images: list, n: int, size: int, gen) -> "torch.Tensor":
    """``n`` random ``size`` x ``size`` crops (half of them mirrored) of 3 x H x W images.

    The patch sampler of the training scripts of the models this project bundles; all the
    randomness comes from ``gen`` (a seeded ``torch.Generator``), so a run is reproducible.
    """
    import torch

    out = []
    for _ in range(n):
        img = images[int(torch.randint(len(images), (1,), generator=gen))]
        h, w = img.shape[-2:]
        top = int(torch.randint(h - size + 1, (1,), generator=gen))
        left = int(torch.randint(w - size + 1, (1,), generator=gen))
        p = img[:, top : top + size, left : left + size]
        if torch.rand(1, generator=gen) < 0.5:
            p = p.flip(-1)
        out.append(p)
    return torch.stack(out)

