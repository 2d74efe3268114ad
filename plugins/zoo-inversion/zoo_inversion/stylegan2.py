"""StyleGAN2 generator in the layout of rosinality/stylegan2-pytorch, pure PyTorch.

Karras et al., "Analyzing and Improving the Image Quality of StyleGAN", CVPR 2020
(arXiv:1912.04958). The module and parameter names follow the converted checkpoints that
rosinality's ``convert_weight.py`` writes (``{"g_ema": state_dict, "latent_avg": [512]}``),
so those files load key for key. The two custom CUDA ops of that code (bias + leaky ReLU,
and upfirdn2d) are written here with ordinary PyTorch operations, so the generator runs on
CPU with nothing compiled.

    z ─► PixelNorm ─► EqualLinear x n_mlp (lr_mul 0.01) ─► w          (mapping: ``style``)
    w+ = [w_0 .. w_{n_latent-1}]  (w repeated, or one code per layer)
    const 4x4 ─► conv1(w_0) ─► to_rgb1(w_1) ─────────────────────────────► skip
       └─► [convs.2k ↑2 (w_i) ─► convs.2k+1 (w_i+1) ─► to_rgbs.k (w_i+2) + ↑2 skip] per octave

Images come out in [-1, 1]; :class:`StyleGAN2Generator` works in latents only, the
inversion methods convert to the zoo's [0, 1] convention.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

SQRT2 = math.sqrt(2.0)


def fused_leaky_relu(x: torch.Tensor, bias: torch.Tensor | None = None, slope: float = 0.2,
                     gain: float = SQRT2) -> torch.Tensor:
    """``leaky_relu(x + bias, slope) * gain``, bias broadcast over dim 1 (the fused op's maths)."""
    if bias is not None:
        x = x + bias.view(1, -1, *([1] * (x.dim() - 2)))
    return F.leaky_relu(x, slope) * gain


def upfirdn2d(x: torch.Tensor, kernel: torch.Tensor, up: int = 1, down: int = 1,
              pad: tuple[int, int] = (0, 0)) -> torch.Tensor:
    """Upsample by zero insertion, pad, filter with the 2-D FIR ``kernel``, keep every ``down``-th pixel.

    ``pad = (before, after)`` applies to both axes; negative values crop. The kernel is
    applied as a true convolution (flipped), as the reference op does.
    """
    n, c, h, w = x.shape
    if up > 1:
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, (0, up - 1, 0, 0, 0, up - 1))
        x = x.reshape(n, c, h * up, w * up)
    p0, p1 = pad
    x = F.pad(x, (max(p0, 0), max(p1, 0), max(p0, 0), max(p1, 0)))
    if p0 < 0 or p1 < 0:
        x = x[:, :, max(-p0, 0): x.shape[2] - max(-p1, 0), max(-p0, 0): x.shape[3] - max(-p1, 0)]
    k = torch.flip(kernel, (0, 1)).to(x.dtype).view(1, 1, *kernel.shape).repeat(c, 1, 1, 1)
    x = F.conv2d(x, k, groups=c)
    return x[:, :, ::down, ::down] if down > 1 else x


def fir_kernel(taps: list[int] | tuple[int, ...]) -> torch.Tensor:
    """Separable 2-D FIR kernel from 1-D taps, normalised to sum 1."""
    k = torch.tensor(taps, dtype=torch.float32)
    k = k[:, None] * k[None, :]
    return k / k.sum()


class PixelNorm(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + 1e-8)


class EqualLinear(nn.Module):
    """Linear layer with the equalised learning rate (weights scaled at run time)."""

    def __init__(self, in_dim: int, out_dim: int, bias_init: float = 0.0, lr_mul: float = 1.0,
                 activate: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_dim,), float(bias_init)))
        self.scale = lr_mul / math.sqrt(in_dim)
        self.lr_mul = lr_mul
        self.activate = activate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.activate:
            return fused_leaky_relu(F.linear(x, self.weight * self.scale), self.bias * self.lr_mul)
        return F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)


class Blur(nn.Module):
    def __init__(self, taps: list[int], pad: tuple[int, int], gain: float = 1.0) -> None:
        super().__init__()
        self.register_buffer("kernel", fir_kernel(taps) * gain)
        self.pad = pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upfirdn2d(x, self.kernel, pad=self.pad)


class Upsample(nn.Module):
    def __init__(self, taps: list[int], factor: int = 2) -> None:
        super().__init__()
        self.factor = factor
        self.register_buffer("kernel", fir_kernel(taps) * factor ** 2)
        p = len(taps) - factor
        self.pad = ((p + 1) // 2 + factor - 1, p // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upfirdn2d(x, self.kernel, up=self.factor, pad=self.pad)


class ModulatedConv2d(nn.Module):
    """Weight modulation by a per-sample style, optional demodulation, optional x2 upsampling.

    Computed as modulate-the-input, shared convolution, demodulate-the-output, which is
    the same linear map as per-sample weights but runs as one ordinary convolution.
    """

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, style_dim: int, demodulate: bool = True,
                 upsample: bool = False, blur_taps: list[int] = (1, 3, 3, 1)) -> None:
        super().__init__()
        self.in_ch, self.out_ch, self.kernel_size = in_ch, out_ch, kernel_size
        self.upsample = upsample
        if upsample:
            p = (len(blur_taps) - 2) - (kernel_size - 1)
            self.blur = Blur(list(blur_taps), pad=((p + 1) // 2 + 1, p // 2 + 1), gain=4.0)
        self.scale = 1.0 / math.sqrt(in_ch * kernel_size ** 2)
        self.padding = kernel_size // 2
        self.weight = nn.Parameter(torch.randn(1, out_ch, in_ch, kernel_size, kernel_size))
        self.modulation = EqualLinear(style_dim, in_ch, bias_init=1.0)
        self.demodulate = demodulate

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        s = self.modulation(style)  # N x in_ch
        weight = self.scale * self.weight[0]  # out x in x k x k
        x = x * s.view(n, -1, 1, 1)
        if self.upsample:
            out = F.conv_transpose2d(x, weight.transpose(0, 1), stride=2)
            out = self.blur(out)
        else:
            out = F.conv2d(x, weight, padding=self.padding)
        if self.demodulate:
            w2 = (weight.pow(2).sum((2, 3)))  # out x in
            demod = torch.rsqrt(s.pow(2) @ w2.t() + 1e-8)  # N x out
            out = out * demod.view(n, -1, 1, 1)
        return out


class NoiseInjection(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        if noise is None:
            noise = x.new_empty(x.shape[0], 1, x.shape[2], x.shape[3]).normal_()
        return x + self.weight * noise


class ConstantInput(nn.Module):
    def __init__(self, channels: int, size: int = 4) -> None:
        super().__init__()
        self.input = nn.Parameter(torch.randn(1, channels, size, size))

    def forward(self, n: int) -> torch.Tensor:
        return self.input.expand(n, -1, -1, -1)


class FusedLeakyReLU(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return fused_leaky_relu(x, self.bias)


class StyledConv(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, style_dim: int, upsample: bool = False,
                 blur_taps: list[int] = (1, 3, 3, 1)) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(in_ch, out_ch, kernel_size, style_dim, upsample=upsample, blur_taps=blur_taps)
        self.noise = NoiseInjection()
        self.activate = FusedLeakyReLU(out_ch)

    def forward(self, x: torch.Tensor, style: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        return self.activate(self.noise(self.conv(x, style), noise))


class ToRGB(nn.Module):
    def __init__(self, in_ch: int, style_dim: int, upsample: bool = True, blur_taps: list[int] = (1, 3, 3, 1)) -> None:
        super().__init__()
        if upsample:
            self.upsample = Upsample(list(blur_taps))
        self.conv = ModulatedConv2d(in_ch, 3, 1, style_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))

    def forward(self, x: torch.Tensor, style: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        out = self.conv(x, style) + self.bias
        if skip is not None:
            out = out + self.upsample(skip)
        return out


def official_channels(channel_multiplier: int = 2) -> dict[int, int]:
    """Feature maps per resolution in the published configs (config-f: multiplier 2)."""
    cm = channel_multiplier
    return {4: 512, 8: 512, 16: 512, 32: 512, 64: 256 * cm, 128: 128 * cm, 256: 64 * cm, 512: 32 * cm, 1024: 16 * cm}


class StyleGAN2Generator(nn.Module):
    """The StyleGAN2 generator (config-e/f: skip generator, no progressive growing).

    Args:
        size: output side in pixels, a power of two >= 8.
        style_dim: width of z and w (512 in the published models).
        n_mlp: layers of the mapping network (8 published).
        channel_multiplier: 2 for config-f, 1 otherwise.
        lr_mlp: learning-rate multiplier of the mapping network (0.01).
        channels: override of the feature maps per resolution, for small models trained here;
            ``None`` gives the published table (:func:`official_channels`).
    """

    def __init__(self, size: int, style_dim: int = 512, n_mlp: int = 8, channel_multiplier: int = 2,
                 lr_mlp: float = 0.01, channels: dict[int, int] | None = None,
                 blur_taps: tuple[int, ...] = (1, 3, 3, 1)) -> None:
        super().__init__()
        log = int(math.log2(size)) if size > 0 else 0
        if size < 8 or 2 ** log != size:
            raise ValueError(f"StyleGAN2 size must be a power of two >= 8, got {size!r}")
        self.size, self.style_dim, self.log_size = size, style_dim, log
        self.channels = {int(k): int(v) for k, v in (channels or official_channels(channel_multiplier)).items()}
        self.style = nn.Sequential(PixelNorm(), *[EqualLinear(style_dim, style_dim, lr_mul=lr_mlp, activate=True)
                                                  for _ in range(n_mlp)])
        c4 = self.channels[4]
        self.input = ConstantInput(c4)
        self.conv1 = StyledConv(c4, c4, 3, style_dim, blur_taps=list(blur_taps))
        self.to_rgb1 = ToRGB(c4, style_dim, upsample=False)
        self.num_layers = (log - 2) * 2 + 1
        self.convs = nn.ModuleList()
        self.to_rgbs = nn.ModuleList()
        self.noises = nn.Module()
        for i in range(self.num_layers):
            r = 2 ** ((i + 5) // 2)
            self.noises.register_buffer(f"noise_{i}", torch.randn(1, 1, r, r))
        in_ch = c4
        for i in range(3, log + 1):
            out_ch = self.channels[2 ** i]
            self.convs.append(StyledConv(in_ch, out_ch, 3, style_dim, upsample=True, blur_taps=list(blur_taps)))
            self.convs.append(StyledConv(out_ch, out_ch, 3, style_dim, blur_taps=list(blur_taps)))
            self.to_rgbs.append(ToRGB(out_ch, style_dim, blur_taps=list(blur_taps)))
            in_ch = out_ch
        #: number of per-layer codes in w+
        self.n_latent = log * 2 - 2

    # -- latent spaces ------------------------------------------------------------------------
    def mapping(self, z: torch.Tensor) -> torch.Tensor:
        """z (N x style_dim) -> w (N x style_dim)."""
        return self.style(z)

    def noise_buffers(self) -> list[torch.Tensor]:
        return [getattr(self.noises, f"noise_{i}") for i in range(self.num_layers)]

    @torch.no_grad()
    def mean_latent(self, n: int = 4096, seed: int = 0) -> torch.Tensor:
        """Mean of w over ``n`` seeded z samples (1 x style_dim)."""
        g = torch.Generator().manual_seed(seed)
        z = torch.randn(n, self.style_dim, generator=g).to(self.input.input.device)
        return self.mapping(z).mean(0, keepdim=True)

    def synthesis(self, wplus: torch.Tensor, noise: list[torch.Tensor | None] | str | None = "const") -> torch.Tensor:
        """w+ (N x n_latent x style_dim) -> image in [-1, 1].

        Args:
            noise: ``"const"`` uses the stored ``noises.noise_i`` buffers (deterministic),
                ``"random"`` (or ``None``) draws fresh noise, or a list of ``num_layers`` maps.
        """
        if wplus.dim() != 3 or wplus.shape[1] != self.n_latent:
            raise ValueError(f"w+ must be N x {self.n_latent} x {self.style_dim}, got {tuple(wplus.shape)}")
        if noise == "const":
            noise = self.noise_buffers()
        elif noise is None or noise == "random":
            noise = [None] * self.num_layers
        out = self.input(wplus.shape[0])
        out = self.conv1(out, wplus[:, 0], noise[0])
        skip = self.to_rgb1(out, wplus[:, 1])
        i = 1
        for up, conv, n1, n2, to_rgb in zip(self.convs[::2], self.convs[1::2], noise[1::2], noise[2::2], self.to_rgbs):
            out = up(out, wplus[:, i], n1)
            out = conv(out, wplus[:, i + 1], n2)
            skip = to_rgb(out, wplus[:, i + 2], skip)
            i += 2
        return skip

    def forward(self, z: torch.Tensor, noise: list[torch.Tensor | None] | str | None = "random",
                truncation: float = 1.0, truncation_latent: torch.Tensor | None = None) -> torch.Tensor:
        """z -> image in [-1, 1] (optionally truncated towards ``truncation_latent``)."""
        w = self.mapping(z)
        if truncation < 1:
            w = truncation_latent + truncation * (w - truncation_latent)
        return self.synthesis(w.unsqueeze(1).expand(-1, self.n_latent, -1), noise)
