"""RRDBNet, the generator of ESRGAN and Real-ESRGAN, in BasicSR's layout.

Wang et al., "ESRGAN: Enhanced Super-Resolution Generative Adversarial Networks", ECCVW
2018 (arXiv:1809.00219); Wang et al., "Real-ESRGAN", ICCVW 2021 (arXiv:2107.10833).

Keys: ``conv_first``, ``body.N.rdbK.convJ``, ``conv_body``, ``conv_up1``, ``conv_up2``,
``conv_hr``, ``conv_last``. Checkpoints wrapped in ``params_ema`` (preferred) or ``params``
are unwrapped. ×2 models pixel-unshuffle the input first (12 input channels). The original
ESRGAN release names (``RRDB_trunk.N.RDBK.convJ``, ``trunk_conv``, ``upconv1/2``,
``HRconv``) and the oldest ``model.N`` sequential names are mapped onto these.
"""

from __future__ import annotations

import re

import torch
import torch.nn.functional as F
from torch import nn

from zoo.errors import OptionsError
from zoo_superres.base import NetSR


class ResidualDenseBlock(nn.Module):
    def __init__(self, feats: int = 64, grow: int = 32) -> None:
        super().__init__()
        for j in range(1, 6):
            cout = feats if j == 5 else grow
            setattr(self, f"conv{j}", nn.Conv2d(feats + (j - 1) * grow, cout, 3, padding=1))
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [x]
        for j in range(1, 5):
            feats.append(self.lrelu(getattr(self, f"conv{j}")(torch.cat(feats, 1))))
        return self.conv5(torch.cat(feats, 1)) * 0.2 + x


class RRDB(nn.Module):
    def __init__(self, feats: int = 64, grow: int = 32) -> None:
        super().__init__()
        self.rdb1 = ResidualDenseBlock(feats, grow)
        self.rdb2 = ResidualDenseBlock(feats, grow)
        self.rdb3 = ResidualDenseBlock(feats, grow)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rdb3(self.rdb2(self.rdb1(x))) * 0.2 + x


_OLD_NAMES = [  # original ESRGAN release -> BasicSR
    (re.compile(r"^RRDB_trunk\.(\d+)\.RDB(\d)\.conv(\d)\."), r"body.\1.rdb\2.conv\3."),
    (re.compile(r"^trunk_conv\."), "conv_body."),
    (re.compile(r"^upconv(\d)\."), r"conv_up\1."),
    (re.compile(r"^HRconv\."), "conv_hr."),
]
_OLDEST_NAMES = [  # ESRGAN's first release, a flat nn.Sequential
    (re.compile(r"^model\.0\."), "conv_first."),
    (re.compile(r"^model\.1\.sub\.(\d+)\.RDB(\d)\.conv(\d)\.0\."), r"body.\1.rdb\2.conv\3."),
    (re.compile(r"^model\.3\."), "conv_up1."),
    (re.compile(r"^model\.6\."), "conv_up2."),
    (re.compile(r"^model\.8\."), "conv_hr."),
    (re.compile(r"^model\.10\."), "conv_last."),
]


def convert_esrgan_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Map either original ESRGAN naming onto BasicSR's (other keys pass through)."""
    out = {}
    trunk = None
    if any(k.startswith("model.1.sub.") for k in state):
        blocks = {int(m.group(1)) for k in state if (m := re.match(r"^model\.1\.sub\.(\d+)\.RDB", k))}
        trunk = f"model.1.sub.{max(blocks) + 1}."
    for k, v in state.items():
        if trunk and k.startswith(trunk):
            out["conv_body." + k[len(trunk):]] = v
            continue
        for pattern, repl in _OLD_NAMES + _OLDEST_NAMES:
            if pattern.match(k):
                k = pattern.sub(repl, k)
                break
        out[k] = v
    return out


class RRDBNet(NetSR):
    def __init__(self, scale: int = 4, feats: int = 64, blocks: int = 23, grow: int = 32,
                 tile: int | None = None, tile_pad: int | None = None) -> None:
        super().__init__(scale, tile, tile_pad)
        if scale not in (1, 2, 4):
            raise OptionsError("RRDBNet", "scale", scale, [1, 2, 4])
        unshuffle = {4: 1, 2: 2, 1: 4}[scale]
        self.unshuffle = unshuffle
        self.conv_first = nn.Conv2d(3 * unshuffle * unshuffle, feats, 3, padding=1)
        self.body = nn.Sequential(*[RRDB(feats, grow) for _ in range(blocks)])
        self.conv_body = nn.Conv2d(feats, feats, 3, padding=1)
        self.conv_up1 = nn.Conv2d(feats, feats, 3, padding=1)
        self.conv_up2 = nn.Conv2d(feats, feats, 3, padding=1)
        self.conv_hr = nn.Conv2d(feats, feats, 3, padding=1)
        self.conv_last = nn.Conv2d(feats, 3, 3, padding=1)
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)
        # receptive radius in input pixels: 1 + 15 per block + 1, then the HR convs (< 1 input pixel)
        self.receptive_radius = (2 + 15 * blocks + 1) * unshuffle

    @staticmethod
    def convert_state_dict(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return convert_esrgan_keys(NetSR.convert_state_dict(state))

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        x = lr
        if self.unshuffle > 1:
            h, w = x.shape[-2:]
            ph, pw = (-h) % self.unshuffle, (-w) % self.unshuffle
            if ph or pw:
                x = F.pad(x, (0, pw, 0, ph), mode="reflect")
            x = F.pixel_unshuffle(x, self.unshuffle)
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        feat = self.lrelu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")))
        feat = self.lrelu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")))
        out = self.conv_last(self.lrelu(self.conv_hr(feat)))
        if self.unshuffle > 1:
            out = out[..., : lr.shape[-2] * self.scale, : lr.shape[-1] * self.scale]
        return out
