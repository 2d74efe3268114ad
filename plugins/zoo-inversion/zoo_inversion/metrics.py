"""Inversion metrics: how an edit moves the masked region and keeps the rest, and how smooth an interpolation is.

Reconstruction PSNR / SSIM / perceptual distance are the core's metrics. These add:

* ``edit-inside``: PSNR (dB) between the edited image and the scribble, inside the mask
  (higher: the edit reached the scribble).
* ``edit-outside``: PSNR (dB) between the edited image and the input, outside the mask
  (higher: the rest of the image was kept).
* ``path-smoothness``: for frames of an interpolation in order, mean / max of the
  perceptual distances between consecutive frames (1: evenly paced, no jumps), in the
  spirit of perceptual path length (Karras et al., StyleGAN, CVPR 2019, arXiv:1812.04948),
  measured with the offline EfficientNet-Lite0 deep-feature distance.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from zoo.errors import MetricError
from zoo.metrics import Metric


def masked_psnr(x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR (dB, float64) over pixels where ``mask`` (N x 1 x H x W) is 1; +inf if equal."""
    m = mask.to(x.dtype).expand_as(x)
    mse = ((x - y).pow(2) * m).flatten(1).sum(1).double() / m.flatten(1).sum(1).double().clamp_min(1.0)
    return 10.0 * torch.log10(1.0 / mse)


def path_smoothness(distances: torch.Tensor) -> float:
    """mean / max of consecutive-frame distances (1 = evenly paced path)."""
    if distances.numel() == 0:
        raise MetricError("path-smoothness: needs at least two frames")
    top = float(distances.max())
    return 1.0 if top == 0 else float(distances.mean()) / top


def _mask(mask: Any, output: torch.Tensor, name: str) -> torch.Tensor:
    if mask is None:
        raise MetricError(f"{name}: needs the items' masks (extras['mask'], N x 1 x H x W, 1 = edited region)")
    if mask.dim() == 3:
        mask = mask.unsqueeze(1)
    if mask.shape[0] != output.shape[0] or tuple(mask.shape[-2:]) != tuple(output.shape[-2:]):
        raise MetricError(f"{name}: mask shape {tuple(mask.shape)} does not match output {tuple(output.shape)}")
    return mask.to(output.device).float()


class EditInside(Metric):
    """PSNR inside the mask between the edited image and the scribble (Zhu et al., ECCV 2016, arXiv:1609.03552)."""

    name = "edit-inside"
    unit = "dB"
    needs_reference = False
    needs: ClassVar[tuple[str, ...]] = ("mask", "scribble")

    def _values(self, output, reference=None, *, mask=None, scribble=None, **extras) -> torch.Tensor:
        m = _mask(mask, output, self.name)
        if scribble is None or scribble.shape != output.shape:
            raise MetricError(f"{self.name}: needs scribbles shaped like the output {tuple(output.shape)}")
        return masked_psnr(output, scribble.to(output.device), m).cpu()


class EditOutside(Metric):
    """PSNR outside the mask between the edited image and the input (how much of the rest survives)."""

    name = "edit-outside"
    unit = "dB"
    needs_reference = False
    needs: ClassVar[tuple[str, ...]] = ("input", "mask")

    def _values(self, output, reference=None, *, input=None, mask=None, **extras) -> torch.Tensor:
        m = _mask(mask, output, self.name)
        start = input if input is not None else reference
        if start is None or start.shape != output.shape:
            raise MetricError(f"{self.name}: needs the input batch shaped like the output {tuple(output.shape)}")
        return masked_psnr(output, start.to(output.device), 1 - m).cpu()


class PathSmoothness(Metric):
    """Evenness of an interpolation: frames arrive in order (across batches); mean / max step distance."""

    name = "path-smoothness"
    paired = False
    needs_reference = False
    needs: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        from zoo.metrics.features import EffNetLite0

        self.extractor = EffNetLite0()
        super().__init__()

    def options(self) -> dict[str, Any]:
        return {"features": self.extractor.fingerprint.replace("224px,bilinear-aa", "native-res")}

    def reset(self) -> None:
        super().reset()
        self._frames: list[torch.Tensor] = []

    def _update(self, output, reference=None, **extras) -> None:
        self._frames.append(output.detach().cpu())

    def step_distances(self, frames: torch.Tensor) -> torch.Tensor:
        feats = self.extractor.stages(frames.to(self._device))
        total = torch.zeros(frames.shape[0] - 1, dtype=torch.float64)
        for f in feats:
            f = f / (f.norm(dim=1, keepdim=True) + 1e-10)
            total += (f[1:] - f[:-1]).pow(2).sum(1).mean((1, 2)).double().cpu()
        return total

    def _compute(self) -> torch.Tensor:
        frames = torch.cat(self._frames) if self._frames else torch.empty(0, 3, 1, 1)
        if frames.shape[0] < 2:
            raise MetricError("path-smoothness: needs at least two frames of an interpolation")
        return torch.tensor(path_smoothness(self.step_distances(frames)), dtype=torch.float64)
