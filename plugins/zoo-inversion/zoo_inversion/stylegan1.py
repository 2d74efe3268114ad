"""StyleGAN (v1) generator in the layout of PULSE's PyTorch port, and the generator as PULSE drives it.

Karras, Laine and Aila, "A Style-Based Generator Architecture for Generative Adversarial
Networks", CVPR 2019 (arXiv:1812.04948): a learned 4x4 constant, then per resolution
(upsample +) 3x3 convolutions, each followed by an epilogue

    x + noise_weight · noise ─► LeakyReLU(0.2) ─► InstanceNorm ─► x · (1 + s) + b,  (s, b) = A(w)

with equalised learning rate (weights scaled by gain / sqrt(fan_in) at run time), a [1, 2, 1]
blur after every upsampling, and from 128 px on a fused upsample-convolution (a transposed
convolution with the 3x3 kernel summed over 2x2 offsets). Mapping: pixel norm then 8 dense
layers (learning-rate multiplier 0.01) with leaky ReLU.

Menon et al., "PULSE: Self-Supervised Photo Upsampling via Latent Space Exploration of
Generative Models", CVPR 2020 (arXiv:2003.03808), ships the FFHQ 1024 generator as two
PyTorch state dicts (synthesis and mapping) in the key layout matched here key for key
(``blocks.{R}x{R}.{const,bias,conv,conv0_up,conv1,epi1,epi2}``, ``torgb``; ``dense0..7``;
golden layout ``tests/golden/stylegan1-pulse-1024.json``). PULSE never runs the mapping
network while searching: it replaces it with a Gaussian fit of its (pre-activation) output,
``w = lrelu_0.2(latent · std + mean)``, per layer; :class:`PulseStyleGAN1` computes that fit
from the mapping network when it is loaded.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

#: resolutions from which the upsampling convolution is fused (StyleGAN's ``fused_scale``)
FUSED_FROM = 128


class EqualLinear(nn.Module):
    """Dense layer with equalised learning rate: ``y = x (weight · gain · lrmul / sqrt(in))ᵀ + bias · lrmul``."""

    def __init__(self, in_dim: int, out_dim: int, gain: float = math.sqrt(2), lrmul: float = 1.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim) / lrmul)
        self.bias = nn.Parameter(torch.zeros(out_dim))
        self.w_scale, self.b_scale = gain / math.sqrt(in_dim) * lrmul, lrmul

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.w_scale, self.bias * self.b_scale)


class Blur(nn.Module):
    """Depthwise [1, 2, 1] ⊗ [1, 2, 1] / 16 low-pass (buffer ``kernel``, 1 x 1 x 3 x 3)."""

    def __init__(self) -> None:
        super().__init__()
        k = torch.tensor([1.0, 2.0, 1.0])
        self.register_buffer("kernel", (k[:, None] * k[None, :] / 16)[None, None])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.kernel.expand(x.shape[1], 1, 3, 3), padding=1, groups=x.shape[1])


class EqualConv(nn.Module):
    """k x k convolution with equalised learning rate; ``up=True``: doubles the size, then blurs.

    Upsampling is nearest-neighbour then convolution below ``FUSED_FROM`` output pixels, and a
    stride-2 transposed convolution with the 2x2-box-summed kernel from there on. The bias is
    added after the blur.
    """

    def __init__(self, in_ch: int, out_ch: int, kernel: int, gain: float = math.sqrt(2), up: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out_ch))
        self.scale, self.pad, self.up = gain / math.sqrt(in_ch * kernel * kernel), kernel // 2, up
        self.intermediate = Blur() if up else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight * self.scale
        if not self.up:
            return F.conv2d(x, w, self.bias, padding=self.pad)
        if 2 * min(x.shape[-2:]) >= FUSED_FROM:
            w = F.pad(w.transpose(0, 1), (1, 1, 1, 1))
            w = w[..., 1:, 1:] + w[..., :-1, 1:] + w[..., 1:, :-1] + w[..., :-1, :-1]  # 4x4 kernel
            x = F.conv_transpose2d(x, w, stride=2, padding=1)
        else:
            x = F.conv2d(F.interpolate(x, scale_factor=2, mode="nearest"), w, padding=self.pad)
        return self.intermediate(x) + self.bias.view(1, -1, 1, 1)


class NoiseInput(nn.Module):
    """Adds a per-pixel noise map (N or 1 x 1 x H x W) scaled per channel (``weight``)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return x + self.weight.view(1, -1, 1, 1) * noise


class StyleMod(nn.Module):
    """Adaptive instance-norm modulation: ``x · (1 + s) + b`` with (s, b) = ``lin(w)``."""

    def __init__(self, dlatent: int, channels: int) -> None:
        super().__init__()
        self.lin = EqualLinear(dlatent, 2 * channels, gain=1.0)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        s, b = self.lin(w).view(x.shape[0], 2, x.shape[1], 1, 1).unbind(1)
        return x * (s + 1) + b


class Epilogue(nn.Module):
    """noise ─► LeakyReLU(0.2) ─► InstanceNorm (no affine, eps 1e-5) ─► StyleMod."""

    def __init__(self, channels: int, dlatent: int) -> None:
        super().__init__()
        self.noise = NoiseInput(channels)
        self.style_mod = StyleMod(dlatent, channels)

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.noise(x, noise), 0.2)
        return self.style_mod(F.instance_norm(x, eps=1e-5), w)


class InputBlock(nn.Module):
    """4x4: constant + bias, epilogue, 3x3 convolution, epilogue."""

    def __init__(self, channels: int, dlatent: int) -> None:
        super().__init__()
        self.const = nn.Parameter(torch.ones(1, channels, 4, 4))
        self.bias = nn.Parameter(torch.ones(channels))
        self.epi1 = Epilogue(channels, dlatent)
        self.conv = EqualConv(channels, channels, 3)
        self.epi2 = Epilogue(channels, dlatent)

    def forward(self, w: torch.Tensor, noise: list[torch.Tensor]) -> torch.Tensor:
        x = self.const.expand(w.shape[0], -1, -1, -1) + self.bias.view(1, -1, 1, 1)
        x = self.epi1(x, w[:, 0], noise[0])
        return self.epi2(self.conv(x), w[:, 1], noise[1])


class UpBlock(nn.Module):
    """2x: upsampling convolution (+ blur), epilogue, 3x3 convolution, epilogue."""

    def __init__(self, in_ch: int, out_ch: int, dlatent: int) -> None:
        super().__init__()
        self.conv0_up = EqualConv(in_ch, out_ch, 3, up=True)
        self.epi1 = Epilogue(out_ch, dlatent)
        self.conv1 = EqualConv(out_ch, out_ch, 3)
        self.epi2 = Epilogue(out_ch, dlatent)

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise: list[torch.Tensor]) -> torch.Tensor:
        x = self.epi1(self.conv0_up(x), w[:, 0], noise[0])
        return self.epi2(self.conv1(x), w[:, 1], noise[1])


class StyleGAN1Synthesis(nn.Module):
    """Synthesis network: w+ (N x n_latent x dlatent) and one noise map per layer -> image in [-1, 1].

    Channels at resolution 2^r: ``min(fmap_base / 2^(r-1), fmap_max)`` (FFHQ: 512 up to 32 px,
    then 256, 128, 64, 32, 16 at 1024 px). Layer i's noise map is 2^(i//2 + 2) pixels square.

    Args:
        resolution: output size (a power of two >= 4).
        dlatent_size, fmap_base, fmap_max: widths (PULSE / FFHQ: 512, 8192, 512).
    """

    def __init__(self, resolution: int = 1024, dlatent_size: int = 512, fmap_base: int = 8192, fmap_max: int = 512) -> None:
        super().__init__()
        log2 = int(round(math.log2(resolution))) if resolution > 0 else 0
        if resolution < 4 or 2 ** log2 != resolution:
            raise ValueError(f"StyleGAN1Synthesis: resolution must be a power of two >= 4, got {resolution}")
        nf = [min(int(fmap_base / 2.0 ** (r - 1)), fmap_max) for r in range(log2 + 1)]
        self.resolution, self.dlatent_size, self.n_latent = resolution, dlatent_size, 2 * log2 - 2
        self.torgb = EqualConv(nf[log2], 3, 1, gain=1.0)  # registered first: PULSE's key order
        blocks: dict[str, nn.Module] = {"4x4": InputBlock(nf[2], dlatent_size)}
        for r in range(3, log2 + 1):
            blocks[f"{2 ** r}x{2 ** r}"] = UpBlock(nf[r - 1], nf[r], dlatent_size)
        self.blocks = nn.ModuleDict(blocks)

    def noise_shapes(self, batch: int = 1) -> list[tuple[int, int, int, int]]:
        return [(batch, 1, 2 ** (i // 2 + 2), 2 ** (i // 2 + 2)) for i in range(self.n_latent)]

    def forward(self, wplus: torch.Tensor, noise: list[torch.Tensor]) -> torch.Tensor:
        if wplus.dim() != 3 or wplus.shape[1] != self.n_latent or len(noise) != self.n_latent:
            raise ValueError(f"StyleGAN1Synthesis: needs w+ of shape N x {self.n_latent} x {self.dlatent_size} and "
                             f"{self.n_latent} noise maps, got {tuple(wplus.shape)} and {len(noise)}")
        x = None
        for i, block in enumerate(self.blocks.values()):
            w, nz = wplus[:, 2 * i: 2 * i + 2], noise[2 * i: 2 * i + 2]
            x = block(w, nz) if i == 0 else block(x, w, nz)
        return self.torgb(x)


class StyleGAN1Mapping(nn.Module):
    """Mapping network: pixel norm, then ``dense0..dense{n-1}`` each followed by LeakyReLU(0.2)."""

    def __init__(self, dlatent_size: int = 512, n_layers: int = 8, lrmul: float = 0.01) -> None:
        super().__init__()
        self.n_layers = n_layers
        for i in range(n_layers):
            self.add_module(f"dense{i}", EqualLinear(dlatent_size, dlatent_size, lrmul=lrmul))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = z * torch.rsqrt(z.pow(2).mean(1, keepdim=True) + 1e-8)
        for i in range(self.n_layers):
            x = F.leaky_relu(getattr(self, f"dense{i}")(x), 0.2)
        return x


class PulseStyleGAN1(nn.Module):
    """The StyleGAN v1 generator as PULSE drives it (the object :func:`zoo_inversion.pulse.pulse_search` takes).

    ``mapping(latent)`` is PULSE's stand-in for the mapping network, ``lrelu_0.2(latent · std + mean)``
    with (mean, std) the per-dimension moments of ``LeakyReLU(5)(mapping_net(z))``, z ~ N(0, I)
    (LeakyReLU(5) undoes the last layer's leaky ReLU); PULSE fits them on 10^6 samples (seed 0),
    :meth:`fit_gaussian` on ``fit_samples`` (default 10^5). ``synthesize`` returns
    ``(synthesis(w+, noise) + 1) / 2`` clamped to [0, 1], with fixed seeded noise maps when none
    are given (PULSE's ``noise_type='fixed'``).
    """

    def __init__(self, resolution: int = 1024, dlatent_size: int = 512, fmap_base: int = 8192, fmap_max: int = 512,
                 fit_samples: int = 100_000, noise_seed: int = 0) -> None:
        super().__init__()
        self.synthesis = StyleGAN1Synthesis(resolution, dlatent_size, fmap_base, fmap_max)
        self.mapping_net = StyleGAN1Mapping(dlatent_size)
        self.register_buffer("fit_mean", torch.full((dlatent_size,), float("nan")))
        self.register_buffer("fit_std", torch.full((dlatent_size,), float("nan")))
        self.fit_samples, self.noise_seed = int(fit_samples), int(noise_seed)
        self.id = "pulse-sg1"
        self._noise: list[torch.Tensor] | None = None
        for p in self.parameters():
            p.requires_grad_(False)

    # what pulse_search reads
    @property
    def generator(self) -> "PulseStyleGAN1":
        return self

    @property
    def size(self) -> int:
        return self.synthesis.resolution

    @property
    def n_latent(self) -> int:
        return self.synthesis.n_latent

    @property
    def style_dim(self) -> int:
        return self.synthesis.dlatent_size

    @torch.no_grad()
    def fit_gaussian(self, samples: int | None = None, seed: int = 0, chunk: int = 10_000) -> None:
        """Set (fit_mean, fit_std) from the mapping network, as PULSE's ``gaussian_fit.pt``."""
        n = int(samples or self.fit_samples)
        gen = torch.Generator().manual_seed(seed)
        s1 = torch.zeros(self.style_dim, dtype=torch.float64)
        s2 = torch.zeros_like(s1)
        dev = self.fit_mean.device
        for start in range(0, n, chunk):
            z = torch.randn(min(chunk, n - start), self.style_dim, generator=gen).to(dev)
            u = F.leaky_relu(self.mapping_net(z), 5.0).double().cpu()
            s1 += u.sum(0)
            s2 += u.pow(2).sum(0)
        mean = s1 / n
        var = (s2 - n * mean.pow(2)) / max(n - 1, 1)
        self.fit_mean.copy_(mean.float())
        self.fit_std.copy_(var.clamp_min(0).sqrt().float())

    def mapping(self, latent: torch.Tensor) -> torch.Tensor:
        if torch.isnan(self.fit_mean).any():
            raise RuntimeError(f"{self.id}: the Gaussian fit of the mapping network is not set; load the "
                               f"'mapping' weights part (PULSE's mapping state dict) so it can be computed")
        return F.leaky_relu(latent * self.fit_std + self.fit_mean, 0.2)

    def fixed_noise(self, device: torch.device) -> list[torch.Tensor]:
        if self._noise is None or self._noise[0].device != device:
            gen = torch.Generator().manual_seed(self.noise_seed)
            self._noise = [torch.randn(s, generator=gen).to(device) for s in self.synthesis.noise_shapes(1)]
        return self._noise

    def synthesize(self, wplus: torch.Tensor, noise: list[torch.Tensor] | None = None, space: str = "w+") -> torch.Tensor:
        if space != "w+":
            raise ValueError(f"{self.id}: synthesize takes w+ codes, got space {space!r}")
        y = self.synthesis(wplus, noise if noise is not None else self.fixed_noise(wplus.device))
        return ((y + 1) / 2).clamp(0, 1)
