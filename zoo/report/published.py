"""Published reference numbers, and our results set beside them with the difference.

Super-resolution: PSNR / SSIM on the Y channel (MATLAB ``rgb2ycbcr``, Y rounded), border =
scale cropped, LR by MATLAB bicubic ``imresize``: the protocol of the tables below.

* ``rcan``: Zhang et al., "Image Super-Resolution Using Very Deep Residual Channel Attention
  Networks", ECCV 2018 (arXiv:1807.02758), Table 3 (BI degradation), bicubic row.
* ``edsr``: Lim et al., "Enhanced Deep Residual Networks for Single Image Super-Resolution",
  CVPRW 2017 (arXiv:1707.02921), benchmark table (bicubic and EDSR rows), as reprinted in the
  authors' EDSR-PyTorch README.
* ``esrgan``: Wang et al., "ESRGAN", ECCVW 2018 (arXiv:1809.00219), Table 2 (x4, quoting the
  bicubic and EDSR numbers of the tables above).

Each value names the records it was read from. Every bicubic value agrees across at least two
records, except Manga109 x3, found only in one later table whose other x3 values differ from
RCAN's: it is left out (None) and the reproduction table says so. EDSR values are the authors'
own table (x4 also in ESRGAN's). Real-ESRGAN publishes no PSNR/SSIM table (it targets
perceptual quality), so it has no row here.

Compression: CompressAI's own Kodak rate-distortion points of its pretrained models
(InterDigitalInc/CompressAI, ``results/image/kodak/compressai-<arch>_<metric>_cpu.json``, the
file and commit named per method): mean bpp, RGB PSNR (dB) and MS-SSIM over the 24 images.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

SR_SOURCES = {
    "rcan": "Zhang et al., RCAN, ECCV 2018, Table 3 (arXiv:1807.02758)",
    "edsr": "Lim et al., EDSR, CVPRW 2017 (arXiv:1707.02921), table reprinted in the EDSR-PyTorch README",
    "esrgan": "Wang et al., ESRGAN, ECCVW 2018, Table 2 (arXiv:1809.00219)",
    "secondary": "a later paper's table quoting the bicubic rows",
}

#: (method id, dataset, scale) -> (PSNR-Y dB, SSIM-Y, sources); None where not confirmed by two records
SR_PUBLISHED: dict[tuple[str, str, int], tuple[float | None, float | None, tuple[str, ...]]] = {
    ("bicubic.classical", "set5", 2): (33.66, 0.9299, ("rcan", "edsr")),
    ("bicubic.classical", "set5", 3): (30.39, 0.8682, ("rcan", "edsr")),
    ("bicubic.classical", "set5", 4): (28.42, 0.8104, ("rcan", "edsr", "esrgan")),
    ("bicubic.classical", "set14", 2): (30.24, 0.8688, ("rcan", "edsr")),
    ("bicubic.classical", "set14", 3): (27.55, 0.7742, ("rcan", "edsr")),
    ("bicubic.classical", "set14", 4): (26.00, 0.7027, ("rcan", "edsr", "esrgan")),
    ("bicubic.classical", "b100", 2): (29.56, 0.8431, ("rcan", "edsr")),
    ("bicubic.classical", "b100", 3): (27.21, 0.7385, ("rcan", "edsr")),
    ("bicubic.classical", "b100", 4): (25.96, 0.6675, ("rcan", "edsr", "esrgan")),
    ("bicubic.classical", "urban100", 2): (26.88, 0.8403, ("rcan", "edsr")),
    ("bicubic.classical", "urban100", 3): (24.46, 0.7349, ("rcan", "edsr")),
    ("bicubic.classical", "urban100", 4): (23.14, 0.6577, ("rcan", "edsr", "esrgan")),
    ("bicubic.classical", "manga109", 2): (30.80, 0.9339, ("rcan", "secondary")),
    ("bicubic.classical", "manga109", 3): (None, None, ("secondary",)),  # one record only: 26.95 / 0.8565
    ("bicubic.classical", "manga109", 4): (24.89, 0.7866, ("rcan", "esrgan")),
    ("edsr.div2k", "set5", 2): (38.11, 0.9601, ("edsr",)),
    ("edsr.div2k", "set5", 3): (34.65, 0.9282, ("edsr",)),
    ("edsr.div2k", "set5", 4): (32.46, 0.8968, ("edsr", "esrgan")),
    ("edsr.div2k", "set14", 2): (33.92, 0.9195, ("edsr",)),
    ("edsr.div2k", "set14", 3): (30.52, 0.8462, ("edsr",)),
    ("edsr.div2k", "set14", 4): (28.80, 0.7876, ("edsr", "esrgan")),
    ("edsr.div2k", "b100", 2): (32.32, 0.9013, ("edsr",)),
    ("edsr.div2k", "b100", 3): (29.25, 0.8093, ("edsr",)),
    ("edsr.div2k", "b100", 4): (27.71, 0.7420, ("edsr", "esrgan")),
    ("edsr.div2k", "urban100", 2): (32.93, 0.9351, ("edsr",)),
    ("edsr.div2k", "urban100", 3): (28.80, None, ("edsr",)),  # the README prints SSIM 0.9653, a misprint
    ("edsr.div2k", "urban100", 4): (26.64, 0.8033, ("edsr", "esrgan")),
    ("edsr.div2k", "manga109", 4): (31.02, 0.9148, ("esrgan",)),
}

_COMPRESSAI = "https://github.com/InterDigitalInc/CompressAI/blob/{commit}/results/image/kodak/{file}"

#: catalog method id -> CompressAI's published Kodak points per quality
RD_PUBLISHED: dict[str, dict[str, Any]] = {
    "bmshj2018-factorized-mse.vimeo90k": {"file": "compressai-bmshj2018-factorized_mse_cpu.json", "commit": "3d3c9bbd92989b1cf19e122281161f7aac8ee769", "points": {
        1: {"bpp": 0.122623, "psnr": 26.908787, "ms-ssim": 0.909989},
        2: {"bpp": 0.188527, "psnr": 28.217927, "ms-ssim": 0.936048},
        3: {"bpp": 0.287808, "psnr": 29.616912, "ms-ssim": 0.955471},
        4: {"bpp": 0.440379, "psnr": 31.277098, "ms-ssim": 0.970358},
        5: {"bpp": 0.648132, "psnr": 32.956134, "ms-ssim": 0.980642},
        6: {"bpp": 0.966977, "psnr": 35.380950, "ms-ssim": 0.987881},
        7: {"bpp": 1.351162, "psnr": 37.396935, "ms-ssim": 0.992199},
        8: {"bpp": 1.833272, "psnr": 39.621305, "ms-ssim": 0.995105},
    }},
    "bmshj2018-hyperprior-mse.vimeo90k": {"file": "compressai-bmshj2018-hyperprior_mse_cpu.json", "commit": "128f00397509b9882aaaeea49f43f1714da083b4", "points": {
        1: {"bpp": 0.131293, "psnr": 27.581537, "ms-ssim": 0.917367},
        2: {"bpp": 0.208893, "psnr": 29.196694, "ms-ssim": 0.942062},
        3: {"bpp": 0.319858, "psnr": 30.972169, "ms-ssim": 0.961056},
        4: {"bpp": 0.478356, "psnr": 32.838191, "ms-ssim": 0.974874},
        5: {"bpp": 0.668684, "psnr": 34.526243, "ms-ssim": 0.983561},
        6: {"bpp": 0.938826, "psnr": 36.743365, "ms-ssim": 0.989251},
        7: {"bpp": 1.259172, "psnr": 38.583856, "ms-ssim": 0.992866},
        8: {"bpp": 1.660224, "psnr": 40.556874, "ms-ssim": 0.995490},
    }},
    "mbt2018-mean-mse.vimeo90k": {"file": "compressai-mbt2018-mean_mse_cpu.json", "commit": "128f00397509b9882aaaeea49f43f1714da083b4", "points": {
        1: {"bpp": 0.123922, "psnr": 27.699473, "ms-ssim": 0.917841},
        2: {"bpp": 0.197981, "psnr": 29.358806, "ms-ssim": 0.943057},
        3: {"bpp": 0.307244, "psnr": 31.128917, "ms-ssim": 0.961485},
        4: {"bpp": 0.460612, "psnr": 32.950675, "ms-ssim": 0.975205},
        5: {"bpp": 0.661665, "psnr": 34.968317, "ms-ssim": 0.983576},
        6: {"bpp": 0.914405, "psnr": 36.911094, "ms-ssim": 0.989250},
        7: {"bpp": 1.234209, "psnr": 38.837509, "ms-ssim": 0.993049},
        8: {"bpp": 1.619090, "psnr": 40.633314, "ms-ssim": 0.995349},
    }},
    "mbt2018-mse.vimeo90k": {"file": "compressai-mbt2018_mse_cpu.json", "commit": "128f00397509b9882aaaeea49f43f1714da083b4", "points": {
        1: {"bpp": 0.110538, "psnr": 28.088870, "ms-ssim": 0.920723},
        2: {"bpp": 0.186968, "psnr": 29.645305, "ms-ssim": 0.943224},
        3: {"bpp": 0.287703, "psnr": 31.362356, "ms-ssim": 0.962758},
        4: {"bpp": 0.432322, "psnr": 33.085616, "ms-ssim": 0.975230},
        5: {"bpp": 0.638804, "psnr": 35.093602, "ms-ssim": 0.983553},
        6: {"bpp": 0.885335, "psnr": 36.988575, "ms-ssim": 0.989236},
        7: {"bpp": 1.200402, "psnr": 38.933218, "ms-ssim": 0.992862},
        8: {"bpp": 1.587419, "psnr": 40.640357, "ms-ssim": 0.995312},
    }},
    "cheng2020-anchor-mse.vimeo90k": {"file": "compressai-cheng2020-anchor_mse_cpu.json", "commit": "128f00397509b9882aaaeea49f43f1714da083b4", "points": {
        1: {"bpp": 0.119598, "psnr": 28.582315, "ms-ssim": 0.923585},
        2: {"bpp": 0.183804, "psnr": 29.968463, "ms-ssim": 0.946504},
        3: {"bpp": 0.270952, "psnr": 31.342601, "ms-ssim": 0.962859},
        4: {"bpp": 0.417386, "psnr": 33.389663, "ms-ssim": 0.975770},
        5: {"bpp": 0.594455, "psnr": 35.118088, "ms-ssim": 0.984116},
        6: {"bpp": 0.805728, "psnr": 36.704474, "ms-ssim": 0.989300},
    }},
    "cheng2020-attn-mse.vimeo90k": {"file": "compressai-cheng2020-attn_mse_cpu.json", "commit": "128f00397509b9882aaaeea49f43f1714da083b4", "points": {
        1: {"bpp": 0.115577, "psnr": 28.431023, "ms-ssim": 0.923922},
        2: {"bpp": 0.174493, "psnr": 29.767466, "ms-ssim": 0.945363},
        3: {"bpp": 0.269036, "psnr": 31.321443, "ms-ssim": 0.963473},
        4: {"bpp": 0.426951, "psnr": 33.362972, "ms-ssim": 0.976191},
        5: {"bpp": 0.595266, "psnr": 34.949298, "ms-ssim": 0.983785},
        6: {"bpp": 0.805915, "psnr": 36.622348, "ms-ssim": 0.989178},
    }},
    "bmshj2018-hyperprior-ms-ssim.vimeo90k": {"file": "compressai-bmshj2018-hyperprior_ms-ssim_cpu.json", "commit": "3d3c9bbd92989b1cf19e122281161f7aac8ee769", "points": {
        1: {"bpp": 0.109433, "psnr": 24.868270, "ms-ssim": 0.934738},
        2: {"bpp": 0.166951, "psnr": 25.985603, "ms-ssim": 0.955081},
        3: {"bpp": 0.248118, "psnr": 27.071944, "ms-ssim": 0.970683},
        4: {"bpp": 0.349545, "psnr": 28.113802, "ms-ssim": 0.980629},
        5: {"bpp": 0.473538, "psnr": 28.992423, "ms-ssim": 0.986602},
        6: {"bpp": 0.637926, "psnr": 30.220330, "ms-ssim": 0.990659},
        7: {"bpp": 0.858771, "psnr": 31.598352, "ms-ssim": 0.993789},
        8: {"bpp": 1.159844, "psnr": 33.174770, "ms-ssim": 0.995918},
    }},
}


def _scale(bench: Any) -> int | None:
    deg = (getattr(bench, "options", {}) or {}).get("degradation") or {}
    s = deg.get("bicubic") if isinstance(deg, dict) else None
    return int(s) if s else None


def _canonical(name: str) -> str:
    from zoo.datasets.hub import catalog_datasets

    entry = catalog_datasets().get(name) or {}
    return "b100" if entry.get("alias_of", name) == "bsd100" else name


def _fmt(v: float | None, digits: int) -> str:
    return "–" if v is None or not math.isfinite(v) else f"{v:.{digits}f}"


def _why_missing(df: pd.DataFrame, bench: str, method: str, meta: dict) -> str:
    """Why a benchmark/method has no value: the dataset could not be read, or the method did not run."""
    b = df[df.benchmark == bench]
    ds_fail = b[(b.method == "*") & (b.status == "failed")]
    if len(ds_fail):
        return f"data not available here: {_short(ds_fail.error.iloc[0])}"
    m = b[b.method == method]
    if m.empty:
        return "not run"
    bad = m[m.status != "ok"]
    if len(bad):
        st = bad.status.iloc[0]
        return f"{'weights not fetched' if st == 'unavailable' else st}: {_short(bad.error.iloc[0])}"
    return "not measured"


def _short(error: Any) -> str:
    """The gist of an error message for a table cell (the run's leaderboard has it in full)."""
    text = str(error).split(": ", 1)[-1] if str(error).startswith(("ZooError", "WeightsError")) else str(error)
    if "LocalEntryNotFoundError" in text or "could not get" in text:
        return "not in the Hub cache (`zoo fetch --suite SUITE` where the Hub is reachable)"
    if "not a pinned" in text:
        return "Hub revision not pinned yet (registry.yaml)"
    if "may not be redistributed" in text:
        return "not redistributable; give a local copy (`path:`)"
    return text.split(". ")[0][:100]


def sr_reproduction(df: pd.DataFrame, meta: dict, benchmarks: list, published: dict | None = None,
                    psnr: str = "psnr-y", ssim: str = "ssim-y") -> pd.DataFrame:
    """One row per (benchmark, method) with a published value: published, ours, difference.

    Args:
        df: long-form results of a run (``zoo bench sr-paper``).
        meta: the run's meta.json (dataset variants).
        benchmarks: the suite's benchmarks (dataset name and bicubic scale of each).
        published: ``{(method, dataset, scale): (psnr, ssim, sources)}``; default :data:`SR_PUBLISHED`.
    """
    published = SR_PUBLISHED if published is None else published
    ok = df[(df.status == "ok") & (df.item != "*")]
    rows = []
    for bench in benchmarks:
        scale, dataset = _scale(bench), _canonical(bench.dataset["name"])
        variant = (meta.get("datasets", {}).get(bench.name) or {}).get("variant") or {}
        for m in bench.methods:
            key = (m.id, dataset, scale)
            if key not in published:
                continue
            p_psnr, p_ssim, sources = published[key]
            mine = ok[(ok.benchmark == bench.name) & (ok.method == m.id)]
            o_psnr = mine[mine.metric == psnr].value.mean() if len(mine) else float("nan")
            o_ssim = mine[mine.metric == ssim].value.mean() if len(mine) else float("nan")
            measured = math.isfinite(o_psnr)
            note = "" if measured else _why_missing(df, bench.name, m.id, meta)
            if measured and variant.get("status") == "differs":
                note = f"dataset is a different variant ({variant['manifest_sha256'][:12]}) from the pinned one"
            elif measured and variant.get("status") == "unpinned":
                note = "dataset variant unpinned"
            if p_psnr is None:
                note = "; ".join(filter(None, ["published value not confirmed (one record only)", note]))
            rows.append({
                "dataset": dataset, "scale": f"x{scale}", "method": m.id,
                "PSNR published": _fmt(p_psnr, 2), "PSNR ours": _fmt(o_psnr, 2) if measured else "–",
                "ΔPSNR": _fmt(o_psnr - p_psnr, 3) if measured and p_psnr is not None else "–",
                "SSIM published": _fmt(p_ssim, 4), "SSIM ours": _fmt(o_ssim, 4) if measured else "–",
                "ΔSSIM": _fmt(o_ssim - p_ssim, 4) if measured and p_ssim is not None and math.isfinite(o_ssim) else "–",
                "source": ", ".join(sources), "note": note,
            })
    return pd.DataFrame(rows)


def _quality(setting: str) -> int | None:
    try:
        q = json.loads(setting).get("quality")
    except (ValueError, AttributeError):
        return None
    return int(q) if q is not None else None


def rd_reproduction(df: pd.DataFrame, benchmarks: list, published: dict | None = None) -> pd.DataFrame:
    """Our Kodak bpp / PSNR / MS-SSIM per quality beside CompressAI's published points.

    Args:
        df: long-form results of a run.
        benchmarks: the suite's benchmarks; those on ``kodak`` with a method that has published
            points get rows (a row per published quality, measured or not).
    """
    published = RD_PUBLISHED if published is None else published
    ok = df[(df.status == "ok") & (df.item != "*")]
    rows = []
    for bench in benchmarks:
        if bench.dataset.get("name") != "kodak":
            continue
        for m in bench.methods:
            ref = published.get(m.id)
            if ref is None:
                continue
            mine = ok[(ok.benchmark == bench.name) & (ok.method == m.id)]
            for q, p in ref["points"].items():
                r = mine[mine.setting.map(_quality) == int(q)]
                vals = {k: r[r.metric == k].value.mean() if len(r) else float("nan") for k in ("bpp", "psnr", "ms-ssim")}
                measured = bool(np.isfinite(vals["bpp"]))
                rows.append({
                    "method": m.id, "quality": int(q),
                    "bpp published": _fmt(p["bpp"], 4), "bpp ours": _fmt(vals["bpp"], 4) if measured else "–",
                    "Δbpp": _fmt(vals["bpp"] - p["bpp"], 4) if measured else "–",
                    "PSNR published": _fmt(p["psnr"], 3), "PSNR ours": _fmt(vals["psnr"], 3) if measured else "–",
                    "ΔPSNR": _fmt(vals["psnr"] - p["psnr"], 3) if measured else "–",
                    "MS-SSIM published": _fmt(p["ms-ssim"], 4),
                    "MS-SSIM ours": _fmt(vals["ms-ssim"], 4) if measured and np.isfinite(vals["ms-ssim"]) else "–",
                    "note": "" if measured else _why_missing(df, bench.name, m.id, {}),
                })
    return pd.DataFrame(rows)


def rd_source(method: str) -> str:
    ref = RD_PUBLISHED[method]
    return _COMPRESSAI.format(commit=ref["commit"], file=ref["file"])
