"""The five task contracts and their task specs.

Images cross every boundary as float32 tensors, N x 3 x H x W, RGB, values in [0, 1].
Each task's public call (``upscale``, ``compress`` ...) checks its input and the method's
output in one place (:func:`check_images`) and delegates to an underscored method that a
plugin implements, so a method returning the wrong shape, dtype, range or NaNs gets an
error naming the method.

Each base class has a :class:`~zoo.taskspec.TaskSpec` beside it, registered by
:mod:`zoo.builtin` through the ``register_tasks`` hook like a plugin's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import torch

from zoo.errors import ContractError
from zoo.method import RANGE_TOLERANCE, Method, check_images
from zoo.taskspec import Batch, Outcome, Sample, TaskSpec

__all__ = [
    "RANGE_TOLERANCE", "check_images", "Method", "SuperResolver", "Compressor", "Translator", "Stylizer", "Latent",
    "Inverter", "SuperResolutionSpec", "CompressionSpec", "TranslationSpec", "StyleTransferSpec", "InversionSpec", "SPECS",
]

class SuperResolver(Method):
    """``upscale(lr) -> hr`` with ``hr`` exactly ``scale`` times larger."""

    task = "super-resolution"
    scale: int = 1

    def upscale(self, lr: torch.Tensor) -> torch.Tensor:
        lr = self._in(lr)
        with self._grad_mode():
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
        with self._grad_mode():
            streams = self._compress(x)
        if not isinstance(streams, list) or len(streams) != x.shape[0] or not all(isinstance(s, bytes) for s in streams):
            raise ContractError(f"{self.id}: compress must return a list of {x.shape[0]} bytes objects, got {type(streams).__name__}")
        return streams

    def decompress(self, streams: list[bytes]) -> torch.Tensor:
        if not isinstance(streams, (list, tuple)) or not streams or not all(isinstance(s, (bytes, bytearray)) for s in streams):
            raise ContractError(f"{self.id}: decompress takes a non-empty list of bytes")
        with self._grad_mode():
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
        with self._grad_mode():
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
        with self._grad_mode():
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
        with self._grad_mode():
            latent = self._invert(self._in(x))
        latent.code = latent.code.detach()  # a code optimised with autograd comes back without its graph
        return latent

    def generate(self, latent: Latent) -> torch.Tensor:
        if latent.space != self.space:
            raise ContractError(f"{self.id}: latent is in space {latent.space!r}, this method works in {self.space!r}")
        with self._grad_mode():
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


# -- task specs --------------------------------------------------------------------------------


class SuperResolutionSpec(TaskSpec):
    """HR image -> MATLAB-bicubic LR input (``degradation: {bicubic: SCALE}``); reference = HR."""

    name = "super-resolution"
    method_class = SuperResolver
    bench_keys = {"degradation": "{bicubic: SCALE}: how the low-resolution input is made from each image"}

    def validate(self, options: dict[str, Any]) -> str | None:
        deg = options.get("degradation")
        if not isinstance(deg, dict) or set(deg) != {"bicubic"}:
            return f"super-resolution needs `degradation: {{bicubic: SCALE}}`, got {deg!r}"
        scale = deg["bicubic"]
        if not isinstance(scale, int) or isinstance(scale, bool) or scale < 2:
            return f"degradation bicubic scale must be an integer >= 2, got {scale!r}"
        return None

    def sample(self, item: Any, options: dict[str, Any]) -> Sample:
        from zoo.datasets.degrade import bicubic_down

        lr, hr = bicubic_down(item.image, int(options["degradation"]["bicubic"]))
        return Sample(item.id, lr, hr, dict(getattr(item, "attributes", {}) or {}), dict(item.extras))

    def run(self, method: SuperResolver, batch: Batch, options: dict[str, Any]) -> Outcome:
        return Outcome(method.upscale(batch.input))

    def check(self, method: SuperResolver, x: torch.Tensor, y: torch.Tensor) -> str | None:
        want = (x.shape[0], 3, x.shape[2] * method.scale, x.shape[3] * method.scale)
        return None if tuple(y.shape) == want else f"output shape {tuple(y.shape)}, expected {want} (scale {method.scale})"


class CompressionSpec(TaskSpec):
    """Image -> bitstreams -> image; metrics may read the ``bitstreams``; encode/decode times."""

    name = "compression"
    method_class = Compressor
    bench_keys = {"anchor": "method id the BD-rate table compares every codec with (default jpeg.pil)"}
    provides = ("bitstreams",)

    def validate(self, options: dict[str, Any]) -> str | None:
        anchor = options.get("anchor")
        if anchor is not None and not isinstance(anchor, str):
            return f"anchor must be a method id, got {anchor!r}"
        return None

    def unit_options(self, options: dict[str, Any]) -> dict[str, Any]:
        return {}  # the anchor only changes the report, not a unit's values

    def run(self, method: Compressor, batch: Batch, options: dict[str, Any]) -> Outcome:
        t0 = time.perf_counter()
        streams = method.compress(batch.input)
        t1 = time.perf_counter()
        y = method.decompress(streams)
        t2 = time.perf_counter()
        n = len(batch)
        return Outcome(y, {"bitstreams": streams}, {"encode_ms": (t1 - t0) * 1000 / n, "decode_ms": (t2 - t1) * 1000 / n})

    def check(self, method: Compressor, x: torch.Tensor, y: torch.Tensor) -> str | None:
        return None if y.shape == x.shape else f"output shape {tuple(y.shape)} != input {tuple(x.shape)}"

    def report_sections(self, df, benchmarks) -> list:
        from zoo.report.rd import bd_tables

        from zoo.report.published import rd_reproduction

        sections = [(f"BD-rate vs {t.attrs.get('anchor')} ({bench})", t) for bench, t in bd_tables(df, benchmarks).items()]
        reference = rd_reproduction(df, benchmarks)  # Kodak runs of CompressAI's models beside its published points
        return sections + ([("Against CompressAI's published Kodak points (see docs/reproduction.md)", reference)] if len(reference) else [])

    def figures(self, df, out) -> list:
        from zoo.report.plots import rd_plots

        return rd_plots(df, out)


class TranslationSpec(TaskSpec):
    """Source image -> translated image; reference = the item's ``target`` when it has one.

    A two-way method translates the way its ``direction`` setting says (an operating point, so
    a suite lists ``settings: [{direction: BtoA}]``); there is no benchmark key for it.
    """

    name = "translation"
    method_class = Translator
    provides = ("target",)

    def sample(self, item: Any, options: dict[str, Any]) -> Sample:
        target = item.extras.get("target")
        return Sample(item.id, item.image, item.image if target is None else target,
                      dict(getattr(item, "attributes", {}) or {}), dict(item.extras))

    def run(self, method: Translator, batch: Batch, options: dict[str, Any]) -> Outcome:
        # the direction is the method's operating point (its `direction` setting), which also picks its weights
        return Outcome(method.translate(batch.input))

    def check(self, method: Translator, x: torch.Tensor, y: torch.Tensor) -> str | None:
        return None if y.shape == x.shape else f"output shape {tuple(y.shape)} != input {tuple(x.shape)}"


class StyleTransferSpec(TaskSpec):
    """Content image (+ the item's ``style`` image) -> stylized image; reference = content."""

    name = "style-transfer"
    method_class = Stylizer
    provides = ("style",)
    shown_extras = ("style",)  # a reader judges a stylization with the style image in view

    def run(self, method: Stylizer, batch: Batch, options: dict[str, Any]) -> Outcome:
        return Outcome(method.stylize(batch.input, batch.extras.get("style")))

    def figures(self, df, out) -> list:
        """The style / content trade-off: style distance against content distance, one point per
        method and operating point (both read with the same feature network)."""
        from zoo.report.plots import tradeoff_plots

        return tradeoff_plots(df, out, "content-distance", "style-distance", "style-content")

    def kit_extras(self, method: Stylizer, x: torch.Tensor) -> dict[str, Any]:
        if not method.needs_style:
            return {}
        from zoo.images import sample_batch

        return {"style": sample_batch(1, x.shape[-1], seed=7).expand(x.shape[0], -1, -1, -1).contiguous()}

    def check(self, method: Stylizer, x: torch.Tensor, y: torch.Tensor) -> str | None:
        return None if y.shape == x.shape else f"output shape {tuple(y.shape)} != content {tuple(x.shape)}"


class InversionSpec(TaskSpec):
    """Image -> latent -> generated image; reference = the image; metrics may read ``latents``.

    Edit benchmarks: items that carry ``mask`` (N x 1 x H x W, 1 = edit) and ``scribble``
    (N x 3 x H x W) are edited instead (``method.edit(x, mask, scribble)``: invert, then
    move the masked region toward the scribble); metrics read ``input``, ``mask``, ``scribble``.
    """

    name = "inversion"
    method_class = Inverter
    provides = ("latents", "mask", "scribble")

    def figures(self, df, out) -> list:
        """Reconstruction PSNR against seconds per image, one curve per method (its spaces and
        iteration counts are the points)."""
        import pandas as pd

        from zoo.report.plots import tradeoff_plots

        seconds = df[df.metric == "runtime_ms"].assign(metric="seconds per image", value=lambda d: d.value / 1000)
        return tradeoff_plots(pd.concat([df, seconds]), out, "seconds per image", "psnr", "psnr-seconds", group_by_method=False)

    def run(self, method: Inverter, batch: Batch, options: dict[str, Any]) -> Outcome:
        mask, scribble = batch.extras.get("mask"), batch.extras.get("scribble")
        if mask is not None and scribble is not None:
            if not hasattr(method, "edit"):
                raise ContractError(f"{method.id}: these items carry a mask and a scribble (an edit benchmark), "
                                    f"but the method has no edit(x, mask, scribble)")
            return Outcome(method.edit(batch.input, mask, scribble))
        latent = method.invert(batch.input)
        return Outcome(method.generate(latent), {"latents": latent})


SPECS: tuple[type[TaskSpec], ...] = (SuperResolutionSpec, CompressionSpec, TranslationSpec, StyleTransferSpec, InversionSpec)
