"""Tiled inference: upscale a large image in overlapping tiles within bounded memory.

Each tile is cut with ``pad`` extra low-resolution pixels on every side (clipped at the
image border), run through the network, and only its centre is kept. When ``pad`` is at
least the network's receptive radius the result equals a whole-image pass exactly (up to
floating-point summation order): every kept output pixel saw the same input neighbourhood,
and tiles at the border see the same image edge. A smaller ``pad`` trades exactness near
tile seams for speed, as Real-ESRGAN's ``--tile_pad`` does.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def tiled(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, scale: int, tile: int, pad: int) -> torch.Tensor:
    """Apply ``fn`` (N x C x h x w -> N x C' x sh x sw) to ``x`` tile by tile.

    Args:
        fn: the network forward pass.
        x: low-resolution batch, N x C x H x W.
        scale: output / input size ratio of ``fn``.
        tile: tile side in input pixels (the part of each tile that is kept).
        pad: overlap in input pixels added on each side of a tile and discarded.
    """
    if tile <= 0 or pad < 0:
        raise ValueError(f"tile must be > 0 and pad >= 0, got tile={tile}, pad={pad}")
    n, _, h, w = x.shape
    if h <= tile and w <= tile:
        return fn(x)
    out: torch.Tensor | None = None
    for top in range(0, h, tile):
        for left in range(0, w, tile):
            bottom, right = min(top + tile, h), min(left + tile, w)
            t0, l0 = max(top - pad, 0), max(left - pad, 0)
            t1, l1 = min(bottom + pad, h), min(right + pad, w)
            y = fn(x[:, :, t0:t1, l0:l1])
            if out is None:
                out = y.new_empty(n, y.shape[1], h * scale, w * scale)
            oy, ox = (top - t0) * scale, (left - l0) * scale
            out[:, :, top * scale : bottom * scale, left * scale : right * scale] = (
                y[:, :, oy : oy + (bottom - top) * scale, ox : ox + (right - left) * scale]
            )
    assert out is not None
    return out
