"""Trivial baselines for inversion benchmarks: what an inverter must beat to have learnt anything.

* ``mean-face.baseline``: returns the mean face of the offline generator's training images
  (lfw_subset faces 0-89, at the input's size) whatever the input: the score of knowing only
  the data set's average.
* ``down-up.baseline``: the input shrunk to ``size`` x ``size`` (antialiased bicubic) and
  enlarged back (bicubic): a "latent" of 3 x 8 x 8 = 192 numbers, a little more than the
  generator's 64-dimensional z and w (and far fewer than w+'s n_latent x 64), taken straight from
  the pixels. An inverter below it reconstructs worse than a thumbnail.

Both are :class:`zoo.tasks.Inverter` methods so they run in the same benchmark as the inverters
(``baselines:`` in a suite marks them); their "latent" is the thumbnail (``down-up``) or nothing
(``mean-face``), in space ``w`` for the task's contract; ``generate`` reproduces the output.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

from zoo.errors import OptionsError
from zoo.tasks import Inverter, Latent


@functools.lru_cache(maxsize=1)
def _mean_face() -> torch.Tensor:
    from zoo_inversion.offline import lfw_faces

    return lfw_faces("train").mean(0, keepdim=True)  # 1 x 3 x 32 x 32


class InversionBaseline(Inverter):
    """A trivial baseline in the inversion task (see the module docstring).

    Args:
        kind: ``mean-face`` or ``down-up``.
        size: thumbnail side for ``down-up`` (default 8).
    """

    space = "w"

    def __init__(self, kind: str = "down-up", size: int = 8) -> None:
        super().__init__()
        if kind not in ("mean-face", "down-up"):
            raise OptionsError("inversion baseline", "kind", kind, ["mean-face", "down-up"])
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise OptionsError("inversion baseline", "size", size, ["an integer >= 1"])
        self.kind, self.size = kind, size
        self.stats: dict[str, float] = {}

    def _invert(self, x: torch.Tensor) -> Latent:
        h, w = x.shape[-2:]
        if self.kind == "mean-face":
            return Latent("w", torch.zeros(x.shape[0], 0, device=x.device), {"hw": (h, w)})
        thumb = F.interpolate(x, size=(self.size, self.size), mode="bicubic", align_corners=False, antialias=True)
        self.stats = {"iterations": 0.0}
        return Latent("w", thumb.flatten(1), {"hw": (h, w)})

    def _generate(self, latent: Latent) -> torch.Tensor:
        h, w = latent.extras["hw"]
        n = latent.code.shape[0]
        if self.kind == "mean-face":
            m = _mean_face().to(latent.code.device)
            if m.shape[-2:] != (h, w):
                m = F.interpolate(m, size=(h, w), mode="bicubic", align_corners=False, antialias=True)
            return m.expand(n, -1, -1, -1).clamp(0, 1).contiguous()
        thumb = latent.code.view(n, 3, self.size, self.size)
        return F.interpolate(thumb, size=(h, w), mode="bicubic", align_corners=False).clamp(0, 1)
