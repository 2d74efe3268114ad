"""No-reference metrics: NIQE and BRISQUE, as the MATLAB releases compute them.

Both read only the output image (``needs_reference = False``, no ``needs``), so they run on
every task, unpaired translation and style transfer included.

* ``niqe``: Mittal, Soundararajan and Bovik, "Making a 'Completely Blind' Image Quality
  Analyzer", IEEE Signal Processing Letters 20(3), 2013. The release's ``computequality.m``:
  MATLAB ``rgb2gray`` on uint8 (rounded), the image cropped to whole 96x96 blocks (top-left),
  MSCN coefficients with a 7x7 Gaussian (sigma 7/6, ``imfilter`` replicate borders), 18
  AGGD features per block at two scales (the second by MATLAB ``imresize(.,0.5)``: bicubic
  with antialiasing, on 48x48 blocks), neighbour products by ``circshift`` *within each
  block*, a multivariate Gaussian fitted over the blocks (``nanmean``; ``nancov`` on complete
  rows) and the distance to the pristine model: sqrt(d' pinv((S1+S2)/2) d). Lower is better.
* ``brisque``: Mittal, Moorthy and Bovik, "No-Reference Image Quality Assessment in the
  Spatial Domain", IEEE TIP 21(12), 2012. The release's ``brisquescore.m``: MATLAB
  ``rgb2gray`` on uint8, MSCN with ``filter2(.,'same')`` (zero borders) on the whole image, GGD +
  4 AGGD neighbour fits (``circshift`` over the whole image) at two scales (``imresize(.,0.5)``),
  36 features scaled by ``allrange`` to [-1, 1] and scored by the LIVE epsilon-SVR
  (``allmodel``). With ``matlab_io=True`` (default) the text round trips of the release are
  reproduced: features written ``%f``, scaled features ``%g`` (svm-scale), the prediction
  ``%g`` (svm-predict of LibSVM 2.89, the binaries shipped). Lower is better (0-100 typical).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import torch
from scipy import ndimage
from scipy.special import gamma as gamma_fn

from zoo.errors import MetricError
from zoo.metrics import Metric

#: MATLAB rgb2gray: the first row of inv([1 .956 .621; 1 -.272 -.647; 1 -1.106 1.703])
RGB2GRAY = (0.298936021293775, 0.587043074451121, 0.114020904255103)
#: the shape-parameter grid both releases search: MATLAB 0.2:0.001:10
GAM = 0.2 + 0.001 * np.arange(9801)


@functools.lru_cache(maxsize=1)
def _tables() -> tuple[np.ndarray, np.ndarray]:
    r_aggd = gamma_fn(2 / GAM) ** 2 / (gamma_fn(1 / GAM) * gamma_fn(3 / GAM))
    r_ggd = gamma_fn(1 / GAM) * gamma_fn(3 / GAM) / gamma_fn(2 / GAM) ** 2
    return r_aggd, r_ggd


@functools.lru_cache(maxsize=1)
def gaussian_7x7() -> np.ndarray:
    """MATLAB ``fspecial('gaussian', 7, 7/6)``, normalised to sum 1."""
    c = np.arange(7) - 3.0
    g = np.exp(-(c[:, None] ** 2 + c[None, :] ** 2) / (2 * (7 / 6) ** 2))
    return g / g.sum()


def matlab_gray(x: torch.Tensor) -> np.ndarray:
    """N x 3 x H x W floats in [0, 1] -> N x H x W float64 gray levels as MATLAB's ``rgb2gray(uint8(.))``."""
    u8 = torch.round(x.detach().double().cpu() * 255).clamp(0, 255).numpy()
    g = RGB2GRAY[0] * u8[:, 0] + RGB2GRAY[1] * u8[:, 1] + RGB2GRAY[2] * u8[:, 2]
    return np.floor(g + 0.5)  # uint8 conversion rounds half away from zero (values are positive)


def matlab_half(im: np.ndarray) -> np.ndarray:
    """MATLAB ``imresize(im, 0.5)`` of a double image: bicubic, antialiased, output ceil(H/2) x ceil(W/2)."""
    from zoo.datasets.degrade import imresize

    return imresize(torch.from_numpy(im), 0.5).numpy()


def mscn(im: np.ndarray, border: str) -> tuple[np.ndarray, np.ndarray]:
    """Mean-subtracted contrast-normalised coefficients (I - mu) / (sigma + 1) and sigma.

    ``border``: ``'replicate'`` (NIQE's ``imfilter``) or ``'zero'`` (BRISQUE's ``filter2 'same'``).
    """
    mode, w = ("nearest", gaussian_7x7()) if border == "replicate" else ("constant", gaussian_7x7())
    mu = ndimage.correlate(im, w, mode=mode, cval=0.0)
    sigma = np.sqrt(np.abs(ndimage.correlate(im * im, w, mode=mode, cval=0.0) - mu * mu))
    return (im - mu) / (sigma + 1), sigma


def aggd(v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Asymmetric generalised Gaussian fit of each row of ``v`` (B x L), as ``estimateaggdparam.m``.

    Returns (alpha, left std, right std). A side with no samples gives NaN (MATLAB's mean of an
    empty vector), and a NaN ratio gives alpha = 0.2 (MATLAB ``min`` of all-NaN returns index 1).
    """
    r_aggd, _ = _tables()
    neg, pos = v < 0, v > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        left = np.sqrt((v * v * neg).sum(1) / neg.sum(1))
        right = np.sqrt((v * v * pos).sum(1) / pos.sum(1))
        g = left / right
        rhat = np.abs(v).mean(1) ** 2 / (v * v).mean(1)
        rnorm = rhat * (g**3 + 1) * (g + 1) / (g**2 + 1) ** 2
    idx = np.argmin((r_aggd[None, :] - np.nan_to_num(rnorm, nan=0.0)[:, None]) ** 2, axis=1)
    alpha = np.where(np.isnan(rnorm), GAM[0], GAM[idx])
    return alpha, left, right


def ggd(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Generalised Gaussian fit of each row of ``v`` (B x L), as BRISQUE's ``estimateggdparam.m``: (alpha, sigma)."""
    _, r_ggd = _tables()
    sigma_sq = (v * v).mean(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = sigma_sq / np.abs(v).mean(1) ** 2
    idx = np.argmin(np.abs(np.nan_to_num(rho, nan=0.0)[:, None] - r_ggd[None, :]), axis=1)
    return np.where(np.isnan(rho), GAM[0], GAM[idx]), np.sqrt(sigma_sq)


# NIQE and BRISQUE pair each coefficient with a neighbour by circshift; [1 -1] and [-1 1] give the same pairs
SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1))


def _blocks(a: np.ndarray, size: int) -> np.ndarray:
    """H x W (multiples of ``size``) -> B x size x size blocks."""
    h, w = a.shape
    return a.reshape(h // size, size, w // size, size).transpose(0, 2, 1, 3).reshape(-1, size, size)


def niqe_features(im: np.ndarray, block: int = 96) -> np.ndarray:
    """B x 36 features of the whole ``block`` x ``block`` patches of a gray image (``computequality.m``)."""
    h, w = (im.shape[0] // block) * block, (im.shape[1] // block) * block
    im = im[:h, :w]
    feats = []
    for scale in (1, 2):
        s, _ = mscn(im, "replicate")
        b = _blocks(s, block // scale)
        flat = b.reshape(len(b), -1)
        alpha, left, right = aggd(flat)
        k = np.sqrt(gamma_fn(1 / alpha) / gamma_fn(3 / alpha))
        cols = [alpha, (left * k + right * k) / 2]
        for dy, dx in SHIFTS:
            pair = (b * np.roll(b, (dy, dx), axis=(1, 2))).reshape(len(b), -1)
            alpha, left, right = aggd(pair)
            k = np.sqrt(gamma_fn(1 / alpha) / gamma_fn(3 / alpha))
            bl, br = left * k, right * k
            cols += [alpha, (br - bl) * (gamma_fn(2 / alpha) / gamma_fn(1 / alpha)), bl, br]
        feats.append(np.stack(cols, 1))
        im = matlab_half(im)
    return np.concatenate(feats, 1)


def niqe_score(feats: np.ndarray, mu: np.ndarray, cov: np.ndarray) -> float:
    """sqrt(d' pinv((cov_pris + cov_dist) / 2) d) with MATLAB's nanmean / nancov (complete rows) / pinv."""
    mu_d = np.nanmean(feats, 0)
    rows = feats[~np.isnan(feats).any(1)]
    cov_d = np.cov(rows, rowvar=False) if len(rows) > 1 else np.zeros((feats.shape[1],) * 2)
    a = (cov + cov_d) / 2
    inv = np.linalg.pinv(a, rcond=max(a.shape) * np.finfo(np.float64).eps)  # MATLAB pinv's default tolerance
    d = mu - mu_d
    return float(np.sqrt(d @ inv @ d))


def brisque_features(im: np.ndarray) -> np.ndarray:
    """The 36 BRISQUE features of a gray image (``brisque_feature.m``)."""
    feat: list[float] = []
    for _ in range(2):
        s, _ = mscn(im, "zero")
        alpha, sigma = ggd(s.reshape(1, -1))
        feat += [alpha[0], sigma[0] ** 2]
        for dy, dx in SHIFTS:
            pair = (s * np.roll(s, (dy, dx), axis=(0, 1))).reshape(1, -1)
            a, left, right = aggd(pair)
            const = np.sqrt(gamma_fn(1 / a)) / np.sqrt(gamma_fn(3 / a))
            mean = (right - left) * (gamma_fn(2 / a) / gamma_fn(1 / a)) * const
            feat += [a[0], mean[0], left[0] ** 2, right[0] ** 2]
        im = matlab_half(im)
    return np.array(feat)


def _g(v: float) -> float:
    return float(f"{v:g}")


class _NoReference(Metric):
    """A metric of the output alone."""

    needs_reference = False
    min_size = 1

    def _gray_items(self, output: torch.Tensor) -> list[np.ndarray | None]:
        gray = matlab_gray(output)
        self.item_reasons = []
        out: list[np.ndarray | None] = []
        for g in gray:
            if min(g.shape) < self.min_size:
                self.item_reasons.append(f"{self.name} needs at least {self.min_size}x{self.min_size} pixels, got {g.shape[0]}x{g.shape[1]}")
                out.append(None)
            elif np.ptp(g) == 0:
                self.item_reasons.append(f"{self.name} is undefined on a constant image (no local contrast to model)")
                out.append(None)
            else:
                self.item_reasons.append(None)
                out.append(g)
        return out


class NIQE(_NoReference):
    """NIQE (Mittal et al. 2013) with the MATLAB release's pristine model; lower is better."""

    name = "niqe"
    higher_is_better = False

    def __init__(self, model: str | None = None, block: int = 96) -> None:
        from zoo_iqa.models import load_niqe_model

        if not isinstance(block, int) or block < 8 or block % 2:
            raise MetricError(f"niqe: block must be an even int >= 8 (the release uses 96), got {block!r}")
        self.model = load_niqe_model(model)
        self.block = block
        self.min_size = block
        super().__init__()

    def options(self) -> dict[str, Any]:
        return {"model": self.model.sha256[:12], "block": self.block, "gray": "matlab-rgb2gray-u8", "resize": "matlab-bicubic-aa"}

    def _values(self, output, reference=None, **extras) -> torch.Tensor:
        vals = [float("nan") if g is None else niqe_score(niqe_features(g, self.block), self.model.mu, self.model.cov)
                for g in self._gray_items(output)]
        return torch.tensor(vals, dtype=torch.float64)


class BRISQUE(_NoReference):
    """BRISQUE (Mittal et al. 2012) with the MATLAB release's LIVE-trained SVR; lower is better."""

    name = "brisque"
    higher_is_better = False
    min_size = 16

    def __init__(self, model: str | None = None, matlab_io: bool = True) -> None:
        from zoo_iqa.models import load_brisque_model

        self.model = load_brisque_model(model)
        self.matlab_io = bool(matlab_io)
        super().__init__()

    def options(self) -> dict[str, Any]:
        return {"model": self.model.sha256[:12], "matlab_io": self.matlab_io, "gray": "matlab-rgb2gray-u8", "resize": "matlab-bicubic-aa"}

    def score(self, feat: np.ndarray) -> float:
        """The SVR's prediction for 36 raw features (svm-scale with ``allrange``, then svm-predict)."""
        m = self.model
        if self.matlab_io:
            feat = np.array([float(f"{v:f}") for v in feat])
        lo, hi = m.ranges[:, 0], m.ranges[:, 1]
        x = m.lower + (m.upper - m.lower) * (feat - lo) / (hi - lo)
        x = np.where(feat == lo, m.lower, np.where(feat == hi, m.upper, x))
        if self.matlab_io:
            x = np.array([_g(v) for v in x])
        k = np.exp(-m.gamma * ((m.sv - x[None, :]) ** 2).sum(1))
        y = float(k @ m.coef - m.rho)
        return _g(y) if self.matlab_io else y

    def _values(self, output, reference=None, **extras) -> torch.Tensor:
        vals = [float("nan") if g is None else self.score(brisque_features(g)) for g in self._gray_items(output)]
        return torch.tensor(vals, dtype=torch.float64)
