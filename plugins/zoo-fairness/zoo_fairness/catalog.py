"""The classifier catalog as data (torch-free, so listing the catalog imports no torch)."""

from __future__ import annotations

from typing import Any

FAIRFACE_DRIVE = "https://drive.google.com/drive/folders/1B2gAnEpJ6oC9sMkcwS8v5Wk8PtHycHOV"
FAIRFACE_PAPER = "arXiv:1908.04913"
FAIRFACE_RACE7 = ["White", "Black", "Latino_Hispanic", "East Asian", "Southeast Asian", "Indian", "Middle Eastern"]
FAIRFACE_RACE4 = ["White", "Black", "Asian", "Indian"]
FAIRFACE_GENDER = ["Male", "Female"]
# The model README calls the last age bin "70+"; named as the FairFace dataset on the Hub does, so that
# attribute-preservation with label="age" maps dataset labels onto the classifier by name.
FAIRFACE_AGE = ["0-2", "3-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "more than 70"]


def _fairface(file: str, classes: list[str], logits: tuple[int, int], what: str) -> dict:
    return {
        "factory": "hub", "params": {"arch": "torchvision:resnet34", "num_outputs": 18, "logits": list(logits),
                                     "classes": classes, "crop": "face", "padding": 0.25},
        "weights": {"source": f"{FAIRFACE_DRIVE} ({file})", "sha256": None},
        "license": "CC BY 4.0 (FairFace repository)", "paper": FAIRFACE_PAPER,
        "description": f"FairFace ResNet-34, {what} head (outputs {logits[0]}:{logits[1]} of 18); trained on dlib-aligned face chips",
    }


#: Classifier catalog: name -> {factory, params, weights (a ref in the registry.yaml schema, or None), licence, paper}.
CLASSIFIERS: dict[str, dict[str, Any]] = {
    "ita-bins": {"factory": "ita-bins", "params": {}, "weights": None, "license": "Apache-2.0",
                 "paper": "Del Bino et al., Pigment Cell Research 19(6), 2006",
                 "description": "Del Bino ITA categories of the face's skin region (no learned weights)"},
    "ita-bins-kinyanjui": {"factory": "ita-bins", "params": {"scale": "kinyanjui"}, "weights": None,
                           "license": "Apache-2.0", "paper": "arXiv:1910.13268",
                           "description": "Kinyanjui et al. eight ITA bins of the face's skin region"},
    "fairface-race7.res34": _fairface("res34_fair_align_multi_7_20190809.pt", FAIRFACE_RACE7, (0, 7), "race (7 classes)"),
    "fairface-gender.res34": _fairface("res34_fair_align_multi_7_20190809.pt", FAIRFACE_GENDER, (7, 9), "gender"),
    "fairface-age.res34": _fairface("res34_fair_align_multi_7_20190809.pt", FAIRFACE_AGE, (9, 18), "age (9 bins)"),
    "fairface-race4.res34": _fairface("res34_fair_align_multi_4_20190809.pt", FAIRFACE_RACE4, (0, 4), "race (4 classes)"),
}
FACTORIES = {"ita-bins": "zoo_fairness.classifiers:ItaBins", "hub": "zoo_fairness.classifiers:HubClassifier"}


def catalog_entries() -> dict[str, dict[str, Any]]:
    """:data:`CLASSIFIERS` in the registry.yaml schema (task ``classification``), for ``register_catalog``."""
    out = {}
    for name, e in CLASSIFIERS.items():
        entry = {"task": "classification", "factory": f"classifier-{e['factory']}", "params": dict(e.get("params", {})),
                 "license": e.get("license"), "paper": e.get("paper"), "description": e.get("description")}
        if e.get("weights"):
            entry["weights"] = {k: v for k, v in e["weights"].items() if v is not None}
        out[name] = entry
    return out
