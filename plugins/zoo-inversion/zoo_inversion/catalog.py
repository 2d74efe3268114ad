"""Catalog entries: the offline StyleGAN2 trained here, and the published config-f generators.

The published generators are NVIDIA's TF pickles; rosinality's ``convert_weight.py`` turns
them into the ``{"g_ema", "latent_avg"}`` checkpoints that load here key for key. No Hub
mirror is pinned, so those entries carry only the official source URL: convert the file
and pass it with ``zoo.load(id, weights=path)``.
"""

from __future__ import annotations

#: the offline generator's architecture (zoo_inversion.offline builds it from these)
SIZE = 32
STYLE_DIM = 64
N_MLP = 4
CHANNELS = {4: 128, 8: 128, 16: 64, 32: 32}

def _ref(**fields) -> dict:
    return dict(fields)


#: allowed values of the options with a fixed set of choices (steps, lr, weights ... are free)
OPTIM_OPTIONS = {"space": ["z", "w", "w+"], "optimizer": ["adam", "lbfgs"], "pixel": ["l2", "l1"],
                 "start": ["mean", "random"], "resize": [False, True], "optimize_noise": [False, True]}


GENERATOR_SHA = "1090b41774d9584c6e3a82b9ab2001f2c965b2d0772907da34af723d224fd665"
ENCODER_SHA = "3590a80cb694678843ce41525052085c0e748ffce5f76d1578926944f9099ee4"

OFFLINE_PARAMS = {"size": SIZE, "style_dim": STYLE_DIM, "n_mlp": N_MLP, "channels": dict(CHANNELS)}
OFFLINE_GENERATOR = _ref(bundled="zoo_inversion:weights/stylegan2-lfw32.safetensors", sha256=GENERATOR_SHA, part="generator",
                         source="trained by zoo_inversion/train_generator.py (seed 0) on lfw_subset faces 0-89")
OFFLINE_ENCODER = _ref(bundled="zoo_inversion:weights/encoder-lfw32.safetensors", sha256=ENCODER_SHA, part="encoder",
                       source="trained by zoo_inversion/train_encoder.py (seed 0, from the auto-encoder's encoder) against the offline generator")
OFFLINE_NOTE = ("32x32 StyleGAN2 (rosinality layout) trained here as the decoder of a regularised auto-encoder "
                "(closed-form Gaussian mapping network) on scikit-image's lfw_subset faces")
PAPER_SG2 = "arXiv:1912.04958"
SPACES = ("z", "w", "w+")

ENTRIES: dict[str, dict] = {
    "sg2-optim.lfw32": {
        "task": "inversion", "factory": "gan-inversion-optim", "params": OFFLINE_PARAMS,
        "settings": [{"space": s, "steps": n} for s in SPACES for n in (50, 200)]
        + [{"space": "w+", "steps": 200, "optimizer": "lbfgs"}, {"space": "w+", "steps": 200, "optimize_noise": True}],
        "options": OPTIM_OPTIONS,
        "weights": [OFFLINE_GENERATOR], "license": "Apache-2.0", "paper": "arXiv:1904.03189",
        "description": f"optimisation-based inversion (pixel L2 + EfficientNet-Lite0 perceptual + mean-latent prior) of the {OFFLINE_NOTE}",
    },
    "sg2-encoder.lfw32": {
        "task": "inversion", "factory": "gan-inversion-encoder", "params": OFFLINE_PARAMS,
        "settings": [{"space": s} for s in SPACES], "options": {"space": list(SPACES), "resize": [False, True]},
        "weights": [OFFLINE_GENERATOR, OFFLINE_ENCODER], "license": "Apache-2.0", "paper": "arXiv:1609.03552",
        "description": f"encoder-based inversion (one forward pass) into the {OFFLINE_NOTE}",
    },
    "sg2-hybrid.lfw32": {
        "task": "inversion", "factory": "gan-inversion-hybrid", "params": OFFLINE_PARAMS,
        "settings": [{"space": s, "steps": n} for s in SPACES for n in (50, 200)],
        "options": {**OPTIM_OPTIONS, "start": ["encoder"]},
        "weights": [OFFLINE_GENERATOR, OFFLINE_ENCODER], "license": "Apache-2.0", "paper": "arXiv:2004.00049",
        "description": f"hybrid inversion: the encoder's code starts the optimisation; {OFFLINE_NOTE}",
    },
    "mean-face.baseline": {
        "task": "inversion", "factory": "inversion-baseline", "params": {"kind": "mean-face"},
        "license": "Apache-2.0", "paper": None,
        "description": "trivial baseline: the mean of the offline generator's training faces, whatever the input",
    },
    "down-up.baseline": {
        "task": "inversion", "factory": "inversion-baseline", "params": {"kind": "down-up"},
        "settings": [{"size": 8}], "options": {"size": [4, 8, 16]},
        "license": "Apache-2.0", "paper": None,
        "description": "trivial baseline: the input shrunk to 8x8 (192 numbers) and enlarged back, bicubic",
    },
    "pulse-sg2.lfw32": {
        "task": "super-resolution", "factory": "pulse", "params": OFFLINE_PARAMS,
        "settings": [{"scale": 4, "steps": 150}, {"scale": 2, "steps": 150}],
        "weights": [OFFLINE_GENERATOR], "license": "Apache-2.0", "paper": "arXiv:2003.03808",
        "description": f"PULSE-style SR: latent-sphere search so that the bicubic downscale matches the input; {OFFLINE_NOTE}",
    },
}

#: published StyleGAN2 config-f models: (dataset, output size)
PUBLISHED = {"ffhq": 1024, "cat": 256, "church": 256, "horse": 256, "car": 512}
LICENSE_NC = "Nvidia Source Code License-NC (non-commercial use only)"

for _name, _size in PUBLISHED.items():
    _src = _ref(source=f"https://nvlabs-fi-cdn.nvidia.com/stylegan2/networks/stylegan2-{_name}-config-f.pkl", part="generator")
    _params = {"size": _size, "style_dim": 512, "n_mlp": 8, "channel_multiplier": 2}
    ENTRIES[f"sg2-optim.{_name}-{_size}"] = {
        "task": "inversion", "factory": "gan-inversion-optim", "params": _params,
        "settings": [{"space": s, "steps": n} for s in SPACES for n in (100, 1000)]
        + [{"space": "w+", "steps": 1000, "optimize_noise": True}], "options": OPTIM_OPTIONS,
        "weights": [_src], "license": LICENSE_NC, "paper": PAPER_SG2,
        "description": (f"optimisation-based inversion into NVIDIA's StyleGAN2 config-f {_name} generator ({_size}px); "
                        "the TF pickle converted by rosinality/stylegan2-pytorch convert_weight.py; non-commercial"
                        + ("; the car model's 512x384 images sit letterboxed in 512x512" if _name == "car" else "")),
    }
ENTRIES["pulse-sg2.ffhq-1024"] = {
    "task": "super-resolution", "factory": "pulse", "params": {"size": 1024, "style_dim": 512, "n_mlp": 8, "channel_multiplier": 2},
    "settings": [{"scale": 8, "steps": 100}, {"scale": 32, "steps": 100}],
    "weights": [_ref(source="https://nvlabs-fi-cdn.nvidia.com/stylegan2/networks/stylegan2-ffhq-config-f.pkl", part="generator")],
    "license": LICENSE_NC, "paper": "arXiv:2003.03808",
    "description": "PULSE-style face SR with StyleGAN2 FFHQ config-f (PULSE itself used StyleGAN v1: pulse-sg1.ffhq-1024); non-commercial",
}
#: PULSE's StyleGAN v1 FFHQ 1024 (Karras et al. 2019, arXiv:1812.04948), the two state dicts
#: PULSE.py downloads (no published hash or size; key layout checked against PULSE's stylegan.py in
#: tests/golden/stylegan1-pulse-1024.json); Google Drive serves a page, so `zoo fetch` prints the manual steps
PULSE_SG1_SYNTHESIS = "https://drive.google.com/uc?id=1TCViX1YpQyRsklTVYEJwdbmK91vklCo8"
PULSE_SG1_MAPPING = "https://drive.google.com/uc?id=14R6iHGf5iuVx3DMNsACAl7eBr7Vdpd0k"
LICENSE_SG1 = "CC BY-NC 4.0 (StyleGAN v1 FFHQ weights; non-commercial use only)"
ENTRIES["pulse-sg1.ffhq-1024"] = {
    "task": "super-resolution", "factory": "pulse-sg1",
    "params": {"resolution": 1024, "dlatent_size": 512, "fmap_base": 8192, "fmap_max": 512},
    "settings": [{"scale": 8, "steps": 100}, {"scale": 32, "steps": 100}],
    "weights": [_ref(source=PULSE_SG1_SYNTHESIS, part="synthesis"), _ref(source=PULSE_SG1_MAPPING, part="mapping")],
    "license": LICENSE_SG1, "paper": "arXiv:2003.03808",
    "description": ("PULSE face SR with PULSE's own generator, StyleGAN v1 FFHQ 1024 (arXiv:1812.04948) in PULSE's "
                    "PyTorch layout: latent-sphere search through its Gaussian-fit latent map; non-commercial"),
}
ENTRIES["dcgan-optim.examples"] = {
    "task": "inversion", "factory": "dcgan-inversion", "params": {"nz": 100, "ngf": 64, "nc": 3},
    "settings": [{"steps": 200}, {"steps": 1000}],
    "weights": [_ref(source="https://github.com/pytorch/examples/tree/main/dcgan (no published weights: pass the "
                            "netG_epoch_N.pth that main.py writes with weights=)", part="generator")],
    "license": "BSD-3-Clause", "paper": "arXiv:1511.06434",
    "description": "z-space optimisation inversion of a DCGAN generator in the pytorch/examples layout (64x64)",
}
