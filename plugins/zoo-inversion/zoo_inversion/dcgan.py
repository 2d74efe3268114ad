"""DCGAN generator in the layout of pytorch/examples ``dcgan/main.py`` (``netG_epoch_N.pth``).

Radford, Metz and Chintala, "Unsupervised Representation Learning with Deep Convolutional
Generative Adversarial Networks", ICLR 2016 (arXiv:1511.06434).

    z (nz x 1 x 1) ─► ConvT 4x4 (ngf·8) BN ReLU ─► [ConvT 4x4 s2, BN, ReLU] x3 ─► ConvT 4x4 s2 (nc) ─► tanh   (64 x 64)

pytorch/examples publishes no weights; the entry loads checkpoints that script writes.
DCGAN has no mapping network, so inversion is in z only.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from zoo.errors import ContractError, OptionsError
from zoo_inversion.inverters import OptimizationInverter


class DCGANGenerator(nn.Module):
    """``main.{0,3,6,9,12}`` transposed convolutions (no bias), ``main.{1,4,7,10}`` BatchNorm."""

    def __init__(self, nz: int = 100, ngf: int = 64, nc: int = 3) -> None:
        super().__init__()
        self.nz = nz
        chans = [nz, ngf * 8, ngf * 4, ngf * 2, ngf]
        layers: list[nn.Module] = []
        for i, (cin, cout) in enumerate(zip(chans[:-1], chans[1:])):
            layers += [nn.ConvTranspose2d(cin, cout, 4, 1 if i == 0 else 2, 0 if i == 0 else 1, bias=False),
                       nn.BatchNorm2d(cout), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z (N x nz or N x nz x 1 x 1) -> image in [-1, 1], 64 x 64."""
        return self.main(z.view(z.shape[0], self.nz, 1, 1))


class DCGANInverter(OptimizationInverter):
    """Optimisation-based z inversion of a DCGAN generator (Zhu et al., ECCV 2016, arXiv:1609.03552).

    Same objective and options as :class:`OptimizationInverter`; ``space`` must be ``z``,
    the start is z = 0 (the prior's mean) or a seeded sample, and there is no noise input.
    """

    def __init__(self, nz: int = 100, ngf: int = 64, nc: int = 3, space: str = "z", **options: Any) -> None:
        if space != "z":
            raise OptionsError("DCGANInverter", "space", space, ["z"])
        if options.get("start", "mean") == "encoder" or options.get("optimize_noise"):
            raise OptionsError("DCGANInverter", "start/optimize_noise", options, "start 'mean' or 'random', no noise maps")
        super().__init__(size=64, style_dim=8, n_mlp=1, channels={4: 8, 8: 8, 16: 8, 32: 8, 64: 8}, space="z", **options)
        del self.generator
        self.dcgan = DCGANGenerator(nz, ngf, nc)
        self.dcgan.eval()
        for p in self.dcgan.parameters():
            p.requires_grad_(False)
        self.latent_avg = torch.zeros(nz)

    @property
    def size(self) -> int:
        return 64

    def load_weights(self, state: dict, part: str | None = None) -> None:
        if part not in (None, "generator"):
            raise ValueError(f"{self.id}: unknown weights part {part!r}; DCGAN has only 'generator'")
        self.dcgan.load_state_dict(state, strict=True)
        for p in self.dcgan.parameters():
            p.requires_grad_(False)

    def weights_state_dict(self) -> dict[str, torch.Tensor]:
        return self.dcgan.state_dict()

    def train(self, mode: bool = True) -> "DCGANInverter":
        super().train(mode)
        self.dcgan.eval()  # BatchNorm always uses its running statistics
        return self

    def synthesize(self, code: torch.Tensor, noise=None, space: str | None = None) -> torch.Tensor:
        if (space or "z") != "z":
            raise ContractError(f"{self.id}: DCGAN has only the z space")
        return ((self.dcgan(code) + 1) / 2).clamp(0, 1)

    def mean_code(self, n: int, space: str | None = None) -> torch.Tensor:
        return torch.zeros(n, self.dcgan.nz, device=self.device)

    def random_code(self, n: int, seed: int, space: str | None = None) -> torch.Tensor:
        z = torch.randn(1, self.dcgan.nz, generator=torch.Generator().manual_seed(seed))
        return z.expand(n, -1).clone().to(self.device)
