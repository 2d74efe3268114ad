"""Catalog entries this plugin ships: baselines, Gatys, fast neural style, AdaIN, and the models trained here."""

from __future__ import annotations

GATYS = "Gatys et al., CVPR 2016 (arXiv:1508.06576)"
JOHNSON = "arXiv:1603.08155"
ADAIN = "arXiv:1703.06868"
FNS_ZIP = "https://www.dropbox.com/s/lrvwfehqdcxoza8/saved_models.zip?dl=1"
ADAIN_RELEASE = "https://github.com/naoto0804/pytorch-AdaIN/releases/download/v0.0.0"

# Gatys operating points: the content/style trade-off (ratio = alpha/beta) at a fixed budget. The
# content loss is summed over positions (as in the paper), so a ratio holds for one size. The
# EfficientNet-Lite0 points were measured at 256² (README: 1e-5 beats every other method here on
# style distance, 1e-4 keeps most content); the VGG-19 ones are not calibrated (no weights here).
GATYS_SETTINGS = [{"ratio": r, "iterations": 100, "size": 256} for r in (1e-6, 1e-5, 1e-4)]
GATYS_VGG_SETTINGS = [{"ratio": r, "iterations": 300, "size": 512} for r in (1e-5, 1e-4, 1e-3)]


ENTRIES: dict[str, dict] = {
    "reinhard.classical": {
        "task": "style-transfer", "factory": "reinhard", "license": "Apache-2.0",
        "paper": "Reinhard, Ashikhmin, Gooch and Shirley, Color Transfer between Images, IEEE CG&A 2001",
        "description": "Reinhard colour transfer: the style's CIELAB mean and std (weight-free baseline)",
    },
    "histmatch.classical": {
        "task": "style-transfer", "factory": "histogram-matching", "license": "Apache-2.0",
        "paper": "Gonzalez and Woods, Digital Image Processing (histogram specification)",
        "description": "per-channel RGB histogram matching to the style image (weight-free baseline)",
    },
    "gatys-effnet-lite0.imagenet": {
        "task": "style-transfer", "factory": "gatys", "params": {"net": "effnet-lite0"},
        "license": "Apache-2.0", "paper": GATYS,
        "description": "Gatys optimisation (L-BFGS) on the offline EfficientNet-Lite0 features (not VGG-19): "
                       "style = stem, stage1, stage2, stage3, stage5 Grams; content = stage2",
        "settings": GATYS_SETTINGS,
    },
    "gatys-vgg19.imagenet": {
        "task": "style-transfer", "factory": "gatys", "params": {"net": "vgg19", "pool": "avg"},
        "weights": {
            "source": "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
            "sha256": "dcbb9e9dad569fff7a846263a77324fc34978fea2bfb039c012d710e1776ae44",
            "sha256_prefix": "dcbb9e9d", "size": 574673361,
            "provenance": "published: torch.hub's file-name prefix, independent download manifests (sha256 and size) and "
                          "torch download logs (574,673,361 bytes) agree",
        },
        "license": "BSD-3-Clause (torchvision weights)", "paper": GATYS,
        "description": "Gatys optimisation on torchvision's ImageNet VGG-19 (average pooling, relu1_1..relu5_1 / relu4_2); "
                       "features.* of vgg19-dcbb9e9d.pth or timm/vgg19.tv_in1k",
        "settings": GATYS_VGG_SETTINGS,
    },
    **{
        f"fast-style-{name}.coco": {
            "task": "style-transfer", "factory": "transformer-net",
            "weights": {"source": FNS_ZIP},
            "license": "BSD-3-Clause (pytorch/examples)", "paper": JOHNSON,
            "description": f"Johnson et al. fast neural style, pytorch/examples saved model {name}.pth "
                           f"(inside {FNS_ZIP.split('?')[0].rsplit('/', 1)[1]}: saved_models/{name}.pth)",
        }
        for name in ("candy", "mosaic", "rain_princess", "udnie")
    },
    "adain-vgg.coco-wikiart": {
        "task": "style-transfer", "factory": "adain",
        "weights": [{"source": f"{ADAIN_RELEASE}/vgg_normalised.pth", "part": "encoder"},
                    {"source": f"{ADAIN_RELEASE}/decoder.pth", "part": "decoder"}],
        "license": "MIT (naoto0804/pytorch-AdaIN)", "paper": ADAIN,
        "description": "AdaIN with the vgg_normalised encoder (to relu4_1) and the decoder of naoto0804/pytorch-AdaIN",
        "settings": [{"alpha": 1.0}, {"alpha": 0.5}],
    },
}

# trained by this plugin (scripts, seeds and results in the README); sha256 pinned below
BUNDLED = {
    "fast-style-ihc.samples": {
        "task": "style-transfer", "factory": "transformer-net", "params": {"widths": [16, 32, 64], "blocks": 3},
        "weights": {
            "bundled": "zoo_stylization:weights/fast-style-ihc-samples.safetensors",
            "sha256": "2bc08d054d4a8cbd8283a15d4061517db93b3a6e0beb9fb354a3f1796dc85df2",
            "source": "trained by zoo_stylization/train_fast_style.py (seed 0, 650 steps) on the samples train split, style: skimage ihc.png",
        },
        "license": "Apache-2.0", "paper": JOHNSON,
        "description": "Johnson et al. fast neural style (narrow TransformerNet) for the scikit-image "
                       "immunohistochemistry image, trained here with EfficientNet-Lite0 losses",
    },
    "adain-effnet-lite0.samples": {
        "task": "style-transfer", "factory": "adain-lite", "params": {"layer": "stage1"},
        "weights": {
            "bundled": "zoo_stylization:weights/adain-effnet-lite0-samples.safetensors",
            "sha256": "9a6146e8b34ede79b4cd895c77a7e5c558cdcb5e16edb9530b084aaca76f183f",
            "source": "trained by zoo_stylization/train_adain.py (seed 0, 600 steps, stage1, defaults) on the samples train split",
        },
        "license": "Apache-2.0", "paper": ADAIN,
        "description": "AdaIN on the offline EfficientNet-Lite0 encoder (stage1) with a decoder trained here",
        "settings": [{"alpha": 1.0}, {"alpha": 0.5}],
    },
}
for _id, _entry in BUNDLED.items():
    if _entry["weights"]["sha256"]:  # only once the trained file is in the package
        ENTRIES[_id] = _entry
