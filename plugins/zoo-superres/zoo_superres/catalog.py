"""Catalog entries this plugin ships: classical baselines and the bundled ESPCN.

Bicubic interpolation carries the published PSNR-Y / SSIM-Y the SR papers print for it
(``published.json`` beside this file; the report and ``benchmarks/reproduce.py`` set a run's
numbers beside them).
"""

from __future__ import annotations

import json
from pathlib import Path

#: where each published bicubic value was read (keys of the records' ``source``)
PUBLISHED = json.loads((Path(__file__).with_name("published.json")).read_text())
SOURCES: dict[str, str] = PUBLISHED["sources"]

SCALES = [{"scale": 2}, {"scale": 3}, {"scale": 4}]

ENTRIES: dict[str, dict] = {
    f"{kernel}.classical": {
        "task": "super-resolution", "factory": "interpolation", "params": {"kernel": kernel},
        "settings": SCALES, "license": "Apache-2.0",
        "description": f"{kernel} interpolation" + (" (MATLAB imresize convention)" if kernel == "bicubic" else ""),
        **({"paper": "Keys, Cubic convolution interpolation for digital image processing, IEEE TASSP 1981"} if kernel == "bicubic" else {}),
    }
    for kernel in ("nearest", "bilinear", "bicubic", "lanczos")
}
ENTRIES["bicubic.classical"]["published"] = PUBLISHED["bicubic.classical"]

ENTRIES["espcn-x4.samples"] = {
    "task": "super-resolution", "factory": "espcn", "params": {"scale": 4},
    "weights": {
        "bundled": "zoo_superres:weights/espcn-x4-samples.safetensors",
        "sha256": "342bb5318c93c5900c360f20b7969fcc3c08ab9367531d4b0c4e1beef835a700",
        "source": "trained by zoo_superres/train_espcn.py (seed 0, 5000 steps) on the samples train split",
    },
    "license": "Apache-2.0", "paper": "arXiv:1609.05158",
    "description": "ESPCN x4 with bicubic skip, trained offline on the embedded photographs",
}
