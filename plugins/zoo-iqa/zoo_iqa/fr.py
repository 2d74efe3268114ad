"""Full-reference metrics as their authors' MATLAB releases compute them: FSIM / FSIMc, VIF (pixel), GMSD.

All three work on 8-bit levels (images x 255) in float64 and convert RGB as the releases do
(FSIM.m: Y = 0.299 R + 0.587 G + 0.114 B, I = 0.596 R - 0.274 G - 0.322 B,
Q = 0.211 R - 0.523 G + 0.312 B, unrounded; VIF and GMSD take that same Y, the luma the FSIM
release and piq use). MATLAB's ``conv2(., 'same')`` / ``filter2(., 'valid')`` borders are
reproduced exactly (zero padding; the even 2x2 box's 'same' offset).

* ``fsim`` / ``fsimc``: Zhang, Zhang, Mou and Zhang, "FSIM: A Feature Similarity Index for
  Image Quality Assessment", IEEE TIP 20(8), 2011 (``FSIM.m`` with ``phasecong2.m``, Kovesi's
  phase congruency: 4 scales, 4 orientations, min wavelength 6, mult 2, sigmaOnf 0.55,
  dThetaOnSigma 1.2, k 2, noise threshold / 1.7); images first box-filtered and subsampled by
  F = max(1, round(min(H, W) / 256)); Scharr gradients; T1 0.85, T2 160, T3 = T4 200, lambda 0.03.
* ``vif``: Sheikh and Bovik, "Image Information and Visual Quality", IEEE TIP 15(2), 2006, pixel
  domain (``vifp_mscale.m``: 4 scales of Gaussian windows N = 17, 9, 5, 3 with sigma N/5,
  'valid' filtering, dyadic subsampling, sigma_n^2 = 2).
* ``gmsd``: Xue, Zhang, Mou and Bovik, "Gradient Magnitude Similarity Deviation", IEEE TIP 23(2),
  2014 (``GMSD.m``: 2x2 box + subsample by 2, Prewitt 3x3 / 3, T = 170, ``std2`` of the map).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from zoo.errors import MetricError
from zoo.metrics import Metric

YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], dtype=torch.float64)


def yiq255(x: torch.Tensor) -> torch.Tensor:
    """N x 3 x H x W in [0, 1] -> N x 3 x H x W float64 (Y, I, Q) on the 0-255 scale (FSIM.m's conversion)."""
    return torch.einsum("ij,njhw->nihw", YIQ.to(x.device), x.double() * 255)


def conv2_same(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """MATLAB ``conv2(x, k, 'same')`` (true convolution, zero borders) on N x 1 x H x W.

    Written as shifted multiply-adds over the (small) kernel's non-zero taps: PyTorch's CPU
    conv2d is slow for one float64 channel and a 2x2 / 3x3 kernel.
    """
    kh, kw = k.shape
    kf = torch.flip(k, (0, 1)).double()
    pad = (kw - 1 - kw // 2, kw // 2, kh - 1 - kh // 2, kh // 2)  # left, right, top, bottom
    xp = F.pad(x, pad)
    h, w = x.shape[-2:]
    out = torch.zeros_like(x)
    for i in range(kh):
        for j in range(kw):
            t = float(kf[i, j])
            if t:
                out.add_(xp[..., i : i + h, j : j + w], alpha=t)
    return out


def filter2_valid(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """MATLAB ``filter2(k, x, 'valid')`` (correlation, no padding) on N x 1 x H x W."""
    return F.conv2d(x, k.to(x)[None, None])


def box_down(x: torch.Tensor, f: int) -> torch.Tensor:
    """``conv2(x, fspecial('average', f), 'same')`` then every f-th pixel from the first (FSIM.m, GMSD.m)."""
    if f == 1:
        return x
    y = conv2_same(x, torch.full((f, f), 1.0 / (f * f), dtype=torch.float64))
    return y[..., ::f, ::f]


def round_half_away(v: float) -> int:
    return int(math.floor(v + 0.5))


# ---------------------------------------------------------------------------------------------
# phase congruency (Kovesi), the variant FSIM ships as phasecong2.m


def _grid(rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    def rng(n: int) -> np.ndarray:
        return np.arange(-(n - 1) / 2, (n - 1) / 2 + 1) / (n - 1) if n % 2 else np.arange(-n / 2, n / 2) / n

    return np.meshgrid(rng(cols), rng(rows))


@functools.lru_cache(maxsize=16)
def _pc_filters(rows: int, cols: int, nscale: int = 4, norient: int = 4, min_wavelength: float = 6, mult: float = 2,
                sigma_onf: float = 0.55, d_theta_on_sigma: float = 1.2) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Log-Gabor x angular spread filters (norient x nscale x H x W), their noise sums and EM_n."""
    x, y = _grid(rows, cols)
    radius = np.fft.ifftshift(np.sqrt(x**2 + y**2))
    theta = np.fft.ifftshift(np.arctan2(-y, x))
    lp = np.fft.ifftshift(1.0 / (1.0 + (np.sqrt(x**2 + y**2) / 0.45) ** (2 * 15)))  # lowpassfilter([rows cols], .45, 15)
    radius[0, 0] = 1
    sin_t, cos_t = np.sin(theta), np.cos(theta)
    theta_sigma = math.pi / norient / d_theta_on_sigma
    log_gabor = []
    for s in range(nscale):
        fo = 1.0 / (min_wavelength * mult**s)
        lg = np.exp(-(np.log(radius / fo)) ** 2 / (2 * math.log(sigma_onf) ** 2)) * lp
        lg[0, 0] = 0
        log_gabor.append(lg)
    filters = np.empty((norient, nscale, rows, cols))
    for o in range(norient):
        ang = o * math.pi / norient
        ds = sin_t * math.cos(ang) - cos_t * math.sin(ang)
        dc = cos_t * math.cos(ang) + sin_t * math.sin(ang)
        spread = np.exp(-np.abs(np.arctan2(ds, dc)) ** 2 / (2 * theta_sigma**2))
        for s in range(nscale):
            filters[o, s] = log_gabor[s] * spread
    # noise model: sums over the spatial filters (ifft of each, scaled by sqrt(rows cols))
    ifilt = np.real(np.fft.ifft2(filters)) * math.sqrt(rows * cols)
    sum_an2 = (ifilt**2).sum((1, 2, 3))
    sum_aiaj = np.zeros(norient)
    for si in range(nscale - 1):
        for sj in range(si + 1, nscale):
            sum_aiaj += (ifilt[:, si] * ifilt[:, sj]).sum((1, 2))
    em_n = (filters[:, 0] ** 2).sum((1, 2))
    noise = np.stack([sum_an2, sum_aiaj, em_n], 1)
    return torch.from_numpy(filters), torch.from_numpy(noise), torch.tensor(0)


def phase_congruency(y: torch.Tensor, k: float = 2.0, epsilon: float = 1e-4) -> torch.Tensor:
    """Phase congruency map of N x 1 x H x W float64 (``phasecong2.m`` of the FSIM release)."""
    n, _, rows, cols = y.shape
    filters, noise, _ = _pc_filters(rows, cols)
    filters, noise = filters.to(y.device), noise.to(y.device)
    norient, nscale = filters.shape[:2]
    eo = torch.fft.ifft2(torch.fft.fft2(y[:, 0])[:, None, None] * filters[None])  # N x O x S x H x W
    e, o_ = eo.real, eo.imag
    an = eo.abs()
    sum_e, sum_o, sum_an = e.sum(2), o_.sum(2), an.sum(2)  # N x O x H x W
    x_energy = torch.sqrt(sum_e**2 + sum_o**2) + epsilon
    mean_e, mean_o = sum_e / x_energy, sum_o / x_energy
    energy = (e * mean_e[:, :, None] + o_ * mean_o[:, :, None] - (e * mean_o[:, :, None] - o_ * mean_e[:, :, None]).abs()).sum(2)
    # noise threshold per image and orientation from the median of the smallest scale's energy
    sq = (an[:, :, 0] ** 2).flatten(2)
    srt = sq.sort(-1).values
    m = srt.shape[-1]
    median = srt[..., (m - 1) // 2] if m % 2 else (srt[..., m // 2 - 1] + srt[..., m // 2]) / 2
    mean_e2n = -median / math.log(0.5)
    noise_power = mean_e2n / noise[:, 2]
    est_noise_energy2 = 2 * noise_power * noise[:, 0] + 4 * noise_power * noise[:, 1]
    tau = torch.sqrt(est_noise_energy2 / 2)
    t = (tau * math.sqrt(math.pi / 2) + k * torch.sqrt((2 - math.pi / 2) * tau**2)) / 1.7
    energy = torch.clamp(energy - t[..., None, None], min=0)
    return (energy.sum(1) / sum_an.sum(1))[:, None]


SCHARR_X = torch.tensor([[3.0, 0, -3], [10, 0, -10], [3, 0, -3]], dtype=torch.float64) / 16
PREWITT_X = torch.tensor([[1.0, 0, -1], [1, 0, -1], [1, 0, -1]], dtype=torch.float64) / 3


def _gradient(y: torch.Tensor, kx: torch.Tensor) -> torch.Tensor:
    return torch.sqrt(conv2_same(y, kx) ** 2 + conv2_same(y, kx.T.contiguous()) ** 2)


class _FullReference(Metric):
    min_size = 1

    def _check_size(self, x: torch.Tensor) -> None:
        if min(x.shape[-2:]) < self.min_size:
            raise MetricError(f"{self.name}: images must be at least {self.min_size}x{self.min_size}, got {tuple(x.shape[-2:])}")


class FSIM(_FullReference):
    """FSIM (Zhang et al. 2011) on luma; 1 for identical images, higher is better."""

    name = "fsim"
    ideal = 1.0
    chromatic = False
    min_size = 8

    def options(self) -> dict[str, Any]:
        return {"pc": "phasecong2", "down": "round(min/256)"}

    def _values(self, output, reference, **extras) -> torch.Tensor:
        self._check_size(output)
        a, b = yiq255(reference), yiq255(output)  # FSIM.m takes (imageRef, imageDis); the index is symmetric
        rows, cols = a.shape[-2:]
        f = max(1, round_half_away(min(rows, cols) / 256))
        a = torch.cat([box_down(a[:, i : i + 1], f) for i in range(3)], 1)
        b = torch.cat([box_down(b[:, i : i + 1], f) for i in range(3)], 1)
        y1, y2 = a[:, :1], b[:, :1]
        pc1, pc2 = phase_congruency(y1), phase_congruency(y2)
        g1, g2 = _gradient(y1, SCHARR_X), _gradient(y2, SCHARR_X)
        s_pc = (2 * pc1 * pc2 + 0.85) / (pc1**2 + pc2**2 + 0.85)
        s_g = (2 * g1 * g2 + 160) / (g1**2 + g2**2 + 160)
        pcm = torch.maximum(pc1, pc2)
        sim = s_g * s_pc
        if self.chromatic:
            s_i = (2 * a[:, 1:2] * b[:, 1:2] + 200) / (a[:, 1:2] ** 2 + b[:, 1:2] ** 2 + 200)
            s_q = (2 * a[:, 2:3] * b[:, 2:3] + 200) / (a[:, 2:3] ** 2 + b[:, 2:3] ** 2 + 200)
            prod = s_i * s_q
            # MATLAB real(prod .^ 0.03): a negative base has the principal value |p|^l * exp(i pi l)
            sim = sim * prod.abs() ** 0.03 * torch.where(prod < 0, math.cos(0.03 * math.pi), 1.0)
        den = pcm.sum((1, 2, 3))
        self.item_reasons = ["fsim is undefined where neither image has any phase congruency (flat images: 0/0)"
                             if not d > 0 else None for d in den.tolist()]
        return ((sim * pcm).sum((1, 2, 3)) / den).cpu()


class FSIMc(FSIM):
    """FSIMc (Zhang et al. 2011): FSIM with the I and Q chromatic similarities (lambda 0.03)."""

    name = "fsimc"
    chromatic = True


@functools.lru_cache(maxsize=8)
def _vif_window(n: int) -> torch.Tensor:
    """The 1-D factor of ``fspecial('gaussian', n, n/5)`` (the 2-D window is its outer product)."""
    c = torch.arange(n, dtype=torch.float64) - (n - 1) / 2
    g = torch.exp(-(c**2) / (2 * (n / 5) ** 2))
    return g / g.sum()


def _filter_valid_sep(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """``filter2(g g', x, 'valid')`` as two 1-D passes (34 instead of 289 multiply-adds per pixel at N = 17)."""
    g = g.to(x)
    return F.conv2d(F.conv2d(x, g.view(1, 1, 1, -1)), g.view(1, 1, -1, 1))


class VIFp(_FullReference):
    """Pixel-domain VIF (Sheikh and Bovik 2006, ``vifp_mscale.m``) on luma; 1 for identical images."""

    name = "vif"
    ideal = 1.0
    min_size = 41  # 4 scales of 'valid' filtering and 2x subsampling leave at least one pixel

    def __init__(self, sigma_nsq: float = 2.0) -> None:
        self.sigma_nsq = float(sigma_nsq)
        super().__init__()

    def options(self) -> dict[str, Any]:
        return {"domain": "pixel", "sigma_nsq": self.sigma_nsq, "scales": 4}

    def _values(self, output, reference, **extras) -> torch.Tensor:
        self._check_size(output)
        ref, dist = yiq255(reference)[:, :1], yiq255(output)[:, :1]
        num = torch.zeros(ref.shape[0], dtype=torch.float64, device=ref.device)
        den = torch.zeros_like(num)
        eps = 1e-10
        for scale in range(1, 5):
            win = _vif_window(2 ** (4 - scale + 1) + 1)
            if scale > 1:
                ref = _filter_valid_sep(ref, win)[..., ::2, ::2]
                dist = _filter_valid_sep(dist, win)[..., ::2, ::2]
            # the five moments filtered as one 5-channel batch
            mom = _filter_valid_sep(torch.cat([ref, dist, ref * ref, dist * dist, ref * dist]).flatten(0, 1)[:, None], win)
            mu1, mu2, rr, dd, rd = mom.view(5, ref.shape[0], 1, *mom.shape[-2:]).unbind(0)
            s1 = (rr - mu1 * mu1).clamp(min=0)
            s2 = (dd - mu2 * mu2).clamp(min=0)
            s12 = rd - mu1 * mu2
            g = s12 / (s1 + eps)
            sv = s2 - g * s12
            low1, low2 = s1 < eps, s2 < eps
            g = torch.where(low1, 0.0, g)
            sv = torch.where(low1, s2, sv)
            s1 = torch.where(low1, 0.0, s1)
            g = torch.where(low2, 0.0, g)
            sv = torch.where(low2, 0.0, sv)
            sv = torch.where(g < 0, s2, sv)
            g = g.clamp(min=0)
            sv = sv.clamp(min=eps)
            num += torch.log10(1 + g * g * s1 / (sv + self.sigma_nsq)).sum((1, 2, 3))
            den += torch.log10(1 + s1 / self.sigma_nsq).sum((1, 2, 3))
        self.item_reasons = ["vif is undefined for a flat reference (no signal information: 0/0)" if d == 0 else None
                             for d in den.tolist()]
        return (num / den).cpu()


class GMSD(_FullReference):
    """GMSD (Xue et al. 2014) on luma; 0 for identical images, lower is better."""

    name = "gmsd"
    higher_is_better = False
    ideal = 0.0
    min_size = 2

    def options(self) -> dict[str, Any]:
        return {"T": 170, "down": 2, "std": "n-1"}

    def _values(self, output, reference, **extras) -> torch.Tensor:
        self._check_size(output)
        y1 = box_down(yiq255(reference)[:, :1], 2)
        y2 = box_down(yiq255(output)[:, :1], 2)
        g1, g2 = _gradient(y1, PREWITT_X), _gradient(y2, PREWITT_X)
        q = (2 * g1 * g2 + 170) / (g1**2 + g2**2 + 170)
        return q.flatten(1).std(1, correction=1).cpu()  # MATLAB std2: normalised by N - 1
