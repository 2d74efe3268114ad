"""Face datasets with group labels: embedded faces for smoke tests, FairFace for real probing.

``samples-faces``: the colour photographs of faces that ship inside installed packages,
cropped to 256 x 256 around the face (fixed boxes, found once with the LBP cascade):
scikit-image's ``astronaut.png`` (Eileen Collins, NASA, public domain) and matplotlib's
``grace_hopper.jpg`` (US Navy photograph, public domain); ``size`` below 256 scales the
crop down. Optionally the first ``lfw`` of
the 100 face crops in scikit-image's ``lfw_subset.npy`` (Labeled Faces in the Wild; 25 x 25
**grayscale**), upscaled bicubically to ``lfw_size``: grayscale has b* = 0, so the
skin-tone probe reports them as unmeasurable (with the reason); they serve the
quality-gap probe and the no-colour path. Two colour faces are a smoke test, not a
fairness audit: real probing needs a labelled set such as FairFace.

Each item carries ``attributes`` (in ``extras["attributes"]`` until ``zoo.datasets.Item``
has its own field): ``source``, ``colour`` and ``ita_category``, the Del Bino category
*measured* on the image by this plugin (not an annotation; "unmeasured" for grayscale).

``fairface``: Kärkkäinen and Joo, "FairFace: Face Attribute Dataset for Balanced Race,
Gender, and Age", WACV 2021 (arXiv:1908.04913), CC BY 4.0, from the Hugging Face Hub
dataset ``HuggingFaceM4/FairFace`` at a pinned commit; labels (race, gender, age) become
attributes by their names (the parquet files' own label metadata, else the dataset card's).
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from zoo.datasets import Dataset, Item
from zoo.errors import ZooError
from zoo_fairness.counterfactual import DEFAULT_TONES

#: name -> (package, file, top, left): a 256 x 256 crop around the face.
FACES: dict[str, tuple[str, str, int, int]] = {
    "astronaut": ("skimage", "data/astronaut.png", 0, 93),
    "grace_hopper": ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg", 95, 139),
}
SOURCES = {"skimage": "scikit-image", "matplotlib": "matplotlib"}
LFW_FACES = 100  # lfw_subset.npy: 100 faces, then 100 non-faces
FAIRFACE_REPO = "HuggingFaceM4/FairFace"
#: The commit read from the Hub's file tree for HuggingFaceM4/FairFace (main when looked up; it holds
#: 0.25/ and 1.25/ with train-*.parquet and validation-*.parquet, and the dataset card below).
FAIRFACE_REVISION = "54d573cdb8b5af490ba8da9da2799628f6e5c496"
FAIRFACE_LABELS = ("race", "gender", "age")
#: ClassLabel names as the dataset card at FAIRFACE_REVISION declares them (index order); the parquet
#: files' own metadata, when present, takes precedence.
FAIRFACE_NAMES: dict[str, list[str]] = {
    "race": ["East Asian", "Indian", "Black", "White", "Middle Eastern", "Latino_Hispanic", "Southeast Asian"],
    "gender": ["Male", "Female"],
    "age": ["0-2", "3-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "more than 70"],
}


def make_item(item_id: str, image: torch.Tensor, attributes: dict[str, Any], extras: dict | None = None) -> Item:
    """An Item with group labels: in ``Item.attributes`` when the core has it, else ``extras["attributes"]``."""
    extras = dict(extras or {})
    if "attributes" in {f.name for f in dataclasses.fields(Item)}:
        return Item(item_id, image, extras, attributes=attributes)  # type: ignore[call-arg]
    extras["attributes"] = attributes
    return Item(item_id, image, extras)


def item_attributes(item: Item) -> dict[str, Any]:
    """An item's group labels wherever they are stored."""
    return dict(getattr(item, "attributes", None) or item.extras.get("attributes") or {})


def _package_file(package: str, rel: str) -> Path:
    from zoo.datasets.samples import _package_dir

    return _package_dir(package) / rel


def _measured_category(image: torch.Tensor) -> str:
    from zoo_fairness.ita import skin_tone
    from zoo_fairness.skin import skin_region

    reg = skin_region(image)
    if reg.mask is None:
        return "unmeasured"
    return skin_tone(image, reg.mask).category or "unmeasured"


def _face_item(name: str, size: int) -> Item:
    from zoo.images import read_image

    package, rel, top, left = FACES[name]
    x = read_image(_package_file(package, rel))[:, top : top + 256, left : left + 256]
    if size != 256:  # scale the whole crop down, so the face stays whole
        x = F.interpolate(x[None], size=(size, size), mode="bicubic", align_corners=False, antialias=True)[0].clamp(0, 1)
    x = x.contiguous()
    attrs = {"source": SOURCES[package], "colour": "colour", "ita_category": _measured_category(x)}
    return make_item(name, x, attrs)


def _lfw_item(index: int, size: int) -> Item:
    faces = np.load(_package_file("skimage", "data/lfw_subset.npy"))
    g = torch.from_numpy(faces[index].astype(np.float32))[None, None]
    up = F.interpolate(g, size=(size, size), mode="bicubic", align_corners=False).clamp(0, 1)[0]
    return make_item(f"lfw-{index:03d}", up.expand(3, -1, -1).contiguous(),
                     {"source": "lfw", "colour": "grayscale", "ita_category": "unmeasured"})


def samples_faces(size: int = 256, lfw: int = 0, lfw_size: int = 100, crop: int | None = None,
                  limit: int | None = None) -> Dataset:
    """Embedded face photographs with attributes (see the module docstring).

    Args:
        size: side of each colour face image: the 256 x 256 crop around the face, scaled
            down (bicubic, antialiased) when smaller.
        lfw: how many of the 100 LFW grayscale face crops to add (0..100).
        lfw_size: side those 25 x 25 crops are upscaled to (bicubic).
    """
    if not 32 <= int(size) <= 256:
        raise ZooError(f"samples-faces: size must lie in 32..256 (the face crops are 256 x 256), got {size!r}")
    if not 0 <= int(lfw) <= LFW_FACES:
        raise ZooError(f"samples-faces: lfw must lie in 0..{LFW_FACES} (lfw_subset holds {LFW_FACES} faces), got {lfw!r}")
    if int(lfw_size) < 25:
        raise ZooError(f"samples-faces: lfw_size must be at least 25 (the crops are 25 x 25), got {lfw_size!r}")
    loaders = [(n, (lambda n=n: _face_item(n, int(size)))) for n in FACES]
    loaders += [(f"lfw-{i:03d}", (lambda i=i: _lfw_item(i, int(lfw_size)))) for i in range(int(lfw))]
    if limit:
        loaders = loaders[: int(limit)]
    return Dataset("samples-faces", loaders, {"size": size, "lfw": lfw, "lfw_size": lfw_size, "crop": crop, "limit": limit})


@functools.lru_cache(maxsize=4)
def _source_face(name: str) -> tuple[torch.Tensor, tuple, list[int]]:
    """A source face at 256 x 256, its re-toning mask (:func:`zoo_fairness.counterfactual.skin_weight`) and face box."""
    from zoo_fairness.counterfactual import skin_weight
    from zoo_fairness.skin import detect_faces

    x = _face_item(name, 256).image
    weight = skin_weight(x)
    b = detect_faces(x)[0]
    return x, weight, [b.top, b.left, b.height, b.width]


def _counterfactual_item(name: str, tone: int, size: int) -> Item:
    from zoo_fairness.counterfactual import retone

    x, weight, box = _source_face(name)
    r = retone(x, tone, weight=weight)
    y = r.image
    if size != 256:
        y = F.interpolate(y[None], size=(size, size), mode="bicubic", align_corners=False, antialias=True)[0].clamp(0, 1)
        box = [round(v * size / 256) for v in box]
    attrs = {"person": name, "mst": tone, "face_box": box, "source": SOURCES[FACES[name][0]], "clipped": round(r.clipped, 4)}
    return make_item(f"{name}~mst{tone:02d}", y.contiguous(), attrs)


def counterfactual_faces(tones: Sequence[int] = DEFAULT_TONES, size: int = 256, people: Sequence[str] | None = None,
                         limit: int | None = None, crop: int | None = None) -> Dataset:
    """Every offline colour face re-toned to each Monk Skin Tone in ``tones`` (see :mod:`zoo_fairness.counterfactual`).

    Item ids ``person~mstNN``; attributes ``person`` (the independent unit), ``mst`` (1..10),
    ``face_box`` (the source face's box, so the probes measure the same region on every tone),
    ``source`` and ``clipped`` (share of re-toned pixels clipped at white). Two people ship
    offline (astronaut, grace_hopper), so per-tone statistics report insufficient n.

    Args:
        tones: at least five distinct Monk numbers (default all ten).
        size: side of each image (the 256 x 256 face crop, scaled down when smaller).
        people: which of the offline faces (default all).
    """
    from zoo_fairness.counterfactual import MIN_TONES, check_tones

    tones = check_tones([tones] if isinstance(tones, int) else tones)
    if len(tones) < MIN_TONES:
        raise ZooError(f"counterfactual-faces: tones must hold at least {MIN_TONES} Monk tones spanning the scale, got {list(tones)}")
    if not 32 <= int(size) <= 256:
        raise ZooError(f"counterfactual-faces: size must lie in 32..256 (the face crops are 256 x 256), got {size!r}")
    people = list(FACES) if people is None else [people] if isinstance(people, str) else list(people)
    unknown = [p for p in people if p not in FACES]
    if unknown or not people:
        raise ZooError(f"counterfactual-faces: unknown people {unknown}; the offline colour faces are {sorted(FACES)}")
    loaders = [(f"{p}~mst{t:02d}", (lambda p=p, t=t: _counterfactual_item(p, t, int(size)))) for p in people for t in tones]
    if limit:
        loaders = loaders[: int(limit)]
    return Dataset("counterfactual-faces", loaders, {"tones": list(tones), "size": size, "people": people,
                                                     "limit": limit, "crop": crop})


def _class_names(schema_metadata: dict | None, column: str) -> list[str] | None:
    """ClassLabel names of ``column`` from the ``huggingface`` metadata the datasets library writes into parquet."""
    raw = (schema_metadata or {}).get(b"huggingface")
    if not raw:
        return None
    info = json.loads(raw)
    feats = info.get("info", {}).get("features", {}) or info.get("features", {})
    names = (feats.get(column) or {}).get("names")
    return list(names) if names else None


def fairface(revision: str | None = FAIRFACE_REVISION, padding: str = "0.25", split: str = "validation",
             limit: int | None = None, crop: int | None = None) -> Dataset:
    """FairFace face crops with race, gender and age attributes, from a pinned Hub commit.

    Args:
        revision: the 40-hex commit of ``HuggingFaceM4/FairFace`` to read (default
            :data:`FAIRFACE_REVISION`; anything but a full sha is refused).
        padding: ``0.25`` (tight dlib face chips, as the FairFace classifiers were trained)
            or ``1.25`` (wider margin).
        split: ``train`` or ``validation``.

    Raises:
        ZooError: no pinned revision (the message says how to pin it), or the files are
            neither cached nor reachable.
    """
    if padding not in ("0.25", "1.25"):
        raise ZooError(f"fairface: padding must be '0.25' or '1.25', got {padding!r}")
    if split not in ("train", "validation"):
        raise ZooError(f"fairface: split must be 'train' or 'validation', got {split!r}")
    if not revision or len(str(revision)) != 40:
        raise ZooError(
            f"fairface: revision {revision!r} is not a pinned 40-hex commit. FairFace (CC BY 4.0, arXiv:1908.04913) is read from "
            f"the Hugging Face dataset {FAIRFACE_REPO} at a fixed commit so results are reproducible. Look up the "
            f"commit at https://huggingface.co/datasets/{FAIRFACE_REPO}/commits/main (or keep the default {FAIRFACE_REVISION}) and pass it: "
            f"zoo.dataset('fairface', revision='<40-hex sha>'), or in a suite `dataset: {{name: fairface, revision: <sha>}}`; "
            f"then `zoo fetch --dataset` it where the Hub is reachable (or copy that Hub cache to HF_HUB_CACHE)."
        )
    from huggingface_hub import snapshot_download

    from zoo.weights import hub_cache_dir, offline

    pattern = f"{padding}/{split}-*.parquet"
    try:
        root = Path(snapshot_download(FAIRFACE_REPO, repo_type="dataset", revision=revision, allow_patterns=[pattern],
                                      cache_dir=hub_cache_dir(), local_files_only=offline(), library_name="imagezoo"))
    except Exception as exc:
        raise ZooError(
            f"fairface: could not get {FAIRFACE_REPO}@{revision[:12]} ({type(exc).__name__}: {exc}). Fetch it where the "
            f"Hub is reachable, or copy the Hub cache to HF_HUB_CACHE."
        ) from exc
    files = sorted(root.glob(pattern))
    if not files:
        raise ZooError(f"fairface: no files match {pattern!r} in {FAIRFACE_REPO}@{revision[:12]}")
    return _fairface_from_parquet(files, limit, {"revision": revision, "padding": padding, "split": split,
                                                  "limit": limit, "crop": crop})


def _fairface_from_parquet(files: list[Path], limit: int | None, options: dict) -> Dataset:
    import pyarrow.parquet as pq

    from zoo.images import decode

    loaders = []
    for f in files:
        pf = pq.ParquetFile(f)
        cols = pf.schema_arrow.names
        missing = [c for c in ("image", *FAIRFACE_LABELS) if c not in cols]
        if missing:
            raise ZooError(f"fairface: {f.name} lacks columns {missing} (has {cols})")
        names = {c: _class_names(pf.schema_arrow.metadata, c) or FAIRFACE_NAMES[c] for c in FAIRFACE_LABELS}
        for batch in pf.iter_batches(columns=["image", *FAIRFACE_LABELS], batch_size=64):
            rows = batch.to_pylist()
            for row in rows:
                cell = row["image"]
                data = cell.get("bytes") if isinstance(cell, dict) else cell
                if not isinstance(data, (bytes, bytearray)):
                    raise ZooError(f"fairface: {f.name} holds {type(data).__name__} images, not encoded bytes")
                attrs = {c: (names[c][row[c]] if names[c] and isinstance(row[c], int) else str(row[c])) for c in FAIRFACE_LABELS}
                item_id = f"{f.stem}-{len(loaders):05d}"
                loaders.append((item_id, lambda d=bytes(data), i=item_id, a=attrs: make_item(i, decode(d, f"fairface/{i}"), a)))
                if limit and len(loaders) >= limit:
                    return Dataset("fairface", loaders, options)
    return Dataset("fairface", loaders, options)
