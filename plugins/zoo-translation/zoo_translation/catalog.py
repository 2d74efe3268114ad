"""Catalog entries: every published pix2pix / CycleGAN generator, the translators trained here,
and the weight-free baselines.

Official files (junyanz/pytorch-CycleGAN-and-pix2pix, ``scripts/download_cyclegan_model.sh``
and ``scripts/download_pix2pix_model.sh``) are plain generator state dicts at
``http://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models/<name>.pth`` and
``http://efrosgans.eecs.berkeley.edu/pix2pix/models-pytorch/<name>.pth``. No Hugging Face
mirror is pinned, so the entries name the official file only; ``zoo.load(id, weights=FILE)``
loads a downloaded copy.

Two-way CycleGAN pairs (both generators of a model published, e.g. ``horse2zebra.pth`` and
``zebra2horse.pth``) are one id with a ``direction`` setting; each direction's file is
the weights part of that direction (``part: AtoB`` / ``part: BtoA``), and the setting
selects which part a load needs: ``zoo.load(id, direction="BtoA", weights={"BtoA": FILE})``
(CLI ``--setting direction=BtoA --weights BtoA=FILE``).

pix2pix entries run with ``norm_mode: train`` (per-image batch-norm statistics, dropout on),
which is what the official ``test.py`` does (it never calls ``model.eval()`` unless given
``--eval``) and what the paper prescribes (Isola et al. 2017, sec. 3.3), so outputs match
the published results; ``norm_mode=eval`` is available as a setting.
"""

from __future__ import annotations

CYCLEGAN_URL = "http://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models/{}.pth"
PIX2PIX_URL = "http://efrosgans.eecs.berkeley.edu/pix2pix/models-pytorch/{}.pth"
LICENSE = "BSD-3-Clause"
PIX2PIX_PAPER = "arXiv:1611.07004"
CYCLEGAN_PAPER = "arXiv:1703.10593"

#: two-way CycleGAN ids: (id, AtoB file, BtoA file, what A and B are)
CYCLEGAN_PAIRS = [
    ("cyclegan-horse-zebra.horse2zebra", "horse2zebra", "zebra2horse", "A horse, B zebra (ImageNet photos)"),
    ("cyclegan-apple-orange.apple2orange", "apple2orange", "orange2apple", "A apple, B orange (ImageNet photos)"),
    ("cyclegan-summer-winter.yosemite", "summer2winter_yosemite", "winter2summer_yosemite", "A summer, B winter (Yosemite, Flickr)"),
    ("cyclegan-sat-map.maps", "sat2map", "map2sat", "A aerial photo, B Google map"),
    ("cyclegan-photo-label.cityscapes", "cityscapes_photo2label", "cityscapes_label2photo", "A street photo, B semantic label colours (Cityscapes)"),
    ("cyclegan-photo-label.facades", "facades_photo2label", "facades_label2photo", "A facade photo, B label map (CMP Facades)"),
]

#: one-way CycleGAN ids: (id, file, description); only one generator of these runs was published
CYCLEGAN_SINGLE = [
    ("cyclegan-monet2photo.monet2photo", "monet2photo", "Monet painting -> photo"),
    ("cyclegan-style-monet.monet2photo", "style_monet", "photo -> Monet painting"),
    ("cyclegan-style-cezanne.cezanne2photo", "style_cezanne", "photo -> Cezanne painting"),
    ("cyclegan-style-ukiyoe.ukiyoe2photo", "style_ukiyoe", "photo -> Ukiyo-e print"),
    ("cyclegan-style-vangogh.vangogh2photo", "style_vangogh", "photo -> Van Gogh painting"),
    ("cyclegan-iphone2dslr.flower", "iphone2dslr_flower", "iPhone flower photo -> DSLR shallow depth of field"),
]

#: pix2pix ids: (id, file, description)
PIX2PIX = [
    ("pix2pix-facades-label2photo.facades", "facades_label2photo", "CMP Facades label map -> photo"),
    ("pix2pix-sat2map.maps", "sat2map", "aerial photo -> Google map"),
    ("pix2pix-map2sat.maps", "map2sat", "Google map -> aerial photo"),
    ("pix2pix-edges2shoes.edges2shoes", "edges2shoes", "HED edges -> shoe photo (UT Zappos50K)"),
    ("pix2pix-edges2handbags.edges2handbags", "edges2handbags",
     "HED edges -> handbag photo (iGAN handbags); [unconfirmed] not in download_pix2pix_model.sh's list"),
    ("pix2pix-day2night.transient-attributes", "day2night", "daytime -> night scene (Transient Attributes)"),
]

CYCLEGAN_PARAMS = {"net": "resnet_9blocks", "ngf": 64}
PIX2PIX_PARAMS = {"net": "unet_256", "ngf": 64, "norm_mode": "train"}

ENTRIES: dict[str, dict] = {}

for _id, _ab, _ba, _what in CYCLEGAN_PAIRS:
    ENTRIES[_id] = {
        "task": "translation", "factory": "cyclegan", "params": {**CYCLEGAN_PARAMS, "two_way": True},
        "weights": [
            {"source": CYCLEGAN_URL.format(_ab), "part": "AtoB", "setting": {"direction": "AtoB"}},
            {"source": CYCLEGAN_URL.format(_ba), "part": "BtoA", "setting": {"direction": "BtoA"}},
        ],
        "license": LICENSE, "paper": CYCLEGAN_PAPER,
        "description": f"CycleGAN resnet_9blocks, two-way: AtoB = {_ab}.pth, BtoA = {_ba}.pth ({_what})",
        "settings": [{"direction": "AtoB"}, {"direction": "BtoA"}],
    }

for _id, _file, _what in CYCLEGAN_SINGLE:
    ENTRIES[_id] = {
        "task": "translation", "factory": "cyclegan", "params": dict(CYCLEGAN_PARAMS),
        "weights": {"source": CYCLEGAN_URL.format(_file)},
        "license": LICENSE, "paper": CYCLEGAN_PAPER,
        "description": f"CycleGAN resnet_9blocks, {_file}.pth: {_what}",
    }

for _id, _file, _what in PIX2PIX:
    ENTRIES[_id] = {
        "task": "translation", "factory": "pix2pix", "params": dict(PIX2PIX_PARAMS),
        "weights": {"source": PIX2PIX_URL.format(_file)},
        "license": LICENSE, "paper": PIX2PIX_PAPER,
        "description": f"pix2pix unet_256, {_file}.pth: {_what}; run as the official test.py (norm_mode=train)",
        "settings": [{"norm_mode": "train"}],
    }

# -- trained here (zoo_translation/train_*.py) ---------------------------------------------------
TRAINED: dict[str, dict] = {
    "pix2pix-sketch.samples": {
        "task": "translation", "factory": "pix2pix",
        "params": {"net": "unet_256", "num_downs": 6, "ngf": 12, "norm_mode": "eval"},
        "weights": {
            "bundled": "zoo_translation:weights/pix2pix-sketch-samples.safetensors",
            "sha256": "075d1884f15b05d72d81a29408af74eb34ee59fd0ce901aad15bee5997a71bdc",
            "source": "trained by zoo_translation/train_pix2pix.py (seed 0) on the samples train split",
        },
        "license": "Apache-2.0", "paper": PIX2PIX_PAPER,
        "description": "pix2pix U-Net (6 levels, ngf 12) photo -> pencil sketch, trained offline on the embedded photographs",
    },
    "cyclegan-grade.samples": {
        "task": "translation", "factory": "cyclegan",
        "params": {"net": "unet_128", "num_downs": 5, "ngf": 12, "dropout": False, "two_way": True},
        "weights": {
            "bundled": "zoo_translation:weights/cyclegan-grade-samples.safetensors",
            "sha256": "c625d667683108acb18e588d97d6e4cf5927b2fdb9ff312efffc5bab4dd51a2f",
            "source": "trained by zoo_translation/train_cyclegan.py (seed 0) on halves of the samples train split",
        },
        "license": "Apache-2.0", "paper": CYCLEGAN_PAPER,
        "description": "CycleGAN (batch-norm U-Net generators, 5 levels, ngf 12) photo <-> graded photo, unpaired known-answer task, trained offline",
        "settings": [{"direction": "AtoB"}, {"direction": "BtoA"}],
    },
}

BASELINES: dict[str, dict] = {
    "identity.baseline": {
        "task": "translation", "factory": "identity", "license": "Apache-2.0",
        "description": "returns the input: the floor every translator must beat",
        "settings": [{}],
    },
}
for _task in ("sketch", "gray2color", "graded"):
    BASELINES[f"color-transfer-reinhard.samples-{_task}"] = {
        "task": "translation", "factory": "color-transfer", "params": {"method": "reinhard", "task": _task},
        "license": "Apache-2.0", "paper": "Reinhard et al., Color Transfer between Images, IEEE CG&A 2001",
        "description": f"CIELAB mean/std transfer fitted from domain A to B on the {_task} train photos",
    }
    BASELINES[f"color-transfer-histogram.samples-{_task}"] = {
        "task": "translation", "factory": "color-transfer", "params": {"method": "histogram", "task": _task},
        "license": "Apache-2.0", "paper": "Gonzalez and Woods, Digital Image Processing, histogram matching",
        "description": f"per-channel RGB histogram matching fitted from domain A to B on the {_task} train photos",
    }

ENTRIES.update(TRAINED)
ENTRIES.update(BASELINES)
