"""Attribute classifiers for the probes: ``classify(x) -> Tensor[N, K]`` class probabilities.

Two kinds:

- :class:`ItaBins`: no weights. Skin-tone groups from the ITA of the face's skin region
  (Del Bino et al. 2006 six classes, Kinyanjui et al. 2019 eight, or bins you give).
- :class:`HubClassifier`: an image-classification network (a torchvision or timm
  architecture) whose weights are pinned like every other weights file (Hub revision and
  sha256, resolved and verified by :func:`zoo.weights.resolve`, read by
  :func:`zoo.weights.load_state_dict`). The FairFace ResNet-34 models (Kärkkäinen and Joo,
  "FairFace: Face Attribute Dataset for Balanced Race, Gender, and Age", WACV 2021,
  arXiv:1908.04913) are catalogued; their official files are on Google Drive, so until a
  Hub mirror is pinned they are refused with the way to get them.

A classifier is itself biased (FairFace was built because attribute classifiers were);
check it on the *references* first and give the probes its confusion matrix.

Classifiers are methods of the ``classification`` task (:class:`ClassificationSpec`,
registered through ``register_tasks``): their factories register with ``register_methods``
and the entries of :data:`CLASSIFIERS` with ``register_catalog``, so ``zoo list --task
classification`` shows them, ``zoo fetch`` fetches them, and a third party adds one with the
same two hooks.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from zoo.errors import ContractError, MetricUnavailable, WeightsError
from zoo.taskspec import Batch, Outcome, TaskSpec
from zoo.tasks import Method

from zoo_fairness.catalog import CLASSIFIERS, catalog_entries  # noqa: F401  (torch-free data, re-exported)
from zoo_fairness.ita import DEL_BINO, bin_index, skin_tone
from zoo_fairness.skin import REGIONS, skin_region

#: Kinyanjui et al., "Estimating Skin Tone and Effects on Classification Performance in
#: Dermatology Datasets", arXiv:1910.13268: eight ITA bins (lower bounds, exclusive).
KINYANJUI: tuple[tuple[str, float], ...] = (
    ("very_light", 55.0), ("light_2", 48.0), ("light_1", 41.0), ("intermediate_2", 34.5),
    ("intermediate_1", 28.0), ("tan_2", 19.0), ("tan_1", 10.0), ("dark", -math.inf),
)
SCALES = {"del-bino": DEL_BINO, "kinyanjui": KINYANJUI}


class Classifier(Method):
    """Base of attribute classifiers: ``classify(x) -> Tensor[N, K]`` probabilities over :attr:`classes`.

    A row may be all NaN when the classifier cannot label that image (no face, grey
    pixels); ``item_reasons[i]`` then says why. Every other row is checked: non-negative,
    summing to 1.
    """

    task: ClassVar[str] = "classification"
    classes: tuple[str, ...] = ()

    def __init__(self) -> None:
        super().__init__()
        self.item_reasons: list[str | None] = []

    @property
    def fingerprint(self) -> str:
        return f"{self.id}(classes={','.join(self.classes)})"

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        x = self._in(x)
        self.item_reasons = [None] * x.shape[0]
        p = self._classify(x)
        k = len(self.classes)
        if not isinstance(p, torch.Tensor) or tuple(p.shape) != (x.shape[0], k):
            got = tuple(p.shape) if isinstance(p, torch.Tensor) else type(p).__name__
            raise ContractError(f"{self.id}: classify must return N x K = {(x.shape[0], k)} probabilities, got {got}")
        p = p.detach().to(torch.float64).cpu()
        nan_rows = torch.isnan(p).all(1)
        ok = p[~nan_rows]
        if torch.isnan(ok).any() or (ok < -1e-6).any() or ((ok.sum(1) - 1).abs() > 1e-4).any():
            raise ContractError(f"{self.id}: classify must return rows of probabilities (>= 0, summing to 1) or all-NaN rows")
        for i in torch.nonzero(nan_rows).flatten().tolist():
            if not self.item_reasons[i]:
                self.item_reasons[i] = f"{self.id} could not label this image"
        return p

    def _classify(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class ItaBins(Classifier):
    """Skin-tone groups from ITA bins over the face's skin region (no learned weights).

    Args:
        scale: ``del-bino`` (6 classes, Del Bino et al. 2006) or ``kinyanjui`` (8 classes).
        thresholds: descending lower bounds (K - 1 of them) instead of a named scale; with ``names``.
        names: K class names for ``thresholds``.
        region: ``face`` (LBP cascade, then the skin mask) or ``whole`` image.
    """

    def __init__(self, scale: str = "del-bino", thresholds: list[float] | None = None, names: list[str] | None = None,
                 region: str = "face", statistic: str = "trimmed", b_min: float = 1.0, min_pixels: int = 64) -> None:
        super().__init__()
        if thresholds is not None:
            t = [float(v) for v in thresholds]
            if not names or len(names) != len(t) + 1:
                raise ValueError(f"ita-bins: {len(t)} thresholds need {len(t) + 1} names, got {names!r}")
            if any(a <= b for a, b in zip(t, t[1:])):
                raise ValueError(f"ita-bins: thresholds must be strictly descending ITA lower bounds, got {t}")
            self.thresholds, self.classes, self.scale = tuple(t), tuple(str(n) for n in names), "custom"
        else:
            if scale not in SCALES:
                raise ValueError(f"ita-bins: scale {scale!r} is not one of {sorted(SCALES)} (or pass thresholds= and names=)")
            table = SCALES[scale]
            self.thresholds = tuple(lo for _, lo in table[:-1])
            self.classes, self.scale = tuple(n for n, _ in table), scale
        if region not in REGIONS:
            raise ValueError(f"ita-bins: region {region!r} is not one of {REGIONS}")
        self.region, self.statistic, self.b_min, self.min_pixels = region, statistic, float(b_min), int(min_pixels)
        self.id = "ita-bins"

    @property
    def fingerprint(self) -> str:
        return (f"ita-bins(scale={self.scale},thresholds={list(self.thresholds)},region={self.region},"
                f"stat={self.statistic},b_min={self.b_min})")

    def _classify(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.full((x.shape[0], len(self.classes)), math.nan, dtype=torch.float64)
        for i in range(x.shape[0]):
            img = x[i].detach().cpu()
            reg = skin_region(img, self.region, min_pixels=self.min_pixels)
            if reg.mask is None:
                self.item_reasons[i] = reg.reason
                continue
            st = skin_tone(img, reg.mask, self.statistic, b_min=self.b_min)
            if st.reason:
                self.item_reasons[i] = st.reason
                continue
            out[i] = 0.0
            out[i, bin_index(st.ita, self.thresholds)] = 1.0
        return out


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def build_network(arch: str, num_outputs: int) -> torch.nn.Module:
    """``torchvision:<name>`` or ``timm:<name>`` with a fresh ``num_outputs`` head, no weights downloaded."""
    kind, _, name = arch.partition(":")
    if kind == "torchvision":
        import torchvision

        if not hasattr(torchvision.models, name):
            raise ValueError(f"arch {arch!r}: torchvision.models has no {name!r}")
        return getattr(torchvision.models, name)(weights=None, num_classes=num_outputs)
    if kind == "timm":
        import timm

        return timm.create_model(name, pretrained=False, num_classes=num_outputs)
    raise ValueError(f"arch {arch!r} must be 'torchvision:<model>' or 'timm:<model>'")


class HubClassifier(Classifier):
    """An image-classification network with pinned weights, as a classifier over named classes.

    Args:
        arch: ``torchvision:resnet34``, ``timm:vit_base_patch16_224`` ...
        classes: names of the classes read from the logits ``logits[start:stop]``.
        num_outputs: size of the network's output layer (18 for FairFace: race 7, gender 2, age 9).
        logits: (start, stop) slice of the outputs that holds this attribute (default all).
        input_size: square input side; images are resized bilinearly (antialiased).
        mean, std: input normalisation after scaling to [0, 1].
        crop: ``none`` (the image as given) or ``face`` (the LBP-cascade face box grown by
            ``padding`` on each side: an approximation of FairFace's dlib face chips).
    """

    def __init__(self, arch: str, classes: list[str], num_outputs: int | None = None, logits: list[int] | None = None,
                 input_size: int = 224, mean: list[float] = IMAGENET_MEAN, std: list[float] = IMAGENET_STD,
                 crop: str = "none", padding: float = 0.25) -> None:
        super().__init__()
        self.classes = tuple(str(c) for c in classes)
        n_out = int(num_outputs or len(self.classes))
        start, stop = (logits if logits is not None else (0, n_out))
        if not (0 <= start < stop <= n_out) or stop - start != len(self.classes):
            raise ValueError(f"{arch}: logits slice {start}:{stop} must hold exactly the {len(self.classes)} classes "
                             f"{self.classes} within {n_out} outputs")
        if crop not in ("none", "face"):
            raise ValueError(f"{arch}: crop must be 'none' or 'face', got {crop!r}")
        self.arch, self.slice, self.input_size, self.crop, self.padding = arch, (start, stop), int(input_size), crop, float(padding)
        self.net = build_network(arch, n_out)
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)
        self.id = arch

    @property
    def fingerprint(self) -> str:
        return (f"{self.id}(arch={self.arch},logits={self.slice[0]}:{self.slice[1]},size={self.input_size},"
                f"crop={self.crop},pad={self.padding},classes={','.join(self.classes)})")

    @staticmethod
    def convert_state_dict(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Unwrap ``{"state_dict": ...}`` checkpoints and DataParallel's ``module.`` prefix."""
        for key in ("state_dict", "model"):
            if key in state and isinstance(state[key], dict):
                state = state[key]
        if state and all(k.startswith("module.") for k in state):
            state = {k[len("module."):]: v for k, v in state.items()}
        return state

    def load_weights(self, state: dict[str, torch.Tensor], part: str | None = None) -> None:
        self.net.load_state_dict(self.convert_state_dict(state), strict=True)

    def weights_state_dict(self) -> dict[str, torch.Tensor]:
        return self.net.state_dict()

    def _face_crop(self, img: torch.Tensor, i: int) -> torch.Tensor | None:
        from zoo_fairness.skin import detect_faces

        faces = detect_faces(img.detach().cpu())
        if not faces:
            self.item_reasons[i] = f"no frontal face found by the LBP cascade in the {img.shape[-1]}x{img.shape[-2]} image"
            return None
        b = faces[0]
        h, w = img.shape[-2:]
        pt, pl = int(round(b.height * self.padding)), int(round(b.width * self.padding))
        top, left = max(0, b.top - pt), max(0, b.left - pl)
        bottom, right = min(h, b.top + b.height + pt), min(w, b.left + b.width + pl)
        return img[:, top:bottom, left:right]

    def _classify(self, x: torch.Tensor) -> torch.Tensor:
        s = self.input_size
        rows: list[torch.Tensor | None] = []
        for i in range(x.shape[0]):
            img = x[i] if self.crop == "none" else self._face_crop(x[i], i)
            rows.append(None if img is None else F.interpolate(img[None], size=(s, s), mode="bilinear",
                                                              align_corners=False, antialias=True)[0])
        out = torch.full((x.shape[0], len(self.classes)), math.nan, dtype=torch.float64)
        keep = [i for i, r in enumerate(rows) if r is not None]
        if keep:
            batch = (torch.stack([rows[i] for i in keep]) - self.mean) / self.std
            logits = self.net(batch)[:, self.slice[0] : self.slice[1]]
            if not torch.isfinite(logits).all():
                raise ContractError(f"{self.id}: the network returned NaN or Inf logits; check its weights")
            out[keep] = torch.softmax(logits.to(torch.float64), dim=1).cpu()
        return out


class ClassificationSpec(TaskSpec):
    """Attribute classifiers: image -> class probabilities (outputs ``probabilities``, N x K).

    Classifiers serve the probes; benchmarked directly, the output image is the input and
    metrics read ``probabilities``.
    """

    name = "classification"
    method_class = Classifier
    provides = ("probabilities",)

    def run(self, method: Classifier, batch: Batch, options: dict[str, Any]) -> Outcome:
        return Outcome(batch.input, {"probabilities": method.classify(batch.input)})


def load_classifier(name: str, device: str | torch.device = "cpu", download: bool = True, weights: str | None = None,
                    **options: Any) -> Classifier:
    """Build classifier ``name`` (a catalog id of task ``classification``) with verified weights.

    Raises:
        UnknownNameError: no such classifier (the message lists the catalog's ids).
        WeightsError: its weights are unpinned, unmirrored, not cached offline, or fail sha256.
    """
    from zoo.catalog import get_card
    from zoo.errors import ZooError
    from zoo.loading import load_method

    card = get_card(name)
    if card.task != "classification":
        raise ZooError(f"{name} is a {card.task} method, not a classifier; `zoo list --task classification` lists them")
    return load_method(name, device=str(device), weights=weights, download=download, **options)


def classifier_for_probe(spec: Any, probe: str, device: str | torch.device = "cpu", weights: str | None = None,
                         **options: Any) -> Classifier:
    """A probe's classifier from a name or an instance; a missing one makes the probe unavailable."""
    if isinstance(spec, Classifier):
        return spec
    if spec is None:
        raise MetricUnavailable(
            f"{probe}: no classifier given. Pass classifier=NAME; available here without downloads: "
            f"ita-bins, ita-bins-kinyanjui; with pinned weights: {', '.join(n for n, e in CLASSIFIERS.items() if e.get('weights'))}"
        )
    if not isinstance(spec, str):
        raise ValueError(f"{probe}: classifier must be a name or a Classifier instance, got {type(spec).__name__}")
    try:
        return load_classifier(spec, device=device, weights=weights, **options)
    except WeightsError as exc:
        raise MetricUnavailable(
            f"{probe}: classifier {spec!r} has no usable weights here: {exc} (For a probe, a local copy of the "
            f"official file can be given as classifier_weights=FILE.)"
        ) from exc
