"""Weight-free translation baselines every learned translator must beat.

* :class:`Identity`: returns its input (the "do nothing" floor of every task).
* :class:`ColorTransfer`: the best global colour transfer, fitted once from domain-A to
  domain-B statistics over the train photos of a task (``zoo_translation.data``):

  - ``reinhard``: Reinhard, Ashikhmin, Gooch and Shirley, "Color Transfer between Images",
    IEEE Computer Graphics and Applications 21(5), 2001: per-channel mean / standard
    deviation matching in CIELAB (the paper uses l-alpha-beta; CIELAB is the common
    modern choice), ``(lab - mu_A) * sd_B / sd_A + mu_B``; a channel with no spread in
    domain A (the chroma of gray images) is only shifted.
  - ``histogram``: per-channel RGB histogram matching (Gonzalez and Woods, Digital Image
    Processing, sec. 3.3): the pooled 256-bin CDF of each channel of domain A is mapped onto
    the quantiles of domain B, and applied with linear interpolation between levels.

  Both are deterministic functions of the train photos (statistics pooled over every fourth
  row and column of every train image); the fit runs once per process.
"""

from __future__ import annotations

from functools import lru_cache

import torch

from zoo.errors import OptionsError
from zoo.images import lab_to_rgb, rgb_to_lab
from zoo.tasks import Translator
from zoo_translation.data import domain_images

TASKS = ("sketch", "gray2color", "graded")
METHODS = ("reinhard", "histogram")
BINS = 256


class Identity(Translator):
    """y = x: the floor every translator must beat. Serves both directions."""

    directions = ("AtoB", "BtoA")

    def __init__(self, direction: str = "AtoB") -> None:
        super().__init__()
        if direction not in ("AtoB", "BtoA"):
            raise OptionsError("Identity", "direction", direction, ["AtoB", "BtoA"])
        self.directions = (direction, *[d for d in ("AtoB", "BtoA") if d != direction])

    def _translate(self, x: torch.Tensor, direction: str) -> torch.Tensor:
        return x.clone()


def lab_stats(images: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard deviation of each CIELAB channel over all pixels of ``images``."""
    pix = torch.cat([rgb_to_lab(x.double()).flatten(1) for x in images], 1)
    return pix.mean(1), pix.std(1, unbiased=False)


def reinhard(x: torch.Tensor, stats_a: tuple[torch.Tensor, torch.Tensor], stats_b: tuple[torch.Tensor, torch.Tensor],
             min_std: float = 1e-3) -> torch.Tensor:
    """Reinhard et al. 2001 transfer of ``x`` (N x 3 x H x W, [0, 1]) from statistics A to B."""
    (mu_a, sd_a), (mu_b, sd_b) = stats_a, stats_b
    scale = torch.where(sd_a > min_std, sd_b / sd_a.clamp_min(min_std), torch.ones_like(sd_a))
    lab = rgb_to_lab(x.double())
    out = (lab - mu_a.view(3, 1, 1)) * scale.view(3, 1, 1) + mu_b.view(3, 1, 1)
    return lab_to_rgb(out).to(x.dtype)


def histogram_lut(images_a: list[torch.Tensor], images_b: list[torch.Tensor]) -> torch.Tensor:
    """3 x 256 table: level i of channel c in domain A -> value in [0, 1] of domain B."""
    luts = []
    levels = torch.linspace(0, 1, BINS, dtype=torch.float64)
    for c in range(3):
        a = torch.cat([(x[c].flatten() * (BINS - 1)).round().long() for x in images_a])
        b = torch.cat([x[c].flatten().double() for x in images_b]).sort().values
        hist = torch.bincount(a.clamp(0, BINS - 1), minlength=BINS).double()
        cdf = hist.cumsum(0) / hist.sum()
        # centre of each level's probability mass, mapped to the same quantile of B
        q = (cdf - hist / hist.sum() / 2).clamp(0, 1)
        idx = (q * (b.numel() - 1)).round().long()
        lut = b[idx]
        # levels absent in A: interpolate between the present ones (keeps the map monotone)
        present = hist > 0
        lut = _interp(levels, levels[present], lut[present])
        luts.append(lut)
    return torch.stack(luts)


def _interp(x: torch.Tensor, xp: torch.Tensor, fp: torch.Tensor) -> torch.Tensor:
    idx = torch.searchsorted(xp, x).clamp(1, xp.numel() - 1)
    x0, x1, f0, f1 = xp[idx - 1], xp[idx], fp[idx - 1], fp[idx]
    t = ((x - x0) / (x1 - x0).clamp_min(1e-12)).clamp(0, 1)
    return f0 + t * (f1 - f0)


def apply_lut(x: torch.Tensor, lut: torch.Tensor) -> torch.Tensor:
    """Per-channel lookup with linear interpolation between the 256 levels."""
    pos = x.double().clamp(0, 1) * (BINS - 1)
    lo = pos.floor().long().clamp(0, BINS - 2)
    t = pos - lo
    out = torch.empty_like(pos)
    for c in range(3):
        table = lut[c].to(x.device)
        out[:, c] = table[lo[:, c]] * (1 - t[:, c]) + table[lo[:, c] + 1] * t[:, c]
    return out.clamp(0, 1).to(x.dtype)


@lru_cache(maxsize=None)
def _domains(task: str) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    images_a, images_b = ([x[..., ::4, ::4] for x in d] for d in domain_images(task))  # 1 pixel in 16
    return images_a, images_b


@lru_cache(maxsize=None)
def fitted(task: str, method: str, direction: str = "AtoB") -> tuple:
    """The statistics of ``method`` fitted from domain A to B (``BtoA``: B to A) on ``task``'s train photos."""
    src, dst = _domains(task)
    if direction == "BtoA":
        src, dst = dst, src
    if method == "reinhard":
        return lab_stats(src), lab_stats(dst)
    return (histogram_lut(src, dst),)


class ColorTransfer(Translator):
    """Global colour transfer fitted on a task's train split (see the module docstring).

    Two-way: ``BtoA`` is the same transfer fitted from B to A, so the baseline has a cycle
    error too.

    Args:
        method: ``reinhard`` (CIELAB mean/std, Reinhard et al. 2001) or ``histogram`` (per-channel RGB).
        task: the task whose train photos define domains A and B: ``sketch``, ``gray2color`` or ``graded``.
        direction: default direction, ``AtoB`` or ``BtoA``.
    """

    def __init__(self, method: str = "reinhard", task: str = "graded", direction: str = "AtoB") -> None:
        super().__init__()
        if method not in METHODS:
            raise OptionsError("ColorTransfer", "method", method, list(METHODS))
        if task not in TASKS:
            raise OptionsError("ColorTransfer", "task", task, list(TASKS))
        if direction not in ("AtoB", "BtoA"):
            raise OptionsError("ColorTransfer", "direction", direction, ["AtoB", "BtoA"])
        self.method, self.fit_task = method, task
        self.directions = (direction, *[d for d in ("AtoB", "BtoA") if d != direction])
        self.fitted_stats = {d: fitted(task, method, d) for d in ("AtoB", "BtoA")}

    def _translate(self, x: torch.Tensor, direction: str) -> torch.Tensor:
        stats = self.fitted_stats[direction]
        if self.method == "reinhard":
            return reinhard(x, *stats)
        return apply_lut(x, stats[0])
