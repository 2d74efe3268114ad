"""Translation tasks with known answers, built from the embedded photographs.

Three tasks, all offline (``zoo.datasets.samples``: train split for fitting and training,
held-out split for measuring):

* **sketch** (paired, the bundled pix2pix): input = a photo, target = :func:`sketch` of it,
  a pencil drawing (colour dodge of the luma over its blurred negative). A local,
  detail-dependent mapping: no global colour transfer can produce it.
  ``translation-sketch`` items carry ``extras["target"]``.
* **gray2color** (paired): input = BT.601 luma of a photo replicated to three channels,
  target = the photo (``translation-gray2color``). A colorizer trained on the 11 train
  photos does not generalise to the held-out ones (the gray input scores higher PSNR), so no
  model is bundled for it; it stays as a benchmark.
* **graded** (unpaired with a known answer, CycleGAN): domain A = one half of the train
  photos, domain B = :func:`grade` applied to the *other* half: every train photo is cut
  in two down the middle, its left half goes to A and the grade of its right half to B, so
  no pixel is ever seen both plain and graded (no (x, f(x)) pair exists in training), while
  both domains show the same kinds of scenes. (Splitting by whole photos instead leaves the
  domains differing in content as much as in the grade: with 11 very different photos,
  even the best 6/5 split gives a global colour transfer that is worse than identity.) Held-out items carry ``extras["target"] = grade(x)``: PSNR / SSIM of G(x)
  against it measure the translation against a real ground truth.

:func:`grade` is the fixed appearance transform f, a warm "film" colour grade applied per
pixel: per-channel gamma ``(0.65, 0.95, 1.5)`` (lifts red, deepens blue), then the channel
mix ``M`` and the offset ``b`` below (lifted blacks). Every row of ``M`` plus its offset sums
to at most 1, so nothing clips: f is monotone in each channel and invertible, and a cycle
``F(G(x))`` can in principle return to ``x``. On the held-out photos identity scores about
18 dB PSNR against f(x).
"""

from __future__ import annotations

from pathlib import Path

import torch

from zoo.datasets import Dataset, Item
from zoo.datasets.samples import samples
from zoo.errors import ZooError

GRADE_GAMMA = (0.65, 0.95, 1.5)
GRADE_MIX = ((0.80, 0.08, 0.00), (0.05, 0.80, 0.10), (0.00, 0.15, 0.65))
GRADE_OFFSET = (0.12, 0.04, 0.10)
LUMA = (0.299, 0.587, 0.114)  # BT.601 full-range luma weights
SKETCH_SIGMA = 3.0


def grade(x: torch.Tensor) -> torch.Tensor:
    """The known-answer appearance transform f (``... x 3 x H x W`` in [0, 1] -> same)."""
    gamma = torch.tensor(GRADE_GAMMA, dtype=x.dtype, device=x.device).view(3, 1, 1)
    mix = torch.tensor(GRADE_MIX, dtype=x.dtype, device=x.device)
    offset = torch.tensor(GRADE_OFFSET, dtype=x.dtype, device=x.device).view(3, 1, 1)
    y = torch.einsum("ij,...jhw->...ihw", mix, x.clamp(0, 1) ** gamma) + offset
    return y.clamp(0, 1)


def to_gray(x: torch.Tensor) -> torch.Tensor:
    """BT.601 luma of RGB in [0, 1], replicated to three channels (the gray2color input)."""
    w = torch.tensor(LUMA, dtype=x.dtype, device=x.device).view(3, 1, 1)
    return (x * w).sum(-3, keepdim=True).expand_as(x).clone().clamp(0, 1)


def _gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    from torch.nn import functional as F

    r = int(3 * sigma)
    t = torch.arange(-r, r + 1, dtype=x.dtype, device=x.device)
    g = torch.exp(-(t**2) / (2 * sigma**2))
    g = g / g.sum()
    flat = x.reshape(-1, 1, *x.shape[-2:])
    flat = F.pad(flat, (r, r, r, r), mode="replicate")
    flat = F.conv2d(F.conv2d(flat, g.view(1, 1, 1, -1)), g.view(1, 1, -1, 1))
    return flat.reshape(x.shape)


def sketch(x: torch.Tensor) -> torch.Tensor:
    """Pencil sketch of ``... x 3 x H x W`` RGB in [0, 1]: ``clamp(Y / (1 - G(1 - Y)), 0, 1)``.

    ``Y`` is the BT.601 luma, ``G`` a Gaussian blur with sigma 3 px (replicate padding); the
    gray result is replicated to three channels (the "colour dodge" pencil-drawing filter).
    """
    y = (x * torch.tensor(LUMA, dtype=x.dtype, device=x.device).view(3, 1, 1)).sum(-3, keepdim=True)
    s = (y / (1 - _gaussian_blur(1 - y, SKETCH_SIGMA)).clamp_min(1e-3)).clamp(0, 1)
    return s.expand_as(x).clone()


def photo2sketch(split: str = "heldout", crop: int | None = None, limit: int | None = None) -> Dataset:
    """Paired photo -> :func:`sketch` items (``extras["target"]``), train or held-out photos.

    The target is computed from the (cropped) photo, so crops stay aligned.
    """
    if split not in ("train", "heldout"):
        raise ZooError(f"translation-sketch: split must be 'train' or 'heldout', got {split!r}")
    base = samples(split, crop=crop, limit=limit)

    def load(i: int) -> Item:
        item = base[i]
        return Item(item.id, item.image, {"target": sketch(item.image)})

    loaders = [(name, (lambda i=i: load(i))) for i, name in enumerate(base.ids)]
    return Dataset(f"sketch-{split}", loaders, {"split": split, "crop": crop, "limit": limit, "task": "sketch"})


def halves(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Left half (domain A) and right half (domain B, before the grade) of a 3 x H x W photo."""
    w = x.shape[-1] // 2
    return x[..., :w], x[..., w:]


def gray2color(split: str = "heldout", crop: int | None = None, limit: int | None = None) -> Dataset:
    """Paired gray -> colour items: image = :func:`to_gray` (photo), ``extras["target"]`` = photo.

    Args:
        split: ``train`` or ``heldout`` of the embedded photographs.
        crop: centre crop to at most crop x crop pixels (applied to input and target alike).
        limit: keep the first ``limit`` items.
    """
    if split not in ("train", "heldout"):
        raise ZooError(f"translation-gray2color: split must be 'train' or 'heldout', got {split!r}")
    base = samples(split, crop=crop, limit=limit)

    def load(i: int) -> Item:
        item = base[i]
        return Item(item.id, to_gray(item.image), {"target": item.image})

    loaders = [(name, (lambda i=i: load(i))) for i, name in enumerate(base.ids)]
    return Dataset(f"gray2color-{split}", loaders, {"split": split, "crop": crop, "limit": limit, "task": "gray2color"})


def graded(split: str = "heldout", crop: int | None = None, limit: int | None = None) -> Dataset:
    """The known-answer unpaired task (see the module docstring).

    Args:
        split: ``heldout`` (image x, ``extras["target"]`` = grade(x)), ``train-A`` (left
            halves of the train photos) or ``train-B`` (graded right halves).
        crop, limit: as for ``samples``.
    """
    if split not in ("heldout", "train-A", "train-B"):
        raise ZooError(f"translation-graded: split must be 'heldout', 'train-A' or 'train-B', got {split!r}")
    if split == "heldout":
        base = samples("heldout", crop=crop, limit=limit)

        def load(i: int) -> Item:
            item = base[i]
            return Item(item.id, item.image, {"target": grade(item.image)})

        ids = base.ids
    else:
        base = samples("train", crop=crop, limit=limit)
        side = 0 if split == "train-A" else 1

        def load(i: int) -> Item:
            item = base[i]
            half = halves(item.image)[side]
            return Item(item.id, grade(half) if side else half, {})

        ids = base.ids
    loaders = [(name, (lambda i=i: load(i))) for i, name in enumerate(ids)]
    return Dataset(f"graded-{split}", loaders, {"split": split, "crop": crop, "limit": limit, "task": "graded"})


def domain_images(task: str) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Train-split images of domain A and domain B for ``task`` (``sketch``, ``gray2color`` or ``graded``).

    For sketch and gray2color both domains are the whole train split (photos and sketches,
    gray and colour); for graded they are the disjoint halves (left halves, graded right halves).
    """
    if task == "sketch":
        photos = [item.image for item in samples("train")]
        return photos, [sketch(x) for x in photos]
    if task == "gray2color":
        colour = [item.image for item in samples("train")]
        return [to_gray(x) for x in colour], colour
    if task == "graded":
        return [it.image for it in graded("train-A")], [it.image for it in graded("train-B")]
    raise ZooError(f"unknown translation task {task!r}; choose 'sketch', 'gray2color' or 'graded'")


def aligned(path: str, direction: str = "AtoB", crop: int | None = None, limit: int | None = None,
            name: str | None = None) -> Dataset:
    """pix2pix's aligned datasets: each file holds A and B side by side (``A | B``).

    This is the layout of the official pix2pix datasets (``datasets/download_pix2pix_dataset.sh
    facades`` -> ``datasets/facades/test/*.jpg``, 512 x 256 each). Items: image = the source
    half, ``extras["target"]`` = the other half.

    Args:
        path: folder of aligned images.
        direction: ``AtoB`` (left half -> right half) or ``BtoA``; e.g. facades label -> photo
            and maps map -> aerial are ``BtoA`` (A is the photo in both).
        crop: centre crop of both halves to at most crop x crop pixels.
    """
    from zoo.datasets import center_crop
    from zoo.datasets.folder import list_images
    from zoo.images import read_image

    if direction not in ("AtoB", "BtoA"):
        raise ZooError(f"pix2pix-aligned: direction must be 'AtoB' or 'BtoA', got {direction!r}")
    root = Path(path)
    files = list_images(root)
    if not files:
        raise ZooError(f"pix2pix-aligned: no images under {root}; fetch a pix2pix dataset with the official script")

    def load(f: Path) -> Item:
        img = read_image(f)
        w = img.shape[-1] // 2
        if w == 0 or img.shape[-1] % 2:
            raise ZooError(f"pix2pix-aligned: {f} is {img.shape[-1]} px wide; expected two halves side by side (A | B)")
        a, b = img[..., :w], img[..., w:]
        src, tgt = (a, b) if direction == "AtoB" else (b, a)
        if crop:
            src, tgt = center_crop(src, crop), center_crop(tgt, crop)
        return Item(f.stem, src, {"target": tgt})

    loaders = [(str(f.relative_to(root).with_suffix("")), (lambda f=f: load(f))) for f in files]
    return Dataset(name or f"{root.name}-{direction}", loaders[:limit] if limit else loaders,
                   {"path": str(root), "direction": direction, "crop": crop, "limit": limit})
