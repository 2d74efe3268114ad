"""A controlled counterfactual face set: the same faces, re-toned to Monk Skin Tone swatches.

The question it serves: *does a method shift dark skin more than light skin on the same
face?* Every face (one person) is re-toned to several Monk Skin Tone (MST) swatches by one
documented transform, so within a person only the skin tone differs: geometry, expression,
lighting, hair, background and camera stay the same. That makes a **paired** design whose
independent unit is the person, not the image: the tone versions of one face are
repeated measures of one unit, and every interval or p-value over this set resamples people.

The transform (an albedo swap in linear light):

1. ``x`` is the sRGB face crop; ``lin(x)`` its linear-light RGB (IEC 61966-2-1).
2. The skin region is found on ``x`` as the fairness probes find it
   (:func:`zoo_fairness.skin.skin_region`: face box from the LBP cascade, an ellipse inside
   it, Lab outliers removed: eyes, brows, hair, glasses). ``m`` is the mean linear RGB of
   those core skin pixels.
3. The re-toned area is the core grown to every pixel of the face box (enlarged 1.5x to
   reach the neck and ears) whose CIELAB *chroma direction* (a*, b*) lies within ``k``
   robust standard deviations of the core's and whose chroma is at least half the core's
   median (teeth, eye whites, grey hair and specular highlights stay as they are), feathered by a Gaussian of ``feather`` pixels:
   the soft mask ``w`` in [0, 1].
4. For the target swatch ``t`` (its linear RGB), each pixel becomes
   ``lin(y) = lin(x) * (1 + w * (t / m - 1))`` per channel, clipped to [0, 1], then back to sRGB.

A per-channel gain in linear light is what a change of skin albedo under fixed lighting does
(the image is irradiance x reflectance): shading, shadows, highlights' positions, pores and
wrinkles keep their relative contrast; the skin's mean colour becomes the swatch's. What it is
not: real people of that skin tone (melanin also changes sub-surface scattering, specular
balance and freckling, and faces differ in more than tone), so a result on this set answers
the paired counterfactual question only. Very light targets can clip highlights; the fraction
of clipped skin pixels is recorded as an attribute (``clipped``).

Sources: only two colour photographs of faces ship inside the installed packages
(scikit-image's ``astronaut.png``: Eileen Collins, NASA, public domain; matplotlib's
``grace_hopper.jpg``: US Navy, public domain). scikit-image's ``lfw_subset`` is 25 x 25
grayscale; scikit-learn's Olivetti and LFW loaders download. So this set has **two people**,
and statistics that need more independent units report "insufficient n" instead of a number.
A larger set of people is a local folder away: :func:`retone` works on any face photograph.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from zoo.errors import ZooError
from zoo.images import rgb_to_lab
from zoo_fairness.ita import MONK_SKIN_TONES, hex_to_rgb
from zoo_fairness.skin import Box, skin_region

#: The default swatches: the whole Monk scale, light (1) to dark (10).
DEFAULT_TONES: tuple[int, ...] = tuple(range(1, 11))
MIN_TONES = 5


def srgb_to_linear(x: torch.Tensor) -> torch.Tensor:
    """IEC 61966-2-1 decoding, [0, 1] -> [0, 1]."""
    return torch.where(x > 0.04045, ((x + 0.055) / 1.055) ** 2.4, x / 12.92)


def linear_to_srgb(x: torch.Tensor) -> torch.Tensor:
    """IEC 61966-2-1 encoding, [0, 1] -> [0, 1] (input clipped to [0, 1] first)."""
    x = x.clamp(0, 1)
    return torch.where(x > 0.0031308, 1.055 * x.pow(1 / 2.4) - 0.055, 12.92 * x)


@dataclass(frozen=True)
class Retoned:
    """One re-toned face: the image, the soft skin mask used, and what the transform did."""

    image: torch.Tensor
    mask: torch.Tensor
    gain: tuple[float, float, float]
    clipped: float  # share of re-toned pixels (w > 0.5) with a channel clipped at 1


def _gaussian_blur(m: torch.Tensor, sigma: float) -> torch.Tensor:
    if sigma <= 0:
        return m
    r = max(1, int(math.ceil(3 * sigma)))
    k = torch.exp(-0.5 * (torch.arange(-r, r + 1, dtype=torch.float64) / sigma) ** 2)
    k = (k / k.sum()).to(m.dtype)
    x = m[None, None]
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1))
    x = F.conv2d(F.pad(x, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1))
    return x[0, 0]


def skin_weight(image: torch.Tensor, k: float = 3.0, feather: float = 2.0, grow: float = 1.5) -> tuple[torch.Tensor, torch.Tensor]:
    """(soft mask H x W in [0, 1] of the area to re-tone, core skin mask H x W bool) of one face image.

    Raises :class:`ZooError` when no face is found (the transform needs a face to re-tone).
    """
    x = image.to(torch.float64)
    lab = rgb_to_lab(x)
    reg = skin_region(x, "face", lab=lab)
    if reg.mask is None or reg.box is None:
        raise ZooError(f"counterfactual re-toning needs a face: {reg.reason}")
    core = reg.mask
    h, w = x.shape[-2:]
    b: Box = reg.box
    cy, cx = b.top + 0.55 * b.height, b.left + 0.5 * b.width
    hh, hw = grow * b.height / 2, grow * b.width / 2
    area = torch.zeros(h, w, dtype=torch.bool)
    area[max(0, int(cy - hh)) : min(h, int(cy + hh * 1.3)), max(0, int(cx - hw)) : min(w, int(cx + hw))] = True
    keep = area.clone()
    for c in (1, 2):  # chroma only: shading (L*) may vary freely across the skin
        v = lab[c][core]
        med = v.median()
        mad = max(float((v - med).abs().median()) * 1.4826, 1.0)
        keep &= (lab[c] - med).abs() <= k * mad
    chroma = lab[1:].pow(2).sum(0).sqrt()
    keep &= chroma >= 0.5 * float(chroma[core].median())  # not teeth, eye whites, grey hair or highlights
    keep |= core
    return _gaussian_blur(keep.to(torch.float64), feather).clamp(0, 1), core


def retone(image: torch.Tensor, tone: int | str, k: float = 3.0, feather: float = 2.0,
           weight: tuple[torch.Tensor, torch.Tensor] | None = None) -> Retoned:
    """Re-tone the skin of one 3 x H x W sRGB face to a Monk swatch (1..10) or a ``#rrggbb`` colour.

    See the module docstring for the transform. ``weight`` reuses a :func:`skin_weight` result
    (the mask depends on the source image only, so one face's tones share it).
    """
    code = MONK_SKIN_TONES.get(tone) if isinstance(tone, int) else tone
    if code is None:
        raise ZooError(f"unknown Monk Skin Tone {tone!r}: the scale has tones 1..10 ({MONK_SKIN_TONES})")
    x = image.to(torch.float64)
    w, core = weight if weight is not None else skin_weight(x, k, feather)
    lin = srgb_to_linear(x)
    m = lin[:, core].mean(1)
    t = srgb_to_linear(torch.tensor(hex_to_rgb(code), dtype=torch.float64))
    gain = t / m.clamp_min(1e-6)
    y = lin * (1 + w[None] * (gain.view(3, 1, 1) - 1))
    strong = w > 0.5
    clipped = float((y[:, strong] > 1).any(0).double().mean()) if strong.any() else 0.0
    out = linear_to_srgb(y).to(image.dtype)
    return Retoned(out, w.to(torch.float32), tuple(float(g) for g in gain), clipped)  # type: ignore[arg-type]


def check_tones(tones: Sequence[int]) -> tuple[int, ...]:
    """Validated tone list: integers 1..10, no repeats."""
    tones = tuple(int(t) for t in tones)
    bad = [t for t in tones if t not in MONK_SKIN_TONES]
    if bad or len(set(tones)) != len(tones) or not tones:
        raise ZooError(f"tones must be distinct Monk Skin Tone numbers 1..10, got {list(tones)}")
    return tones
