"""Fidelity metrics: PSNR, SSIM and MS-SSIM.

SSIM follows Wang et al., "Image Quality Assessment: From Error Visibility to Structural
Similarity", IEEE TIP 2004: Gaussian window 11x11 with sigma 1.5, K1=0.01, K2=0.03,
population statistics, computed on the valid region (no padding) and averaged over
channels. MS-SSIM follows Wang, Simoncelli and Bovik, "Multiscale structural similarity
for image quality assessment", Asilomar 2003: 5 scales with weights (0.0448, 0.2856,
0.3001, 0.2363, 0.1333) and 2x2 average pooling between scales.

Y channel (``channel="y"``): by default (``luma="matlab"``) Y is computed as MATLAB's
``rgb2ycbcr`` computes it on a uint8 image, Y = round(16 + 65.481 R + 128.553 G + 24.966 B)
with R, G, B the 8-bit values / 255, which is the convention of the PSNR/SSIM tables SR papers
print (Dong et al., SRCNN, TPAMI 2016; Lim et al., EDSR, CVPRW 2017; Zhang et al., RCAN, ECCV
2018). ``luma="float"`` keeps Y unrounded (BasicSR's ``to_y_channel``); it reads 0.01-0.02 dB
higher on the standard sets. The choice is part of the fingerprint.

Speed: on CPU tensors the work is done per image plane by OpenCV's SIMD separable filters and
element-wise kernels (``opencv-python-headless``), planes spread over ``torch.get_num_threads()``
Python threads (OpenCV releases the GIL), in blocks of :data:`ROW_BLOCK` rows that stay in cache.
Four filterings per pixel (mu_x, mu_y, E[x^2 + y^2], E[xy]) instead of five, and no torch
element-wise kernels, whose speed was found to move by 2-3x between torch builds
(benchmarks/perf/metrics.py, docs/performance.md). Other devices (CUDA) keep a torch path: the
separable window as 11 + 11 shifted multiply-adds on the stacked moments.
"""

from __future__ import annotations

import functools
import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from zoo.errors import MetricError
from zoo.images import quantize, rgb_to_y, rgb_to_y_u8
from zoo.metrics import Metric

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
#: how Y is computed for ``channel="y"``: MATLAB's uint8 rgb2ycbcr (rounded), or unrounded float
LUMA = ("matlab", "float")


def _prepare(x: torch.Tensor, channel: str, crop_border: int, round_u8: bool, luma: str = "matlab") -> torch.Tensor:
    if round_u8:
        x = quantize(x)
    if channel == "y":
        x = rgb_to_y_u8(x) if luma == "matlab" else rgb_to_y(x)
    if crop_border:
        x = x[..., crop_border:-crop_border, crop_border:-crop_border]
        if x.shape[-1] == 0 or x.shape[-2] == 0:
            raise MetricError(f"crop_border={crop_border} leaves nothing of the image")
    return x


class _Preprocessed(Metric):
    def __init__(self, channel: str = "rgb", crop_border: int = 0, round: bool = False, luma: str = "matlab") -> None:
        if channel not in ("rgb", "y"):
            raise MetricError(f"{self.name}: channel must be 'rgb' or 'y' (BT.601 luma), got {channel!r}")
        if not isinstance(crop_border, int) or crop_border < 0:
            raise MetricError(f"{self.name}: crop_border must be a non-negative int, got {crop_border!r}")
        if luma not in LUMA:
            raise MetricError(f"{self.name}: luma must be 'matlab' (Y rounded as MATLAB rgb2ycbcr on uint8, the papers' "
                              f"convention) or 'float' (unrounded Y), got {luma!r}")
        self.channel, self.crop_border, self.round, self.luma = channel, crop_border, bool(round), luma
        super().__init__()

    def options(self) -> dict[str, Any]:
        opts = {"channel": self.channel, "crop": self.crop_border, "u8": self.round}
        if self.channel == "y":  # RGB fingerprints stay as they were
            opts["luma"] = self.luma
        return opts

    def _pair(self, output: torch.Tensor, reference: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return (
            _prepare(output, self.channel, self.crop_border, self.round, self.luma),
            _prepare(reference, self.channel, self.crop_border, self.round, self.luma),
        )


class PSNR(_Preprocessed):
    """Peak signal-to-noise ratio in dB over all pixels and channels, data range 1.

    Identical images give +inf (as scikit-image does).
    """

    name = "psnr"
    ideal = float("inf")
    unit = "dB"
    tolerance = 1e-4  # dB; measured noise: 4.7e-7 dB across thread counts and batching (docs/ci.md)

    def _values(self, output, reference, **extras) -> torch.Tensor:
        a, b = self._pair(output, reference)
        diff = (a - b).flatten(1)
        mse = diff.pow_(2).mean(1).double()
        return 10.0 * torch.log10(1.0 / mse)


@functools.lru_cache(maxsize=8)
def gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Normalised 1-D Gaussian of ``size`` taps."""
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    return (g / g.sum()).to(torch.float32)


def _filter(x: torch.Tensor, win: torch.Tensor) -> torch.Tensor:
    """Separable valid Gaussian filtering of every channel of ``x`` (N x C x H x W).

    Written as 2 x 11 shifted multiply-adds rather than ``conv2d``: PyTorch's CPU
    convolution is slow for single-channel 1-D kernels, and the shifted adds are
    memory-bound vector ops (measured 9x faster in benchmarks/perf/metrics.py).
    """
    taps = [float(t) for t in win]
    k = len(taps)
    w_out, h_out = x.shape[-1] - k + 1, x.shape[-2] - k + 1
    y = x[..., 0:w_out] * taps[0]
    for i in range(1, k):
        y.add_(x[..., i : i + w_out], alpha=taps[i])
    z = y[..., 0:h_out, :] * taps[0]
    for i in range(1, k):
        z.add_(y[..., i : i + h_out, :], alpha=taps[i])
    return z


ROW_BLOCK = 128  # output rows per block: a block's filtered moments stay in the 512 KB L2 (measured: 128 best of whole-plane, 256, 128, 64, 32)


def _block_sums(x: np.ndarray, y: np.ndarray, win: np.ndarray, c1: float, c2: float, need_ssim: bool, need_cs: bool) -> tuple[float, float]:
    """Sums of the SSIM and contrast-structure maps over one block of rows of one plane (2-D arrays).

    Four separable filterings (mu_x, mu_y, E[x^2 + y^2], E[xy]) with OpenCV's SIMD row and
    column filters; the maps' arithmetic with OpenCV's element-wise kernels; sums in float64
    (``cv2.sumElems`` accumulates in double). Border pixels of the filter output are dropped:
    only the valid region, where the window lies inside the image, is kept.
    """
    h = win.size // 2

    def filt(a: np.ndarray) -> np.ndarray:
        return cv2.sepFilter2D(a, -1, win, win, borderType=cv2.BORDER_REFLECT)[h:-h, h:-h]

    mu_x, mu_y = filt(x), filt(y)
    sq = cv2.multiply(x, x)
    cv2.accumulateSquare(y, sq)  # x^2 + y^2
    e_sq, e_xy = filt(sq), filt(cv2.multiply(x, y))
    mu_xy = cv2.multiply(mu_x, mu_y)
    mu_sq = cv2.multiply(mu_x, mu_x)
    cv2.accumulateSquare(mu_y, mu_sq)  # mu_x^2 + mu_y^2
    # contrast-structure (2 s_xy + c2) / (s_x^2 + s_y^2 + c2)
    cs = cv2.divide(cv2.addWeighted(e_xy, 2.0, mu_xy, -2.0, c2), cv2.addWeighted(e_sq, 1.0, mu_sq, -1.0, c2))
    cs_sum = cv2.sumElems(cs)[0] if need_cs else math.nan
    ssim_sum = math.nan
    if need_ssim:  # luminance (2 mu_x mu_y + c1) / (mu_x^2 + mu_y^2 + c1), times cs
        lum = cv2.divide(cv2.addWeighted(mu_xy, 2.0, mu_xy, 0.0, c1), cv2.addWeighted(mu_sq, 1.0, mu_sq, 0.0, c1))
        ssim_sum = cv2.sumElems(cv2.multiply(lum, cs))[0]
    return ssim_sum, cs_sum


def _plane_sums(x: np.ndarray, y: np.ndarray, win: np.ndarray, c1: float, c2: float, need_ssim: bool, need_cs: bool) -> tuple[float, float]:
    k = win.size
    ho = x.shape[0] - k + 1
    s_sum = c_sum = 0.0
    for r0 in range(0, ho, ROW_BLOCK):
        r1 = min(r0 + ROW_BLOCK, ho)
        s, c = _block_sums(x[r0 : r1 + k - 1], y[r0 : r1 + k - 1], win, c1, c2, need_ssim, need_cs)
        s_sum += s
        c_sum += c
    return s_sum, c_sum


def ssim_components(x: torch.Tensor, y: torch.Tensor, win: torch.Tensor, data_range: float = 1.0,
                    k1: float = 0.01, k2: float = 0.03, need_ssim: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean SSIM and contrast-structure (N x C each) on the valid region.

    Wang et al., "Image Quality Assessment: From Error Visibility to Structural Similarity",
    IEEE TIP 2004. The torch path (non-CPU devices, and the reference the OpenCV path is tested
    against). Works image by image in blocks of :data:`ROW_BLOCK` output rows so the
    five filtered moments of a block stay in CPU cache; the SSIM map arithmetic is done in
    place on the filtered moments. Sums are accumulated in float64. With ``need_ssim=False``
    (MS-SSIM's finer scales) only contrast-structure is computed; the SSIM result is NaN.
    """
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    k = win.numel()
    n, c, h, w = x.shape
    ho, wo = h - k + 1, w - k + 1
    ssim_sum = torch.zeros(n, c, dtype=torch.float64, device=x.device)
    cs_sum = torch.zeros(n, c, dtype=torch.float64, device=x.device)
    for i in range(n):
        for r0 in range(0, ho, ROW_BLOCK):
            r1 = min(r0 + ROW_BLOCK, ho)
            xb, yb = x[i, :, r0 : r1 + k - 1], y[i, :, r0 : r1 + k - 1]
            m = torch.empty((5, *xb.shape), dtype=x.dtype, device=x.device)
            m[0], m[1] = xb, yb
            torch.mul(xb, xb, out=m[2])
            torch.mul(yb, yb, out=m[3])
            torch.mul(xb, yb, out=m[4])
            mu_x, mu_y, xx, yy, xy = _filter(m, win).unbind(0)
            mu_xy = mu_x * mu_y
            mu_sq = mu_x.square_().add_(mu_y.square_())  # mu_x^2 + mu_y^2
            cs = xy.sub_(mu_xy).mul_(2).add_(c2).div_(xx.add_(yy).sub_(mu_sq).add_(c2))  # (2 s_xy + c2) / (s_x + s_y + c2)
            cs_sum[i] += cs.sum((-2, -1), dtype=torch.float64)
            if need_ssim:
                lum = mu_xy.mul_(2).add_(c1).div_(mu_sq.add_(c1))  # (2 mu_x mu_y + c1) / (mu_x^2 + mu_y^2 + c1)
                ssim_sum[i] += lum.mul_(cs).sum((-2, -1), dtype=torch.float64)
    if not need_ssim:
        ssim_sum.fill_(float("nan"))
    area = ho * wo
    return (ssim_sum / area).to(x.dtype), (cs_sum / area).to(x.dtype)


def _downsample(a: np.ndarray) -> np.ndarray:
    """2 x 2 average pooling of a 2-D plane, as ``F.avg_pool2d(kernel_size=2, padding=(h % 2, w % 2))``:
    an odd side gets one zero row or column in front (counted in the average)."""
    ph, pw = a.shape[0] % 2, a.shape[1] % 2
    if ph or pw:
        a = np.pad(a, ((ph, 0), (pw, 0)))
    s = a[0::2, 0::2] + a[0::2, 1::2]
    s += a[1::2, 0::2]
    s += a[1::2, 1::2]
    s *= 0.25
    return s


def _plane_scales(x: np.ndarray, y: np.ndarray, win: np.ndarray, scales: int, c1: float, c2: float) -> list[float]:
    """[cs_1, ..., cs_scales, ssim_scales]: means over the valid region of one plane at each scale
    (the coarsest scale's contrast-structure is not needed by MS-SSIM and is NaN)."""
    out = []
    k = win.size
    for level in range(scales):
        last = level == scales - 1
        area = (x.shape[0] - k + 1) * (x.shape[1] - k + 1)
        s, c = _plane_sums(x, y, win, c1, c2, need_ssim=last, need_cs=not last)
        out.append(c / area)
        if last:
            out.append(s / area)
        else:
            x, y = _downsample(x), _downsample(y)
    return out


def ssim_scales(x: torch.Tensor, y: torch.Tensor, win: torch.Tensor, scales: int = 1, data_range: float = 1.0,
                k1: float = 0.01, k2: float = 0.03) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean SSIM at the coarsest scale (N x C) and mean contrast-structure at every scale
    (scales x N x C) on the valid region, with 2 x 2 average pooling between scales.

    Wang et al. 2004 (SSIM); Wang, Simoncelli and Bovik 2003 (MS-SSIM, ``scales=5``). The
    coarsest scale's contrast-structure is not computed (NaN): SSIM and MS-SSIM do not use it. CPU tensors take the OpenCV
    path, other devices the torch path.
    """
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    n, c, h, w = x.shape
    if x.device.type != "cpu":
        cs_levels = []
        for level in range(scales):
            last = level == scales - 1
            s, cs = ssim_components(x, y, win, data_range, k1, k2, need_ssim=last)
            cs_levels.append(torch.full_like(cs, float("nan")) if last else cs)
            if not last:
                pad = [x.shape[-2] % 2, x.shape[-1] % 2]
                x, y = F.avg_pool2d(x, kernel_size=2, padding=pad), F.avg_pool2d(y, kernel_size=2, padding=pad)
        return s, torch.stack(cs_levels)
    dtype = x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32
    xs = x.detach().to(dtype).reshape(n * c, h, w).contiguous().numpy()
    ys = y.detach().to(dtype).reshape(n * c, h, w).contiguous().numpy()
    taps = win.numpy().astype(np.float32)

    def plane(i: int) -> list[float]:
        return _plane_scales(xs[i], ys[i], taps, scales, c1, c2)

    workers = max(1, min(torch.get_num_threads(), n * c))
    if workers == 1:
        rows = [plane(i) for i in range(n * c)]
    else:
        with ThreadPoolExecutor(workers) as pool:
            rows = list(pool.map(plane, range(n * c)))
    table = torch.tensor(rows, dtype=torch.float64).T.reshape(scales + 1, n, c)  # cs per scale, then ssim
    return table[-1].to(x.dtype), table[:-1].to(x.dtype)


class SSIM(_Preprocessed):
    """Structural similarity (Wang et al. 2004), Gaussian window 11x11, sigma 1.5."""

    name = "ssim"
    ideal = 1.0
    tolerance = 1e-5  # float32; measured noise across thread counts and batching: none (docs/ci.md)

    def __init__(self, channel: str = "rgb", crop_border: int = 0, round: bool = False, win_size: int = 11, sigma: float = 1.5,
                 luma: str = "matlab") -> None:
        self.win_size, self.sigma = win_size, sigma
        super().__init__(channel, crop_border, round, luma)

    def options(self) -> dict[str, Any]:
        return {**super().options(), "win": self.win_size, "sigma": self.sigma}

    def _values(self, output, reference, **extras) -> torch.Tensor:
        a, b = self._pair(output, reference)
        if min(a.shape[-2:]) < self.win_size:
            raise MetricError(f"ssim: images must be at least {self.win_size}x{self.win_size} after cropping, got {tuple(a.shape[-2:])}")
        s, _ = ssim_scales(a, b, gaussian_window(self.win_size, self.sigma))
        return s.mean(1)


class MSSSIM(_Preprocessed):
    """Multi-scale SSIM (Wang, Simoncelli and Bovik 2003), 5 scales, standard weights."""

    name = "ms-ssim"
    ideal = 1.0
    tolerance = 1e-5

    def __init__(self, channel: str = "rgb", crop_border: int = 0, round: bool = False, win_size: int = 11, sigma: float = 1.5,
                 luma: str = "matlab") -> None:
        self.win_size, self.sigma = win_size, sigma
        super().__init__(channel, crop_border, round, luma)

    def options(self) -> dict[str, Any]:
        return {**super().options(), "win": self.win_size, "sigma": self.sigma}

    @property
    def min_size(self) -> int:
        return (self.win_size - 1) * 2 ** (len(MS_SSIM_WEIGHTS) - 1) + 1

    def _values(self, output, reference, **extras) -> torch.Tensor:
        a, b = self._pair(output, reference)
        if min(a.shape[-2:]) < self.min_size:
            raise MetricError(
                f"ms-ssim: images must be at least {self.min_size}x{self.min_size} (5 scales of an "
                f"{self.win_size}-tap window), got {tuple(a.shape[-2:])}; use ssim for smaller images"
            )
        weights = torch.tensor(MS_SSIM_WEIGHTS, dtype=torch.float64, device=a.device)
        s, cs = ssim_scales(a, b, gaussian_window(self.win_size, self.sigma), scales=len(MS_SSIM_WEIGHTS))
        stack = torch.cat([cs[:-1], s[None]]).double().relu()  # levels x N x C
        return torch.prod(stack ** weights.view(-1, 1, 1), dim=0).mean(1).to(a.dtype)
