"""Degradations for super-resolution: MATLAB-compatible bicubic resizing and mod-crop.

``imresize`` reproduces MATLAB's ``imresize(I, scale, 'bicubic')`` (Keys cubic kernel,
a = -0.5; antialiasing when downscaling, i.e. the kernel widened by 1/scale; symmetric
boundary handling), the convention behind published SR numbers (Set5, Set14 ...). It is
applied as two dense matrix products, which is exact and fast for benchmark-sized images.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

from zoo.errors import ZooError


def _cubic(x: np.ndarray) -> np.ndarray:
    ax = np.abs(x)
    ax2, ax3 = ax**2, ax**3
    return (1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1) + (-0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2) * ((ax > 1) & (ax <= 2))


@functools.lru_cache(maxsize=64)
def resize_matrix(in_len: int, out_len: int, scale: float, antialias: bool = True) -> torch.Tensor:
    """out_len x in_len matrix W with ``out = W @ in`` along one axis (MATLAB ``contributions``)."""
    width = 4.0
    if scale < 1 and antialias:
        kernel = lambda v: scale * _cubic(scale * v)  # noqa: E731
        width = width / scale
    else:
        kernel = _cubic
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - width / 2)
    taps = int(math.ceil(width)) + 2
    idx = left[:, None] + np.arange(taps)[None, :] - 1  # 0-based
    w = kernel(u[:, None] - idx - 1)
    w = w / w.sum(1, keepdims=True)
    mirror = np.concatenate([np.arange(in_len), np.arange(in_len)[::-1]])
    idx = mirror[np.mod(idx.astype(np.int64), 2 * in_len)]
    mat = np.zeros((out_len, in_len), dtype=np.float64)
    np.add.at(mat, (np.repeat(np.arange(out_len), taps), idx.ravel()), w.ravel())
    return torch.from_numpy(mat)


def imresize(x: torch.Tensor, scale: float | None = None, size: tuple[int, int] | None = None, antialias: bool = True) -> torch.Tensor:
    """MATLAB ``imresize`` (bicubic) of ``... x H x W`` floats; output size ``ceil(H * scale)``."""
    h, w = x.shape[-2:]
    if size is None:
        if scale is None or scale <= 0:
            raise ZooError(f"imresize: give a positive scale or an output size, got scale={scale!r}")
        size = (int(math.ceil(h * scale)), int(math.ceil(w * scale)))
        sh = sw = float(scale)
    else:
        sh, sw = size[0] / h, size[1] / w
    mh = resize_matrix(h, size[0], sh, antialias).to(x.device)
    mw = resize_matrix(w, size[1], sw, antialias).to(x.device)
    out = torch.einsum("ij,...jk,lk->...il", mh, x.double(), mw)
    return out.to(x.dtype)


def mod_crop(x: torch.Tensor, scale: int) -> torch.Tensor:
    """Crop H and W down to multiples of ``scale`` (top-left anchored, as in SR benchmarks)."""
    h, w = x.shape[-2:]
    return x[..., : h - h % scale, : w - w % scale]


def bicubic_down(hr: torch.Tensor, scale: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(LR, HR): HR mod-cropped to the scale, LR = MATLAB bicubic 1/scale, rounded to uint8 levels."""
    from zoo.images import quantize

    if not isinstance(scale, int) or scale < 1:
        raise ZooError(f"bicubic degradation: scale must be a positive integer, got {scale!r}")
    hr = mod_crop(hr, scale)
    lr = quantize(imresize(hr, 1.0 / scale).clamp(0, 1))
    return lr, hr
