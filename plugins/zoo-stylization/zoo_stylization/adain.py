"""Arbitrary style transfer with adaptive instance normalisation.

Huang and Belongie, "Arbitrary Style Transfer in Real-time with Adaptive Instance
Normalization", ICCV 2017 (arXiv:1703.06868).

    content ─► encoder ─► f_c ─┐
                               ├─► t = AdaIN(f_c, f_s) = σ(f_s)·(f_c − μ(f_c))/σ(f_c) + μ(f_s)
    style   ─► encoder ─► f_s ─┘       t ← α·t + (1 − α)·f_c  ─► decoder ─► clamp ─► y

* :class:`AdaIN`: the encoder is ``vgg_normalised.pth`` (VGG-19 converted from Caffe, with a
  1x1 colour-conversion conv in front) truncated at relu4_1, the decoder is ``decoder.pth``,
  both in naoto0804/pytorch-AdaIN's ``nn.Sequential`` layouts, loaded key for key as two
  weight parts (``encoder``, ``decoder``).
* :class:`AdaINLite`: the same transfer with the offline EfficientNet-Lite0 (stage2, 40
  channels at 1/8 resolution) as the encoder and a small decoder trained by this plugin
  (``train_adain.py``).

Both offer the paper's controls: the content-style trade-off ``alpha``, interpolation between
several styles (a weighted sum of the AdaIN outputs, as the reference ``test.py`` does), colour
preservation (the style's RGB mean and covariance matched to the content's before transfer, as
the reference's ``--preserve_color``), and spatial control with a mask (AdaIN applied to each
region of the content features with that region's statistics and its own style).
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from zoo.errors import ContractError, OptionsError
from zoo.tasks import Stylizer, check_images
from zoo_stylization.base import check_blend, pair_styles, resize_long, resize_to

EPS = 1e-5  # added to the variance, as the reference's calc_mean_std


def mean_std(f: torch.Tensor, mask: torch.Tensor | None = None, eps: float = EPS) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std (unbiased variance + eps), optionally over a 0/1 mask's positions."""
    n, c = f.shape[:2]
    if mask is None:
        flat = f.reshape(n, c, -1)
        return flat.mean(-1).view(n, c, 1, 1), (flat.var(-1) + eps).sqrt().view(n, c, 1, 1)
    m = mask.reshape(n, 1, -1)
    count = m.sum(-1, keepdim=True).clamp_min(2)
    flat = f.reshape(n, c, -1)
    mu = (flat * m).sum(-1, keepdim=True) / count
    var = ((flat - mu).pow(2) * m).sum(-1, keepdim=True) / (count - 1)
    return mu.view(n, c, 1, 1), (var + eps).sqrt().view(n, c, 1, 1)


def adain(content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """AdaIN(x, y) = σ(y)·(x − μ(x))/σ(x) + μ(y) on N x C x H x W features."""
    cm, cs = mean_std(content)
    sm, ss = mean_std(style)
    return (content - cm) / cs * ss + sm


def coral(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Recolour ``source`` (3 x H x W) so its RGB mean and covariance match ``target``'s.

    Correlation alignment (Sun, Feng and Saenko, AAAI 2016), used by the AdaIN reference for
    colour preservation: whiten the source's standardised colours, colour them with the
    target's, then restore the target's per-channel mean and std.
    """
    def stats(x: torch.Tensor):
        flat = x.reshape(3, -1).double()
        mu, sd = flat.mean(1, keepdim=True), flat.std(1, keepdim=True)
        z = (flat - mu) / sd
        return flat, mu, sd, z @ z.T / z.shape[1] + torch.eye(3, dtype=torch.float64)

    def sqrtm(a: torch.Tensor, inverse: bool = False) -> torch.Tensor:
        vals, vecs = torch.linalg.eigh(a)
        vals = vals.clamp_min(1e-12).pow(-0.5 if inverse else 0.5)
        return vecs @ torch.diag(vals) @ vecs.T

    src, smu, ssd, scov = stats(source)
    _, tmu, tsd, tcov = stats(target)
    z = (src - smu) / ssd
    out = sqrtm(tcov) @ sqrtm(scov, inverse=True) @ z
    return (out * tsd + tmu).reshape(source.shape).to(source.dtype).clamp(0, 1)


def _vgg_normalised_encoder() -> nn.Sequential:
    """The first 31 modules of the reference's ``vgg`` (input -> relu4_1); indices as its keys."""
    mods: list[nn.Module] = [nn.Conv2d(3, 3, 1)]
    c_in = 3
    for block, (c, n) in enumerate([(64, 2), (128, 2), (256, 4), (512, 1)]):
        for _ in range(n):
            mods += [nn.ReflectionPad2d(1), nn.Conv2d(c_in, c, 3), nn.ReLU()]
            c_in = c
        if block < 3:
            mods.append(nn.MaxPool2d(2, 2, 0, ceil_mode=True))
    return nn.Sequential(*mods)


def _adain_decoder() -> nn.Sequential:
    """The reference's ``decoder`` (relu4_1 features -> RGB): 9 convs, 3 nearest upsamplings."""
    mods: list[nn.Module] = []
    plan = [(512, 256), "up", (256, 256), (256, 256), (256, 256), (256, 128), "up", (128, 128), (128, 64), "up", (64, 64), (64, 3)]
    for step in plan:
        if step == "up":
            mods.append(nn.Upsample(scale_factor=2, mode="nearest"))
            continue
        mods += [nn.ReflectionPad2d(1), nn.Conv2d(step[0], step[1], 3), nn.ReLU()]
    return nn.Sequential(*mods[:-1])  # no ReLU after the last conv


# relu1_1, relu2_1, relu3_1, relu4_1 in the encoder (the reference's enc_1..enc_4 slice ends)
VGG_NORMALISED_TAPS = (3, 10, 17, 30)
# conv indices of the full 53-module vgg_normalised.pth beyond relu4_1: present in the file, unused
_VGG_UNUSED_CONVS = (32, 35, 38, 42, 45, 48, 51)


class _AdaINBase(Stylizer):
    """Alpha, multi-style interpolation, colour preservation and masks over an encoder/decoder pair.

    Args:
        alpha: content-style trade-off in [0, 1] (0: the decoder's reconstruction of the content).
        preserve_color: recolour the style with the content's colour statistics first.
        size: working resolution (longer side) for the content; None keeps the input size.
        style_size: longer side of the style image; None keeps it as given.
    """

    needs_style = True
    multiple: int = 8  # the encoder's total stride

    def __init__(self, alpha: float = 1.0, preserve_color: bool = False, size: int | None = None,
                 style_size: int | None = None) -> None:
        super().__init__()
        if not 0.0 <= alpha <= 1.0:
            raise OptionsError(type(self).__name__.lower(), "alpha", alpha, "a number in [0, 1]")
        for name, v in (("size", size), ("style_size", style_size)):
            if v is not None and (not isinstance(v, int) or v < self.multiple):
                raise OptionsError(type(self).__name__.lower(), name, v, f"None or an integer >= {self.multiple}")
        self.alpha, self.preserve_color, self.size, self.style_size = float(alpha), preserve_color, size, style_size

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def decode(self, f: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        ph, pw = (-h) % self.multiple, (-w) % self.multiple
        if not (ph or pw):
            return x
        return F.pad(x, (0, pw, 0, ph), mode="reflect" if min(h, w) > max(ph, pw) else "replicate")

    def _transfer(self, content: torch.Tensor, styles: Sequence[torch.Tensor], weights: Sequence[float],
                  mask: torch.Tensor | None = None, alpha: float | None = None) -> torch.Tensor:
        """One content image (1 x 3 x H x W) with its styles; returns 1 x 3 x H x W in [0, 1]."""
        alpha = self.alpha if alpha is None else alpha
        hw = tuple(content.shape[-2:])
        work = resize_long(content, self.size)
        if self.preserve_color:
            styles = [coral(s[0], work[0])[None] for s in styles]
        styles = [resize_long(s, self.style_size) for s in styles]
        fc = self.encode(self._pad(work))
        if mask is not None:
            m = F.interpolate(resize_to(mask, tuple(work.shape[-2:])) if mask.shape[-2:] != work.shape[-2:] else mask,
                              size=fc.shape[-2:], mode="nearest")
            regions = [m, 1 - m]
            t = torch.zeros_like(fc)
            for region, s in zip(regions, styles):
                fs = self.encode(self._pad(s))
                cm, cs = mean_std(fc, region)
                sm, ss = mean_std(fs)
                t = t + region * ((fc - cm) / cs * ss + sm)
        else:
            t = torch.zeros_like(fc)
            for s, w in zip(styles, weights):
                if w:
                    t = t + w * adain(fc, self.encode(self._pad(s)))
        t = alpha * t + (1 - alpha) * fc
        y = self.decode(t)[..., : work.shape[-2], : work.shape[-1]]
        return resize_to(y.clamp(0, 1), hw)

    def _stylize(self, content: torch.Tensor, style: torch.Tensor | None) -> torch.Tensor:
        style = pair_styles(self.id, content, style)
        with torch.inference_mode():
            return torch.cat([self._transfer(content[i : i + 1], [style[i : i + 1]], [1.0]) for i in range(content.shape[0])])

    def _styles(self, styles: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        return [check_images(s if s.dim() == 4 else s.unsqueeze(0), self.id, "style").to(self.device) for s in styles]

    def reconstruct(self, content: torch.Tensor) -> torch.Tensor:
        """decoder(encoder(content)): what ``alpha = 0`` gives."""
        content = self._in(content)
        with torch.inference_mode():
            outs = []
            for i in range(content.shape[0]):
                work = resize_long(content[i : i + 1], self.size)
                y = self.decode(self.encode(self._pad(work)))[..., : work.shape[-2], : work.shape[-1]]
                outs.append(resize_to(y.clamp(0, 1), tuple(content.shape[-2:])))
        return self._out(torch.cat(outs))

    def blend(self, content: torch.Tensor, styles: Sequence[torch.Tensor], weights: Sequence[float] | None = None,
              alpha: float | None = None) -> torch.Tensor:
        """Interpolate between several styles: Σ_k w_k AdaIN(f_c, f_s_k) (weights normalised to sum 1)."""
        content = self._in(content)
        w = check_blend(self.id, styles, weights)
        styles = self._styles(styles)
        with torch.inference_mode():
            y = torch.cat([self._transfer(content[i : i + 1], styles, w, alpha=alpha) for i in range(content.shape[0])])
        return self._out(y)

    def spatial(self, content: torch.Tensor, mask: torch.Tensor, foreground: torch.Tensor, background: torch.Tensor,
                alpha: float | None = None) -> torch.Tensor:
        """Foreground (``mask`` = 1) in one style, background in another.

        Args:
            mask: N x 1 x H x W (or 1 x 1 x H x W) with values in {0, 1}, at the content's size.
        """
        content = self._in(content)
        if mask.dim() != 4 or mask.shape[1] != 1 or mask.shape[-2:] != content.shape[-2:]:
            raise ContractError(f"{self.id}: mask must be N x 1 x {content.shape[-2]} x {content.shape[-1]}, got {tuple(mask.shape)}")
        mask = mask.to(self.device, torch.float32)
        if mask.shape[0] == 1:
            mask = mask.expand(content.shape[0], -1, -1, -1)
        fg, bg = self._styles([foreground, background])
        with torch.inference_mode():
            y = torch.cat([self._transfer(content[i : i + 1], [fg, bg], [1.0, 1.0], mask=mask[i : i + 1].round(), alpha=alpha)
                           for i in range(content.shape[0])])
        return self._out(y)


class AdaIN(_AdaINBase):
    """Huang and Belongie (ICCV 2017) AdaIN with naoto0804/pytorch-AdaIN's ``vgg_normalised`` and ``decoder``.

    Input RGB in [0, 1] as the reference's ``ToTensor`` (the first 1x1 conv holds the Caffe
    preprocessing). The content is padded (reflection) to a multiple of 8 and the output cropped.
    """

    def __init__(self, alpha: float = 1.0, preserve_color: bool = False, size: int | None = None,
                 style_size: int | None = None) -> None:
        super().__init__(alpha, preserve_color, size, style_size)
        self.encoder = _vgg_normalised_encoder()
        self.decoder = _adain_decoder()
        self.encoder.requires_grad_(False)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def encode_with_intermediate(self, x: torch.Tensor) -> list[torch.Tensor]:
        """relu1_1, relu2_1, relu3_1, relu4_1 (the reference's enc_1 .. enc_4 outputs)."""
        out = []
        for i, layer in enumerate(self.encoder):
            x = layer(x)
            if i in VGG_NORMALISED_TAPS:
                out.append(x)
        return out

    def decode(self, f: torch.Tensor) -> torch.Tensor:
        return self.decoder(f)

    def load_weights(self, state: dict[str, torch.Tensor], part: str | None = None) -> None:
        """Load ``vgg_normalised.pth`` (``part="encoder"``) or ``decoder.pth`` (``part="decoder"``).

        The encoder file holds all 53 modules of the reference's ``vgg``; the convolutions after
        relu4_1 (indices 32 ... 51) are checked to be exactly those and dropped. Without ``part``
        the file's keys decide (``0.weight`` of shape 3 x 3 x 1 x 1 is the encoder's colour
        conv), and a state dict saved from this method (``encoder.*`` / ``decoder.*``) loads whole.
        """
        if part is None:
            if any(k.startswith(("encoder.", "decoder.")) for k in state):
                self.load_state_dict(state, strict=True)
                return
            w0 = state.get("0.weight")
            part = "encoder" if w0 is not None and tuple(w0.shape) == (3, 3, 1, 1) else "decoder"
        if part == "encoder":
            extra = {k for k in state if int(k.split(".")[0]) >= len(self.encoder)}
            allowed = {f"{i}.{p}" for i in _VGG_UNUSED_CONVS for p in ("weight", "bias")}
            if not extra <= allowed:
                raise OptionsError(self.id, "encoder weights", sorted(extra - allowed)[:4],
                                  "the keys of vgg_normalised.pth (indices 0 ... 51 of the reference's vgg)")
            self.encoder.load_state_dict({k: v for k, v in state.items() if k not in extra}, strict=True)
        elif part == "decoder":
            self.decoder.load_state_dict(state, strict=True)
        else:
            raise OptionsError(self.id, "part", part, "'encoder' or 'decoder'")

    def weights_state_dict(self) -> dict[str, torch.Tensor]:
        return self.state_dict()


class LiteDecoder(nn.Module):
    """Decoder from EfficientNet-Lite0 stage2 (40 channels, 1/8) to RGB: three ×2 nearest upsamplings.

    Mirrors the AdaIN decoder's design (reflection-padded 3x3 convs, ReLU, nearest upsampling,
    no normalisation) at a width that fits the bundle budget.
    """

    def __init__(self, c_in: int = 40, widths: Sequence[int] = (64, 32, 16)) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.ReflectionPad2d(1), nn.Conv2d(c_in, widths[0], 3), nn.ReLU()]
        c = widths[0]
        for w in widths:
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.ReflectionPad2d(1), nn.Conv2d(c, w, 3), nn.ReLU(),
                       nn.ReflectionPad2d(1), nn.Conv2d(w, w, 3), nn.ReLU()]
            c = w
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(c, 3, 3)]
        self.body = nn.Sequential(*layers)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return self.body(f)


class AdaINLite(_AdaINBase):
    """AdaIN on the offline EfficientNet-Lite0 encoder (stage2) with a decoder trained here.

    Only the decoder is stored (``decoder.*``); the encoder comes from the EfficientNet-Lite0 wheel.
    """

    def __init__(self, alpha: float = 1.0, preserve_color: bool = False, size: int | None = None,
                 style_size: int | None = None, layer: str = "stage2", widths: Sequence[int] = (64, 32, 16)) -> None:
        super().__init__(alpha, preserve_color, size, style_size)
        from zoo_stylization.features import EffNetLite0Features

        self.net = EffNetLite0Features()
        self.layer = self.net.check_layers([layer])[0]
        c_in = {"stage1": 24, "stage2": 40}.get(layer)
        if c_in is None:
            raise OptionsError("adain-lite", "layer", layer, "'stage1' or 'stage2'")
        self.multiple = {"stage1": 4, "stage2": 8}[layer]
        ups = 2 if layer == "stage1" else 3
        self.decoder = LiteDecoder(c_in, list(widths)[:ups])

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x, [self.layer])[self.layer]

    def decode(self, f: torch.Tensor) -> torch.Tensor:
        return self.decoder(f)

    def load_weights(self, state: dict[str, torch.Tensor], part: str | None = None) -> None:
        """Load the trained decoder (keys ``decoder.*`` or bare ``body.*``)."""
        if part not in (None, "decoder"):
            raise OptionsError(self.id, "part", part, "None or 'decoder'")
        self.decoder.load_state_dict({k.removeprefix("decoder."): v for k, v in state.items()}, strict=True)

    def weights_state_dict(self) -> dict[str, torch.Tensor]:
        return {f"decoder.{k}": v for k, v in self.decoder.state_dict().items()}
