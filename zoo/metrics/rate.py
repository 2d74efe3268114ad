"""Rate: bits per pixel from the bitstreams a compressor actually returned."""

from __future__ import annotations

import torch

from zoo.errors import MetricError
from zoo.metrics import Metric


class BPP(Metric):
    """bpp = 8 * len(bitstream) / (H * W), per image. Needs ``bitstreams=`` in update()."""

    name = "bpp"
    higher_is_better = False
    #: a rate, not a quality: a lower bpp is not better by itself (it buys quality), so the report gives it no ★
    rate = True
    unit = "bit/px"
    needs = ("bitstreams",)

    def _values(self, output, reference, bitstreams=None, **extras) -> torch.Tensor:
        if bitstreams is None:
            raise MetricError("bpp: pass bitstreams=[bytes, ...] (what compress() returned); bpp is only defined for codecs")
        if len(bitstreams) != output.shape[0]:
            raise MetricError(f"bpp: {len(bitstreams)} bitstreams for {output.shape[0]} images")
        pixels = output.shape[-2] * output.shape[-1]
        return torch.tensor([8.0 * len(b) / pixels for b in bitstreams], dtype=torch.float64)
