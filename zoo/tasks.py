"""The five task contracts.

Images cross every boundary as float32 tensors, N x 3 x H x W, RGB, values in [0, 1].
Each task's public call (``upscale``, ``compress`` ...) checks its input and the method's
output in one place (:func:`check_images`) and delegates to an underscored method that a
plugin implements, so a method returning the wrong shape, dtype, range or NaNs gets an
error naming the method.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn

from zoo.errors import ContractError

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

    def __init__(self) -> None:
        super().__init__()
        self.id: str = type(self).__name__
        self.card = None

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

    def load_weights(self, state: dict[str, torch.Tensor]) -> None:
        """Load a state dict key for key (missing or unexpected keys are an error)."""
        self.load_state_dict(self.convert_state_dict(state), strict=True)

    def weights_state_dict(self) -> dict[str, torch.Tensor]:
        """The weights in the layout :meth:`load_weights` takes (``zoo convert`` writes this)."""
        return self.state_dict()

    def _in(self, x: Any) -> torch.Tensor:
        return check_images(x, self.id, "input").to(self.device)

    def _out(self, y: Any) -> torch.Tensor:
        return check_images(y, self.id, "output")


class SuperResolver(Method):
    """``upscale(lr) -> hr`` with ``hr`` exactly ``scale`` times larger."""

    task = "super-resolution"
    scale: int = 1

    def upscale(self, lr: torch.Tensor) -> torch.Tensor:
        lr = self._in(lr)
        hr = self._out(self._upscale(lr))
        want = (lr.shape[0], 3, lr.shape[2] * self.scale, lr.shape[3] * self.scale)
        if tuple(hr.shape) != want:
            raise ContractError(f"{self.id}: upscale returned shape {tuple(hr.shape)}, expected {want} (scale {self.scale})")
        return hr

    def _upscale(self, lr: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class Compressor(Method):
    """``compress(x) -> list[bytes]`` (one self-contained bitstream per image) and back."""

    task = "compression"

    def compress(self, x: torch.Tensor) -> list[bytes]:
        x = self._in(x)
        streams = self._compress(x)
        if not isinstance(streams, list) or len(streams) != x.shape[0] or not all(isinstance(s, bytes) for s in streams):
            raise ContractError(f"{self.id}: compress must return a list of {x.shape[0]} bytes objects, got {type(streams).__name__}")
        return streams

    def decompress(self, streams: list[bytes]) -> torch.Tensor:
        if not isinstance(streams, (list, tuple)) or not streams or not all(isinstance(s, (bytes, bytearray)) for s in streams):
            raise ContractError(f"{self.id}: decompress takes a non-empty list of bytes")
        y = self._out(self._decompress([bytes(s) for s in streams]))
        if y.shape[0] != len(streams):
            raise ContractError(f"{self.id}: decompress returned {y.shape[0]} images for {len(streams)} bitstreams")
        return y

    def _compress(self, x: torch.Tensor) -> list[bytes]:
        raise NotImplementedError

    def _decompress(self, streams: list[bytes]) -> torch.Tensor:
        raise NotImplementedError


class Translator(Method):
    """``translate(x) -> y`` of the same size; two-way models take ``direction``."""

    task = "translation"
    directions: tuple[str, ...] = ("AtoB",)

    def translate(self, x: torch.Tensor, direction: str | None = None) -> torch.Tensor:
        direction = direction or self.directions[0]
        if direction not in self.directions:
            raise ContractError(f"{self.id}: direction {direction!r} not supported; choose from {self.directions}")
        x = self._in(x)
        y = self._out(self._translate(x, direction))
        if y.shape != x.shape:
            raise ContractError(f"{self.id}: translate returned shape {tuple(y.shape)}, expected {tuple(x.shape)}")
        return y

    def _translate(self, x: torch.Tensor, direction: str) -> torch.Tensor:
        raise NotImplementedError


class Stylizer(Method):
    """``stylize(content, style=None) -> y``; arbitrary-style methods need ``style``."""

    task = "style-transfer"
    needs_style: bool = False

    def stylize(self, content: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        content = self._in(content)
        if self.needs_style and style is None:
            raise ContractError(f"{self.id}: this is an arbitrary-style method; pass style= an N x 3 x H x W image")
        if style is not None:
            style = check_images(style, self.id, "style").to(self.device)
        y = self._out(self._stylize(content, style))
        if y.shape != content.shape:
            raise ContractError(f"{self.id}: stylize returned shape {tuple(y.shape)}, expected {tuple(content.shape)}")
        return y

    def _stylize(self, content: torch.Tensor, style: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError


@dataclass
class Latent:
    """A latent code in ``space`` (z, w or w+) for a batch of images."""

    space: str
    code: torch.Tensor
    extras: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.space not in ("z", "w", "w+"):
            raise ContractError(f"latent space must be one of z, w, w+; got {self.space!r}")


class Inverter(Method):
    """``invert(x) -> Latent``, ``generate(latent) -> x``; ``interpolate`` on latents."""

    task = "inversion"
    space: str = "w"

    def invert(self, x: torch.Tensor) -> Latent:
        return self._invert(self._in(x))

    def generate(self, latent: Latent) -> torch.Tensor:
        if latent.space != self.space:
            raise ContractError(f"{self.id}: latent is in space {latent.space!r}, this method works in {self.space!r}")
        return self._out(self._generate(latent))

    def interpolate(self, a: Latent, b: Latent, t: float) -> Latent:
        """Linear interpolation between two latents in the same space, t in [0, 1]."""
        if a.space != b.space:
            raise ContractError(f"{self.id}: cannot interpolate between spaces {a.space!r} and {b.space!r}")
        return Latent(a.space, torch.lerp(a.code, b.code, float(t)))

    def _invert(self, x: torch.Tensor) -> Latent:
        raise NotImplementedError

    def _generate(self, latent: Latent) -> torch.Tensor:
        raise NotImplementedError


TASK_CLASSES: dict[str, type[Method]] = {
    c.task: c for c in (SuperResolver, Compressor, Translator, Stylizer, Inverter)
}


def apply(method: Method, x: torch.Tensor, **extras: Any) -> tuple[torch.Tensor, dict]:
    """Run a method's task on ``x``; returns the output image and task extras (e.g. bitstreams)."""
    if isinstance(method, SuperResolver):
        return method.upscale(x), {}
    if isinstance(method, Compressor):
        t0 = time.perf_counter()
        streams = method.compress(x)
        t1 = time.perf_counter()
        y = method.decompress(streams)
        t2 = time.perf_counter()
        n = x.shape[0]
        return y, {"bitstreams": streams, "encode_ms": (t1 - t0) * 1000 / n, "decode_ms": (t2 - t1) * 1000 / n}
    if isinstance(method, Translator):
        return method.translate(x, extras.get("direction")), {}
    if isinstance(method, Stylizer):
        return method.stylize(x, extras.get("style")), {}
    if isinstance(method, Inverter):
        return method.generate(method.invert(x)), {}
    raise ContractError(f"{getattr(method, 'id', method)!r} is not a zoo Method of a known task")
