"""Shared base of the learned super-resolvers: tiling, clamping, checkpoint unwrapping."""

from __future__ import annotations

from pathlib import Path

import torch

from zoo.errors import OptionsError
from zoo.tasks import SuperResolver
from zoo_superres.tiling import tiled


class NetSR(SuperResolver):
    """A network taking RGB in [0, 1] to RGB at ``scale`` x the size.

    Args:
        tile: if set, upscale in tiles of this many input pixels (bounded memory).
        tile_pad: overlap per tile side in input pixels; defaults to the network's
            receptive radius, which makes tiled output equal to a whole-image pass.
    """

    #: input pixels on each side that influence one output pixel (per architecture)
    receptive_radius: int = 0

    def __init__(self, scale: int, tile: int | None = None, tile_pad: int | None = None) -> None:
        super().__init__()
        if scale not in (1, 2, 3, 4, 8):
            raise OptionsError(type(self).__name__, "scale", scale, [2, 3, 4])
        if tile is not None and tile <= 0:
            raise OptionsError(type(self).__name__, "tile", tile, "a positive number of pixels")
        self.scale, self.tile, self.tile_pad = scale, tile, tile_pad

    def read_weights(self, path) -> dict[str, torch.Tensor]:
        """Checkpoints as the core reads them, plus ncnn models: ``X.param`` (or ``X.bin`` beside one)
        converted by :func:`zoo_superres.ncnn.convert` (the pair's graph mapped key for key)."""
        p = Path(path)
        if p.suffix == ".param" or (p.suffix == ".bin" and p.with_suffix(".param").is_file()):
            from zoo_superres.ncnn import convert

            return convert(p.with_suffix(".param"), p.with_suffix(".bin")).state
        return super().read_weights(path)

    @staticmethod
    def convert_state_dict(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Unwrap ``params_ema``/``params`` and drop a DataParallel ``module.`` prefix."""
        return {k.removeprefix("module."): v for k, v in unwrap(state).items()}

    def _upscale(self, lr: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            if self.tile:
                pad = self.receptive_radius if self.tile_pad is None else self.tile_pad
                return tiled(self, lr, self.scale, self.tile, pad).clamp_(0, 1)
            return self(lr).clamp_(0, 1)


def unwrap(state: dict, keys: tuple[str, ...] = ("params_ema", "params", "state_dict", "model")) -> dict:
    """The tensor mapping inside a BasicSR-style checkpoint (``params_ema`` preferred)."""
    for k in keys:
        if k in state and isinstance(state[k], dict):
            return state[k]
    return state
