"""Catalog entries this plugin ships: classical codecs, CompressAI's published models, and the
small codec trained here. Operating points are settings, so one id yields an RD curve."""

from __future__ import annotations

import json
import re
from pathlib import Path

Q = [{"quality": q} for q in (10, 30, 50, 75, 90)]

ENTRIES: dict[str, dict] = {
    "jpeg.pil": {"task": "compression", "factory": "pillow-codec", "params": {"codec": "jpeg"}, "settings": Q,
                 "license": "libjpeg (IJG)", "paper": "ITU-T T.81 (1992)", "description": "JPEG baseline, 4:2:0"},
    "jpeg444.pil": {"task": "compression", "factory": "pillow-codec", "params": {"codec": "jpeg", "subsampling": "4:4:4"},
                    "settings": Q, "license": "libjpeg (IJG)", "paper": "ITU-T T.81 (1992)", "description": "JPEG, 4:4:4"},
    "jpeg2000.pil": {"task": "compression", "factory": "pillow-codec", "params": {"codec": "jpeg2000"},
                     "settings": [{"quality": q} for q in (28, 32, 36, 40)], "license": "OpenJPEG (BSD-2)",
                     "paper": "ISO/IEC 15444-1", "description": "JPEG 2000 (OpenJPEG), quality = target PSNR in dB"},
    "webp.pil": {"task": "compression", "factory": "pillow-codec", "params": {"codec": "webp"}, "settings": Q,
                 "license": "libwebp (BSD-3)", "description": "WebP lossy"},
    "webp-lossless.pil": {"task": "compression", "factory": "pillow-codec", "params": {"codec": "webp", "lossless": True},
                          "license": "libwebp (BSD-3)", "description": "WebP lossless"},
    "avif.pil": {"task": "compression", "factory": "pillow-codec", "params": {"codec": "avif"}, "settings": Q,
                 "license": "libavif (BSD-2)", "description": "AVIF (AV1 intra)"},
    "png.pil": {"task": "compression", "factory": "pillow-codec", "params": {"codec": "png"},
                "license": "libpng", "description": "PNG (lossless)"},
    "jpegxl.pil": {"task": "compression", "factory": "pillow-codec", "params": {"codec": "jpegxl"}, "settings": Q,
                   "license": "libjxl (BSD-3)", "paper": "ISO/IEC 18181", "description": "JPEG XL via pillow-jxl-plugin"},
}

PAPERS = {
    "bmshj2018-factorized": ("arXiv:1802.01436", "Ballé et al. 2018, factorized prior"),
    "bmshj2018-hyperprior": ("arXiv:1802.01436", "Ballé et al. 2018, scale hyperprior"),
    "mbt2018-mean": ("arXiv:1809.02736", "Minnen et al. 2018, mean-scale hyperprior"),
    "mbt2018": ("arXiv:1809.02736", "Minnen et al. 2018, joint autoregressive + hierarchical prior"),
    "cheng2020-anchor": ("arXiv:2001.01568", "Cheng et al. 2020, anchor (residual blocks, GMM-free)"),
    "cheng2020-attn": ("arXiv:2001.01568", "Cheng et al. 2020, with attention modules"),
}


#: CompressAI's quality range per architecture (its ``zoo/image.py`` operating points)
QUALITIES = {
    "bmshj2018-factorized": range(1, 9), "bmshj2018-hyperprior": range(1, 9), "mbt2018-mean": range(1, 9),
    "mbt2018": range(1, 9), "cheng2020-anchor": range(1, 7), "cheng2020-attn": range(1, 7),
}


def hash_prefix(file_name: str) -> str:
    """The sha256 prefix in a CompressAI file name (``…-prior-1-446d5c7f.pth.tar`` -> ``446d5c7f``)."""
    match = re.search(r"-([0-9a-f]{8,})\.pth(\.tar)?$", file_name)
    if not match:
        raise ValueError(f"CompressAI file name {file_name!r} carries no sha256 prefix")
    return match.group(1)


def _compressai_entries() -> dict[str, dict]:
    """One entry per (architecture, metric) with CompressAI's published files as per-quality refs.

    File names and URLs are CompressAI's own (``compressai.zoo.image.model_urls``, copied
    into ``compressai_models.json`` so that listing the catalog does not import
    CompressAI; a test keeps the two equal). The 8 hex digits in each name are the start
    of the file's sha256 (torch.hub's convention). No Hugging Face Hub mirror of these
    files could be confirmed from here, so the refs carry ``source`` and the name's hash
    prefix (``sha256_prefix``), which ``zoo fetch --from-source`` checks. No full sha256 is
    pinned: only one public record of one file's full hash was found (two are required).
    """
    table = json.loads((Path(__file__).parent / "compressai_models.json").read_text())
    out = {}
    for arch, (paper, what) in PAPERS.items():
        for metric, files in table["files"][arch].items():
            qualities = sorted(int(q) for q in files if int(q) in QUALITIES[arch])
            out[f"{arch}-{metric}.vimeo90k"] = {
                "task": "compression", "factory": "compressai", "params": {"arch": arch, "metric": metric},
                "settings": [{"quality": q} for q in qualities],
                "weights": [{"setting": {"quality": q}, "source": f"{table['root_url']}/{files[str(q)]}",
                             "sha256_prefix": hash_prefix(files[str(q)])} for q in qualities],
                "license": "BSD-3-Clause-Clear (CompressAI)", "paper": paper,
                "description": f"{what}; CompressAI's model trained on Vimeo-90k for {metric}",
            }
    return out


ENTRIES.update(_compressai_entries())

# CompressAI's published Kodak points, as data beside the models that own them (published.json)
for _mid, _points in json.loads((Path(__file__).with_name("published.json")).read_text()).items():
    if not _mid.startswith("_"):
        ENTRIES[_mid]["published"] = _points

# The small factorized-prior codec trained by train_codec.py (sha256 printed by the script).
TRAINED_SHA256 = {
    1: "db477507e41842dcdca5532544a8b11b0bde9f54326d8e50131f8820d167fd68",
    2: "5907e0a10f9e7b23802fe9412438affddd781bbf3c68acdd9d3aa9d607cb373b",
    3: "ef710e04ea7a5ac161da0ca230e72ce4328fab23f7270d387a3beb40bfdb3f54",
}
_W = Path(__file__).parent / "weights"
if all(TRAINED_SHA256.values()):
    ENTRIES["factorized-small.samples"] = {
        "task": "compression", "factory": "compressai",
        "params": {"arch": "bmshj2018-factorized", "N": 48, "M": 64},
        "settings": [{"rate": r} for r in TRAINED_SHA256],
        "weights": [{"setting": {"rate": r}, "bundled": f"zoo_compression:weights/factorized-small-r{r}.safetensors",
                     "sha256": sha, "source": f"trained by zoo_compression/train_codec.py --rate {r} (seed 0, 1 thread)"}
                    for r, sha in TRAINED_SHA256.items()],
        "license": "Apache-2.0", "paper": "arXiv:1802.01436",
        "description": "Factorized-prior codec (CompressAI FactorizedPrior, N=48, M=64) trained offline on the embedded photographs",
    }
