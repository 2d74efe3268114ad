"""The offline generator and encoder trained here, and the face images they are trained on.

Data: the 100 face crops of scikit-image's ``lfw_subset`` (Labeled Faces in the Wild,
Huang et al. 2007; 25 x 25 grey), upscaled to 32 x 32 with MATLAB-style bicubic and
replicated to RGB. Faces 0-89 train; faces 90-99 are held out (never seen in training).

Generator: a StyleGAN2 (:class:`~zoo_inversion.stylegan2.StyleGAN2Generator`, rosinality
layout) at 32 x 32 with narrow channels, z/w of 64 dims and a 4-layer mapping network, so
z, w and w+ (8 codes) all exist. Encoder: a small CNN with three heads (z, w, w+).
"""

from __future__ import annotations

import torch
from torch import nn

from zoo_inversion.catalog import CHANNELS, N_MLP, SIZE, STYLE_DIM  # noqa: F401  (architecture as data, torch-free)
from zoo_inversion.stylegan2 import StyleGAN2Generator, fused_leaky_relu

N_TRAIN = 90
N_FACES = 100


def offline_generator() -> StyleGAN2Generator:
    """The offline generator's architecture (weights: ``weights/stylegan2-lfw32.safetensors``)."""
    return StyleGAN2Generator(SIZE, STYLE_DIM, N_MLP, channels=CHANNELS)


def lfw_faces(split: str = "train") -> torch.Tensor:
    """The face crops of ``skimage.data.lfw_subset()`` as N x 3 x 32 x 32 float32 in [0, 1].

    Args:
        split: ``train`` (faces 0-89), ``heldout`` (faces 90-99) or ``all``.
    """
    import numpy as np
    from skimage.data import lfw_subset

    from zoo.datasets.degrade import imresize

    if split not in ("train", "heldout", "all"):
        raise ValueError(f"lfw_faces: split must be 'train', 'heldout' or 'all', got {split!r}")
    faces = torch.from_numpy(np.asarray(lfw_subset()[:N_FACES], dtype=np.float32))[:, None]
    faces = imresize(faces, size=(SIZE, SIZE)).clamp(0, 1).expand(-1, 3, -1, -1).contiguous()
    return {"train": faces[:N_TRAIN], "heldout": faces[N_TRAIN:], "all": faces}[split]


class Encoder(nn.Module):
    """Image (N x 3 x 32 x 32 in [-1, 1]) -> latent codes; one head per latent space.

    ``forward(x, space)`` returns z (N x D), w (N x D) or w+ (N x n_latent x D). The w and w+
    heads end in the mapping network's output activation (leaky ReLU x sqrt(2)), so their
    linear layers predict the pre-activation code u that the generator's training fits a
    Gaussian to (:mod:`zoo_inversion.train_generator`).
    """

    def __init__(self, style_dim: int = STYLE_DIM, n_latent: int = 8, width: int = 32, size: int = SIZE) -> None:
        super().__init__()
        self.style_dim, self.n_latent = style_dim, n_latent
        w = width
        self.body = nn.Sequential(
            nn.Conv2d(3, w, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(w, 2 * w, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * w, 2 * w, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * w, 4 * w, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(4 * w, 4 * w, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(4 * w * (size // 8) ** 2, 256), nn.LeakyReLU(0.2),
        )
        self.z = nn.Linear(256, style_dim)
        self.w = nn.Linear(256, style_dim)
        self.wplus = nn.Linear(256, n_latent * style_dim)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor, space: str = "w+") -> torch.Tensor:
        h = self.body(x)
        if space == "z":
            return self.z(h)
        if space == "w":
            return fused_leaky_relu(self.w(h))
        if space == "w+":
            return fused_leaky_relu(self.wplus(h).view(-1, self.n_latent, self.style_dim))
        raise ValueError(f"Encoder: space must be z, w or w+, got {space!r}")


def to_pm1(x: torch.Tensor) -> torch.Tensor:
    return x * 2 - 1


def from_pm1(y: torch.Tensor) -> torch.Tensor:
    return ((y + 1) / 2).clamp(0, 1)


def image_grid(x: torch.Tensor, nrow: int = 8, pad: int = 1) -> torch.Tensor:
    """N x 3 x H x W -> 3 x H' x W' grid with a white border (for the README and the report)."""
    n, c, h, w = x.shape
    rows = -(-n // nrow)
    out = torch.ones(c, rows * (h + pad) + pad, nrow * (w + pad) + pad)
    for i in range(n):
        r, k = divmod(i, nrow)
        out[:, pad + r * (h + pad): pad + r * (h + pad) + h, pad + k * (w + pad): pad + k * (w + pad) + w] = x[i]
    return out

