"""The method base class and the tensor convention every task contract checks.

Images cross every boundary as float32 tensors, N x 3 x H x W, RGB, values in [0, 1]
(:func:`check_images`). :class:`Method` is the base of every task's method class
(:mod:`zoo.tasks`); it lives apart from them so that :mod:`zoo.taskspec` can name it
without importing the task contracts (which import the specs' base).
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

import torch
from torch import nn

from zoo.errors import ContractError, ZooError

__all__ = ["RANGE_TOLERANCE", "check_images", "Method"]

RANGE_TOLERANCE = 1e-6


def check_images(x: Any, who: str, what: str = "input") -> torch.Tensor:
    """Check the tensor convention; raise :class:`ContractError` naming ``who`` and the fix."""
    if not isinstance(x, torch.Tensor):
        raise ContractError(f"{who}: {what} must be a torch.Tensor (N x 3 x H x W float32 in [0, 1]), got {type(x).__name__}")
    if x.dim() != 4 or x.shape[1] != 3:
        raise ContractError(f"{who}: {what} must have shape N x 3 x H x W (RGB), got {tuple(x.shape)}")
    if x.shape[0] == 0 or x.shape[2] == 0 or x.shape[3] == 0:
        raise ContractError(f"{who}: {what} is empty, shape {tuple(x.shape)}")
    if x.dtype != torch.float32:
        raise ContractError(f"{who}: {what} must be float32, got {x.dtype}; convert with zoo.images.to_float")
    lo_t, hi_t = torch.aminmax(x.detach())  # one pass, no temporary; NaN propagates into both
    lo, hi = float(lo_t), float(hi_t)
    if lo != lo or hi != hi or abs(lo) == float("inf") or abs(hi) == float("inf"):
        raise ContractError(f"{who}: {what} contains NaN or Inf values")
    if lo < -RANGE_TOLERANCE or hi > 1 + RANGE_TOLERANCE:
        raise ContractError(f"{who}: {what} values must lie in [0, 1], got [{lo:.4g}, {hi:.4g}]; clamp the result")
    return x


class Method(nn.Module):
    """Base of every method: knows its id, task, card and device; works on batches.

    Subclasses set ``task`` and implement the task's underscored call. Learned methods
    load weights through :meth:`load_weights` (strict by default) and may override
    :meth:`convert_state_dict` to map an official checkpoint layout onto their own.
    """

    task: ClassVar[str] = ""
    #: the method optimises per image (Gatys, optimisation inversion, PULSE): callers run it
    #: with gradients enabled and skip warm-up calls
    needs_grad: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__()
        self.id: str = type(self).__name__
        self.card = None
        #: per-call statistics a method may report (iterations, seconds to a quality), floats
        self.stats: dict[str, float] = {}
        #: names of optional weight parts that were not available when the method was loaded
        self.missing_parts: set[str] = set()

    @property
    def device(self) -> torch.device:
        for t in self.parameters():
            return t.device
        for t in self.buffers():
            return t.device
        return torch.device("cpu")

    @staticmethod
    def convert_state_dict(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Map an official checkpoint's keys onto this module's (identity by default)."""
        return state

    def read_weights(self, path: str | os.PathLike) -> dict[str, torch.Tensor]:
        """Read a weights file into a state dict (safetensors or ``torch.load(weights_only=True)``).

        Families whose published files come in another format (zoo-superres: ncnn ``.param``
        and ``.bin``) override this to convert them; ``zoo convert`` and ``--weights`` use it too.
        """
        from zoo.weights import load_state_dict

        return load_state_dict(path)

    def load_weights(self, state: dict[str, torch.Tensor], part: str | None = None) -> None:
        """Load a state dict key for key (missing or unexpected keys are an error).

        Multi-part methods (a card whose weight refs carry ``part:``) receive one call per
        part and override this to route each part to its sub-module.
        """
        if part is not None:
            raise ZooError(f"{self.id}: weights part {part!r} given, but {type(self).__name__} takes one state dict; "
                           f"override load_weights(state, part) or drop `part:` from the catalog entry")
        from zoo.weights import check_dtypes

        state = self.convert_state_dict(state)
        check_dtypes(state, self.state_dict(), self.id)  # an int32 tensor is not cast into a float weight
        self.load_state_dict(state, strict=True)

    def weights_state_dict(self) -> dict[str, torch.Tensor]:
        """The weights in the layout :meth:`load_weights` takes (``zoo convert`` writes this)."""
        return self.state_dict()

    def _in(self, x: Any) -> torch.Tensor:
        return check_images(x, self.id, "input").to(self.device)

    def _out(self, y: Any) -> torch.Tensor:
        # outputs never carry an autograd graph: a caller's later ops must not backpropagate into the method
        return check_images(y, self.id, "output").detach()

    def _grad_mode(self) -> Any:
        """The autograd mode of a public call: off (no graph built, less memory), except for methods
        that optimise per image (``needs_grad``), which run in the caller's mode."""
        import contextlib

        return contextlib.nullcontext() if self.needs_grad else torch.no_grad()
