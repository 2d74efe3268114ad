"""GAN inversion methods: optimisation, encoder and hybrid, in z, w and w+.

* Optimisation (Abdal et al., "Image2StyleGAN", ICCV 2019, arXiv:1904.03189; Karras et al.,
  StyleGAN2 projector, CVPR 2020, arXiv:1912.04958): latent* = argmin pixel + perceptual +
  latent prior (+ noise-map regularisation), with Adam or L-BFGS, random restarts keeping
  the best, or a start at the mean latent.
* Encoder (Zhu et al., "Generative Visual Manipulation on the Natural Image Manifold",
  ECCV 2016, arXiv:1609.03552; Richardson et al., pSp, CVPR 2021, arXiv:2008.00951): one
  forward pass of an encoder trained against the fixed generator.
* Hybrid (Zhu et al. 2016; Zhu et al., "In-Domain GAN Inversion", ECCV 2020,
  arXiv:2004.00049): the encoder's code is the start of the optimisation.

    x ─► [resize or refuse] ─► start (mean / random / encoder) ─► Adam|L-BFGS on
         ‖G(l) − x‖ + α·perc(G(l), x) + β·‖l − l̄‖² (+ γ·noise reg) ─► Latent(space, l, noise)

Every method generates with the stored noise buffers unless the optimisation also fitted
per-image noise maps (``optimize_noise=True``, carried in ``Latent.extras["noise"]``).
"""

from __future__ import annotations

import math
import time
from typing import Any, ClassVar

import torch

from zoo.datasets.degrade import imresize
from zoo.errors import ContractError, OptionsError
from zoo.tasks import Inverter, Latent, check_images
from zoo_inversion.losses import (noise_regularization, normalize_noise_, optimizing, perceptual_distance,
                                  perceptual_features, pixel_loss, psnr)
from zoo_inversion.offline import Encoder
from zoo_inversion.stylegan2 import StyleGAN2Generator

SPACES = ("z", "w", "w+")



def generator_from_params(size: int, style_dim: int = 512, n_mlp: int = 8, channel_multiplier: int = 2,
                          channels: dict | None = None) -> StyleGAN2Generator:
    ch = {int(k): int(v) for k, v in channels.items()} if channels else None
    return StyleGAN2Generator(size, style_dim, n_mlp, channel_multiplier, channels=ch)


def unwrap_rosinality(state: dict) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
    """Split a rosinality checkpoint (``{"g_ema": ..., "latent_avg": ...}`` or flat) into (g_ema, latent_avg)."""
    if "g_ema" in state and isinstance(state["g_ema"], dict):
        return dict(state["g_ema"]), state.get("latent_avg")
    flat = {k: v for k, v in state.items() if k != "latent_avg"}
    return flat, state.get("latent_avg")


class GANInverter(Inverter):
    """Shared machinery: the StyleGAN2 generator, its mean latent, size policy and an optional encoder.

    Args:
        size, style_dim, n_mlp, channel_multiplier, channels: the generator's configuration.
        space: latent space, ``z``, ``w`` or ``w+``.
        resize: ``False`` refuses images whose size differs from the generator's; ``True``
            resizes them (MATLAB bicubic) to the generator's size and the reconstruction back.
        edit_steps, edit_lam: steps and latent-prior weight of :meth:`edit` (scribble edits;
            operating points of an edit benchmark).
    """

    uses_encoder: ClassVar[bool] = False

    def __init__(self, size: int = 32, style_dim: int = 512, n_mlp: int = 8, channel_multiplier: int = 2,
                 channels: dict | None = None, space: str = "w+", resize: bool = False, edit_steps: int = 100,
                 edit_lam: float = 10.0) -> None:
        super().__init__()
        if space not in SPACES:
            raise OptionsError(type(self).__name__, "space", space, list(SPACES))
        if not isinstance(resize, bool):
            raise OptionsError(type(self).__name__, "resize", resize, [False, True])
        if not isinstance(edit_steps, int) or edit_steps < 1:
            raise OptionsError(type(self).__name__, "edit_steps", edit_steps, "an integer >= 1")
        if not isinstance(edit_lam, (int, float)) or edit_lam < 0:
            raise OptionsError(type(self).__name__, "edit_lam", edit_lam, "a number >= 0")
        self.space, self.resize = space, resize
        self.edit_steps, self.edit_lam = edit_steps, float(edit_lam)
        self.generator = generator_from_params(size, style_dim, n_mlp, channel_multiplier, channels)
        self.register_buffer("latent_avg", torch.zeros(style_dim))
        self.encoder = Encoder(style_dim, self.generator.n_latent, size=size) if self.uses_encoder else None
        self.encoder_loaded = False
        for p in self.parameters():
            p.requires_grad_(False)
        self.stats: dict[str, float] = {}

    # -- weights -------------------------------------------------------------------------------
    def load_weights(self, state: dict, part: str | None = None) -> None:
        """Load ``part`` (``generator``: a rosinality checkpoint or its ``g_ema``; ``encoder``).

        Without ``part`` the kind is recognised from the keys (the loader of older cores
        passes no part).
        """
        if part is None:
            part = "encoder" if any(k.startswith("body.") for k in state) else "generator"
        if part == "generator":
            g_state, avg = unwrap_rosinality(state)
            self.generator.load_state_dict(g_state, strict=True)
            if avg is None:
                avg = self.generator.mean_latent(4096)[0]
            self.latent_avg.copy_(avg.reshape(-1).to(self.latent_avg))
        elif part == "encoder":
            if self.encoder is None:
                return  # optimisation-only methods ignore an encoder file
            self.encoder.load_state_dict(state, strict=True)
            self.encoder_loaded = True
        else:
            raise ValueError(f"{self.id}: unknown weights part {part!r}; expected 'generator' or 'encoder'")
        for p in self.parameters():
            p.requires_grad_(False)

    def weights_state_dict(self) -> dict[str, torch.Tensor]:
        """The generator in rosinality's flat ``g_ema`` layout plus ``latent_avg``."""
        return {**self.generator.state_dict(), "latent_avg": self.latent_avg.clone()}

    # -- sizes ---------------------------------------------------------------------------------
    @property
    def size(self) -> int:
        return self.generator.size

    def fingerprint_params(self) -> dict[str, Any]:
        return {"space": self.space, "resize": "bicubic-matlab" if self.resize else "refuse", "size": self.size}

    def _fit_size(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        if (h, w) == (self.size, self.size):
            return x
        if not self.resize:
            raise ContractError(
                f"{self.id}: image is {h}x{w} but the generator makes {self.size}x{self.size} images; "
                f"crop or resize it to {self.size}x{self.size}, or load the method with resize=True")
        return imresize(x, size=(self.size, self.size)).clamp(0, 1)

    # -- latents -------------------------------------------------------------------------------
    def to_wplus(self, code: torch.Tensor, space: str | None = None) -> torch.Tensor:
        space = space or self.space
        g = self.generator
        if space == "z":
            return g.mapping(code).unsqueeze(1).expand(-1, g.n_latent, -1)
        if space == "w":
            return code.unsqueeze(1).expand(-1, g.n_latent, -1)
        return code

    def synthesize(self, code: torch.Tensor, noise: list[torch.Tensor] | None = None, space: str | None = None) -> torch.Tensor:
        """Latent code -> image in [0, 1] at the generator's size (differentiable)."""
        y = self.generator.synthesis(self.to_wplus(code, space), noise if noise is not None else "const")
        return ((y + 1) / 2).clamp(0, 1)

    def _generate(self, latent: Latent) -> torch.Tensor:
        y = self.synthesize(latent.code.to(self.device), latent.extras.get("noise"))
        size = latent.extras.get("input_size")
        if size is not None and tuple(size) != tuple(y.shape[-2:]):
            y = imresize(y, size=tuple(size)).clamp(0, 1)
        return y

    def mean_code(self, n: int, space: str | None = None) -> torch.Tensor:
        """The start at the mean: w̄ for w / w+; for z the sample (of 1024) whose w is nearest to w̄."""
        space = space or self.space
        avg = self.latent_avg.view(1, -1)
        if space == "w":
            return avg.expand(n, -1).clone()
        if space == "w+":
            return avg.view(1, 1, -1).expand(n, self.generator.n_latent, -1).clone()
        key = (self.latent_avg.data_ptr(), float(self.latent_avg.sum()))
        if getattr(self, "_z_mean_key", None) != key:  # cached: 1024 mapping passes per call cost more than a step
            z = torch.randn(1024, self.generator.style_dim, generator=torch.Generator().manual_seed(0)).to(self.device)
            with torch.no_grad():
                best = (self.generator.mapping(z) - avg).pow(2).sum(1).argmin()
            self._z_mean, self._z_mean_key = z[best: best + 1].clone(), key
        return self._z_mean.to(self.device).expand(n, -1).clone()

    def random_code(self, n: int, seed: int, space: str | None = None) -> torch.Tensor:
        space = space or self.space
        z = torch.randn(1, self.generator.style_dim, generator=torch.Generator().manual_seed(seed)).to(self.device)
        z = z.expand(n, -1).clone()
        if space == "z":
            return z
        with torch.no_grad():
            w = self.generator.mapping(z)
        return w if space == "w" else w.unsqueeze(1).expand(-1, self.generator.n_latent, -1).clone()

    def encode(self, x: torch.Tensor, space: str | None = None) -> torch.Tensor:
        if self.encoder is None:
            raise ContractError(f"{self.id}: this method has no encoder; use an encoder or hybrid method")
        if not self.encoder_loaded:
            raise ContractError(f"{self.id}: the encoder has no weights; load them with "
                                f"method.load_weights(state, part='encoder') or use a catalog entry that ships one")
        with torch.no_grad():
            return self.encoder(x * 2 - 1, space or self.space)

    def interpolate(self, a: Latent, b: Latent, t: float) -> Latent:
        """Spherical in z, linear in w and w+ (:func:`interpolate`)."""
        return interpolate(a, b, t)

    def edit(self, x: torch.Tensor, mask: torch.Tensor, scribble: torch.Tensor, lam: float | None = None,
             steps: int | None = None) -> torch.Tensor:
        """Invert ``x``, then scribble-edit the inversion (:func:`scribble_edit`).

        The entry point an edit benchmark calls: items carry ``mask`` (N x 1 x H x W, 1 = edit)
        and ``scribble`` (N x 3 x H x W); returns the edited image, N x 3 x H x W in [0, 1].
        ``lam`` and ``steps`` default to the method's ``edit_lam`` and ``edit_steps``.
        """
        lam = self.edit_lam if lam is None else lam
        steps = self.edit_steps if steps is None else steps
        start = self.invert(x)
        stats = dict(self.stats)
        edited = self.generate(scribble_edit(self, start, scribble, mask, lam=lam, steps=steps))
        self.stats = {**stats, "edit_steps": float(steps)}
        return edited

    def _latent(self, code: torch.Tensor, x_in: torch.Tensor, noise: list[torch.Tensor] | None = None) -> Latent:
        extras: dict[str, Any] = {}
        if noise is not None:
            extras["noise"] = [n.detach() for n in noise]
        if tuple(x_in.shape[-2:]) != (self.size, self.size):
            extras["input_size"] = tuple(x_in.shape[-2:])
        return Latent(self.space, code.detach(), extras)


# -- latent operations the inverters offer (zoo_inversion.edits re-exports them) ---------------------
def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation along the last dim; falls back to lerp for (anti)parallel vectors."""
    an, bn = a / a.norm(dim=-1, keepdim=True), b / b.norm(dim=-1, keepdim=True)
    omega = torch.acos((an * bn).sum(-1, keepdim=True).clamp(-1 + 1e-7, 1 - 1e-7))
    so = torch.sin(omega)
    out = (torch.sin((1 - t) * omega) / so) * a + (torch.sin(t * omega) / so) * b
    return torch.where(so.abs() < 1e-6, torch.lerp(a, b, t), out)


def interpolate(a: Latent, b: Latent, t: float) -> Latent:
    """The latent at ``t`` in [0, 1] between two inversions (slerp in z, lerp in w and w+).

    t = 0 returns ``a``'s code and t = 1 ``b``'s exactly. Per-image noise maps, if present,
    are interpolated linearly.
    """
    if a.space != b.space:
        raise ContractError(f"interpolate: latents are in different spaces ({a.space!r}, {b.space!r}); invert both in one space")
    if a.code.shape != b.code.shape:
        raise ContractError(f"interpolate: latent shapes differ {tuple(a.code.shape)} vs {tuple(b.code.shape)}")
    t = float(t)
    if not 0.0 <= t <= 1.0:
        raise ContractError(f"interpolate: t must lie in [0, 1], got {t}")
    if t == 0.0:
        return Latent(a.space, a.code.clone(), dict(a.extras))
    if t == 1.0:
        return Latent(b.space, b.code.clone(), dict(b.extras))
    code = slerp(a.code, b.code, t) if a.space == "z" else torch.lerp(a.code, b.code, t)
    extras = dict(a.extras)
    if "noise" in a.extras and "noise" in b.extras:
        extras["noise"] = [torch.lerp(x, y, t) for x, y in zip(a.extras["noise"], b.extras["noise"])]
    return Latent(a.space, code, extras)


def check_mask(method: GANInverter, mask: torch.Tensor, n: int, what: str = "mask") -> torch.Tensor:
    """A mask as N x 1 x size x size in [0, 1]; a mask of another size is refused."""
    if not isinstance(mask, torch.Tensor):
        raise ContractError(f"{method.id}: {what} must be a tensor (N x 1 x H x W in [0, 1]), got {type(mask).__name__}")
    if mask.dim() == 3:
        mask = mask.unsqueeze(0)
    if mask.dim() != 4 or mask.shape[1] != 1:
        raise ContractError(f"{method.id}: {what} must be N x 1 x H x W or 1 x H x W, got {tuple(mask.shape)}")
    if tuple(mask.shape[-2:]) != (method.size, method.size):
        raise ContractError(
            f"{method.id}: {what} is {mask.shape[-2]}x{mask.shape[-1]} but the generator makes {method.size}x{method.size} "
            f"images; give a {method.size}x{method.size} mask")
    if mask.shape[0] not in (1, n):
        raise ContractError(f"{method.id}: {what} batch {mask.shape[0]} does not match {n} images")
    if float(mask.min()) < 0 or float(mask.max()) > 1:
        raise ContractError(f"{method.id}: {what} values must lie in [0, 1]")
    return mask.float().expand(n, -1, -1, -1).to(method.device)


def scribble_edit(method: GANInverter, start: Latent, scribble: torch.Tensor, mask: torch.Tensor, lam: float = 10.0,
                  steps: int = 100, lr: float = 0.05) -> Latent:
    """latent* = argmin mean(M ⊙ (G(l) − S)²) + λ·mean((l − l₀)²), starting at l₀ = ``start``.

    Args:
        start: an inversion (any space); the edit stays in its space.
        scribble: N x 3 x size x size in [0, 1], the colours painted by the user.
        mask: where the scribble counts (1) and where it does not (0).
        lam: weight of staying near the start code (larger keeps more of the image).
    """
    n = start.code.shape[0]
    scribble = check_images(scribble, method.id, "scribble").to(method.device)
    if tuple(scribble.shape[-2:]) != (method.size, method.size):
        raise ContractError(f"{method.id}: scribble is {tuple(scribble.shape[-2:])}, expected {method.size}x{method.size}")
    mask = check_mask(method, mask, n)
    with optimizing():
        code0, scribble, mask = start.code.to(method.device).detach().clone(), scribble.clone(), mask.clone()
        noise = [t.clone() for t in start.extras["noise"]] if start.extras.get("noise") else None
        code = code0.clone().requires_grad_(True)
        opt = torch.optim.Adam([code], lr=lr)
        for _ in range(steps):
            y = method.synthesize(code, noise, start.space)
            loss = pixel_loss(y, scribble, "l2", mask) + lam * (code - code0).pow(2).flatten(1).mean(1)
            opt.zero_grad(set_to_none=True)
            loss.sum().backward()
            opt.step()
    return Latent(start.space, code.detach(), dict(start.extras))



class EncoderInverter(GANInverter):
    """Encoder-based inversion: one forward pass of an encoder trained against the fixed generator.

    Zhu et al., ECCV 2016 (arXiv:1609.03552); Richardson et al., CVPR 2021 (arXiv:2008.00951).
    """

    uses_encoder = True

    def _invert(self, x: torch.Tensor) -> Latent:
        t0 = time.perf_counter()
        xin = self._fit_size(x)
        code = self.encode(xin)
        with torch.no_grad():
            rec = psnr(self.synthesize(code), xin)
        self.stats = {"iterations": 0.0, "seconds": time.perf_counter() - t0, "psnr_fit": float(rec.mean())}
        return self._latent(code, x)


class OptimizationInverter(GANInverter):
    """Optimisation-based inversion (Image2StyleGAN, arXiv:1904.03189; StyleGAN2 projector, arXiv:1912.04958).

    Args:
        steps: optimisation iterations (an operating point).
        optimizer: ``adam`` or ``lbfgs`` (strong-Wolfe line search; one image at a time).
        lr: Adam step size (L-BFGS uses 1).
        pixel: ``l2`` or ``l1``.
        perceptual: weight of the EfficientNet-Lite0 feature distance (0 switches it off).
        latent_reg: weight of the mean squared distance to the mean latent (z: to 0).
        start: ``mean`` (mean latent), ``random`` (a seeded sample) or ``encoder`` (hybrid).
        restarts: optimisations from different starts (restart 0 uses ``start``, the others
            random samples); the one with the lowest final loss is kept per image.
        optimize_noise: also fit per-image noise maps, with ``noise_reg`` weight on the
            StyleGAN2 autocorrelation penalty and re-standardisation after every step.
        target_psnr: threshold for ``stats["iterations_to_target"]`` / ``seconds_to_target``.
        seed: seed of the random starts.
    """

    needs_grad: ClassVar[bool] = True

    def __init__(self, steps: int = 200, optimizer: str = "adam", lr: float = 0.05, pixel: str = "l2",
                 perceptual: float = 0.1, latent_reg: float = 1e-3, start: str = "mean", restarts: int = 1,
                 optimize_noise: bool = False, noise_reg: float = 1e3, target_psnr: float = 25.0, seed: int = 0,
                 **generator: Any) -> None:
        self.uses_encoder = start == "encoder"
        super().__init__(**generator)
        name = type(self).__name__
        if not isinstance(steps, int) or steps < 1:
            raise OptionsError(name, "steps", steps, "an integer >= 1")
        if optimizer not in ("adam", "lbfgs"):
            raise OptionsError(name, "optimizer", optimizer, ["adam", "lbfgs"])
        if pixel not in ("l2", "l1"):
            raise OptionsError(name, "pixel", pixel, ["l2", "l1"])
        if start not in ("mean", "random", "encoder"):
            raise OptionsError(name, "start", start, ["mean", "random", "encoder"])
        if not isinstance(restarts, int) or restarts < 1:
            raise OptionsError(name, "restarts", restarts, "an integer >= 1")
        if optimize_noise and optimizer == "lbfgs":
            raise OptionsError(name, "optimize_noise", optimize_noise, "False with optimizer='lbfgs' (noise maps are re-standardised between Adam steps)")
        self.steps, self.optimizer, self.lr, self.pixel = steps, optimizer, float(lr), pixel
        self.perceptual, self.latent_reg, self.start = float(perceptual), float(latent_reg), start
        self.restarts, self.optimize_noise, self.noise_reg = restarts, bool(optimize_noise), float(noise_reg)
        self.target_psnr, self.seed = float(target_psnr), int(seed)
        self.history: list[tuple[float, float]] = []  # (seconds, mean psnr) per iteration of the last call

    # -- objective -----------------------------------------------------------------------------
    def _losses(self, code, noise, x, feats, mask=None) -> tuple[torch.Tensor, torch.Tensor]:
        y = self.synthesize(code, noise)
        loss = pixel_loss(y, x, self.pixel, mask)
        if self.perceptual:
            loss = loss + self.perceptual * perceptual_distance(y * mask + x * (1 - mask) if mask is not None else y, feats)
        if self.latent_reg:
            ref = torch.zeros_like(code) if self.space == "z" else self.latent_avg.to(code)
            loss = loss + self.latent_reg * (code - ref).pow(2).flatten(1).mean(1)
        if noise is not None and self.noise_reg:
            loss = loss + self.noise_reg * noise_regularization(noise)
        return loss, y

    def start_code(self, x: torch.Tensor, restart: int) -> torch.Tensor:
        n = x.shape[0]
        if restart > 0 or self.start == "random":
            return self.random_code(n, self.seed * 1000 + restart)
        if self.start == "encoder":
            return self.encode(x)
        return self.mean_code(n)

    def fit(self, x: torch.Tensor, code0: torch.Tensor, mask: torch.Tensor | None = None,
            steps: int | None = None) -> tuple[torch.Tensor, list[torch.Tensor] | None, torch.Tensor, dict]:
        """Optimise from ``code0`` towards ``x`` (optionally only where ``mask`` is 1).

        Returns (code, noise maps or None, per-image final loss, stats).
        """
        steps = steps or self.steps
        x = x.detach()
        feats = [f.detach() for f in perceptual_features(x)] if self.perceptual else None
        if self.optimizer == "lbfgs":
            parts = [self._fit_lbfgs(x[i:i + 1], code0[i:i + 1], [f[i:i + 1] for f in feats] if feats else None, 
                                     None if mask is None else mask[i:i + 1], steps) for i in range(x.shape[0])]
            code = torch.cat([p[0] for p in parts])
            loss = torch.cat([p[1] for p in parts])
            reached = torch.tensor([p[2] for p in parts], dtype=torch.float64)
            return code, None, loss, {"iterations": float(max(p[3] for p in parts)), "reached": reached}
        code = code0.detach().clone().requires_grad_(True)
        noise = None
        params = [code]
        if self.optimize_noise:
            noise = [b.detach().expand(x.shape[0], -1, -1, -1).clone().requires_grad_(True)
                     for b in self.generator.noise_buffers()]
            params += noise
        opt = torch.optim.Adam(params, lr=self.lr)
        reached = torch.full((x.shape[0],), math.nan, dtype=torch.float64)
        t0 = time.perf_counter()
        self.history = []
        for it in range(1, steps + 1):
            # learning-rate schedule of the StyleGAN2 projector: ramp up over the first 5 %,
            # cosine ramp-down over the last 25 %
            t = it / steps
            rate = min(1.0, t / 0.05) * (0.5 - 0.5 * math.cos(min(1.0, (1 - t) / 0.25) * math.pi))
            for gr in opt.param_groups:
                gr["lr"] = self.lr * max(rate, 0.02)
            loss, y = self._losses(code, noise, x, feats, mask)
            opt.zero_grad(set_to_none=True)
            loss.sum().backward()
            opt.step()
            if noise is not None:
                normalize_noise_(noise)
            with torch.no_grad():
                p = psnr(y, x) if mask is None else -10 * torch.log10(pixel_loss(y, x, "l2", mask).clamp_min(1e-12))
                newly = torch.isnan(reached) & (p.double().cpu() >= self.target_psnr)
                reached[newly] = it
                self.history.append((time.perf_counter() - t0, float(p.mean())))
        with torch.no_grad():
            final, _ = self._losses(code, noise, x, feats, mask)
        return code.detach(), noise, final.detach(), {"iterations": float(steps), "reached": reached}

    def _fit_lbfgs(self, x, code0, feats, mask, steps):
        code = code0.detach().clone().requires_grad_(True)
        opt = torch.optim.LBFGS([code], lr=1.0, max_iter=steps, history_size=20, line_search_fn="strong_wolfe",
                                tolerance_grad=1e-9, tolerance_change=1e-12)
        reached = [math.nan]
        count = [0]
        t0 = time.perf_counter()
        self.history = []

        def closure():
            opt.zero_grad(set_to_none=True)
            loss, y = self._losses(code, None, x, feats, mask)
            loss.sum().backward()
            count[0] += 1
            with torch.no_grad():
                p = float(psnr(y, x)[0]) if mask is None else float(-10 * torch.log10(pixel_loss(y, x, "l2", mask).clamp_min(1e-12))[0])
            if math.isnan(reached[0]) and p >= self.target_psnr:
                reached[0] = count[0]
            self.history.append((time.perf_counter() - t0, p))
            return loss.sum()

        opt.step(closure)
        with torch.no_grad():
            final, _ = self._losses(code, None, x, feats, mask)
        return code.detach(), final.detach(), reached[0], count[0]

    # -- the task call ---------------------------------------------------------------------------
    def _invert(self, x: torch.Tensor) -> Latent:
        t0 = time.perf_counter()
        best_code = best_noise = best_loss = None
        iters, reached_all = 0.0, None
        with optimizing():
            xin = self._fit_size(x).detach().clone()
            for r in range(self.restarts):
                code, noise, loss, st = self.fit(xin, self.start_code(xin, r))
                iters += st["iterations"]
                if best_loss is None:
                    best_code, best_noise, best_loss, reached_all = code, noise, loss, st["reached"]
                    continue
                better = loss < best_loss
                best_code = torch.where(better.view(-1, *[1] * (code.dim() - 1)), code, best_code)
                if noise is not None:
                    best_noise = [torch.where(better.view(-1, 1, 1, 1), a, b) for a, b in zip(noise, best_noise)]
                best_loss = torch.minimum(loss, best_loss)
        with torch.no_grad():
            rec = psnr(self.synthesize(best_code, best_noise), xin)
        seconds = time.perf_counter() - t0
        reached = reached_all if reached_all is not None else torch.tensor([math.nan])
        self.stats = {
            "iterations": iters, "seconds": seconds, "psnr_fit": float(rec.mean()), "loss_final": float(best_loss.mean()),
            "target_psnr": self.target_psnr,
            # restart 0's iterations until every image of the batch reached target_psnr (NaN: never)
            "iterations_to_target": float(reached.max()) if not torch.isnan(reached).any() else math.nan,
        }
        return self._latent(best_code, x, best_noise)


def hybrid(**options: Any) -> OptimizationInverter:
    """Hybrid inversion: the encoder's code starts the optimisation (Zhu et al., ECCV 2016 and 2020)."""
    options.setdefault("start", "encoder")
    if options["start"] != "encoder":
        raise OptionsError("hybrid", "start", options["start"], ["encoder"])
    return OptimizationInverter(**options)
