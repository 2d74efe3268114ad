"""The translation methods around the official generators: pix2pix and CycleGAN.

One :class:`GANTranslator` holds one generator per direction. A two-way CycleGAN pair
(``horse2zebra.pth`` + ``zebra2horse.pth``) is one method id with a ``direction`` setting;
each direction's generator is one weights part (``part="AtoB"`` / ``part="BtoA"``).

Checkpoint quirks handled on load (strict about everything else):

* ``module.`` prefixes of DataParallel saves are dropped;
* ``running_mean`` / ``running_var`` / ``num_batches_tracked`` of the affine-free
  InstanceNorm layers (written by PyTorch < 0.4, where InstanceNorm tracked running
  statistics) are dropped, as upstream ``BaseModel.load_networks`` does;
* batch-norm checkpoints from before ``num_batches_tracked`` existed load as in PyTorch.

``norm_mode``: ``"eval"`` uses batch norm's running statistics and no dropout (PyTorch's
``model.eval()``); ``"train"`` reproduces the official ``test.py``, which never calls
``eval()`` for pix2pix (Isola et al. 2017, sec. 3.3: dropout and test-batch statistics at
inference): each image is normalised with its own statistics (the official batch size is 1)
and dropout stays on, with masks drawn from ``dropout_seed`` so that outputs are
reproducible and independent of batching.

``colorization=True`` is upstream's pix2pix colorization model (``--model colorization``):
the generator maps CIELAB lightness ``L / 50 - 1`` (1 channel) to chroma ``ab / 110``
(2 channels), and the output is the input's own L with the predicted ab.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from zoo.errors import OptionsError, WeightsError
from zoo.images import lab_to_rgb, rgb_to_lab
from zoo.tasks import Translator
from zoo_translation.networks import BatchNorm, SeededDropout, build_generator

DIRECTIONS = ("AtoB", "BtoA")
NORM_MODES = ("eval", "train")
STALE_INSTANCE_NORM_KEYS = ("running_mean", "running_var", "num_batches_tracked")



def strip_module_prefix(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop the ``module.`` prefix that ``nn.DataParallel`` saves carry."""
    return {k.removeprefix("module."): v for k, v in state.items()}


def drop_stale_instance_norm(state: dict[str, torch.Tensor], net: nn.Module) -> dict[str, torch.Tensor]:
    """Remove running statistics that ``net``'s InstanceNorm layers do not have.

    Only keys whose parent module in ``net`` is an ``InstanceNorm`` without running stats are
    dropped; any other extra key stays, so a strict load still reports it.
    """
    modules = dict(net.named_modules())
    out = {}
    for k, v in state.items():
        parent, _, leaf = k.rpartition(".")
        m = modules.get(parent)
        if leaf in STALE_INSTANCE_NORM_KEYS and isinstance(m, nn.modules.instancenorm._InstanceNorm) and not m.track_running_stats:
            continue
        out[k] = v
    return out


class GANTranslator(Translator):
    """pix2pix (Isola et al. 2017, arXiv:1611.07004) or CycleGAN (Zhu et al. 2017,
    arXiv:1703.10593) generators behind the [0, 1] translation contract.

    Args:
        net: official generator name: ``unet_256``, ``unet_128``, ``resnet_9blocks``, ``resnet_6blocks``.
        ngf: generator width (64 in the published models).
        two_way: hold a generator for ``AtoB`` and one for ``BtoA`` (a CycleGAN pair).
        direction: default direction of :meth:`translate` (``AtoB`` or ``BtoA``).
        norm_mode: ``eval`` (running statistics, no dropout) or ``train`` (official test.py).
        dropout: dropout layers present (default: on for U-Nets, off for ResNets).
        dropout_seed: seed of the dropout masks in ``norm_mode="train"``.
        num_downs, n_blocks: depth overrides (the small translators trained here).
        colorization: upstream's colorization variant: L -> ab in CIELAB, input lightness kept.

    Images of any size are padded (reflect, or replicate when too small) to a multiple of
    the network's stride (``2 ** num_downs`` for U-Nets, 4 for ResNets) and cropped back.
    """

    def __init__(self, net: str = "resnet_9blocks", ngf: int = 64, two_way: bool = False, direction: str = "AtoB",
                 norm_mode: str = "eval", dropout: bool | None = None, dropout_seed: int = 0,
                 num_downs: int | None = None, n_blocks: int | None = None, colorization: bool = False) -> None:
        super().__init__()
        available = DIRECTIONS if two_way else DIRECTIONS[:1]
        if direction not in available:
            raise OptionsError(type(self).__name__, "direction", direction, list(available))
        if norm_mode not in NORM_MODES:
            raise OptionsError(type(self).__name__, "norm_mode", norm_mode, list(NORM_MODES))
        try:
            self.generators = nn.ModuleDict({
                d: build_generator(net, ngf=ngf, dropout=dropout, num_downs=num_downs, n_blocks=n_blocks,
                                   in_ch=1 if colorization else 3, out_ch=2 if colorization else 3)
                for d in available
            })
        except ValueError as exc:
            raise OptionsError(type(self).__name__, "net", net, f"{exc}") from exc
        self.net, self.two_way, self.direction = net, two_way, direction
        self.norm_mode, self.dropout_seed, self.colorization = norm_mode, int(dropout_seed), bool(colorization)
        # translate() without a direction uses directions[0]: the configured one
        self.directions = (direction, *[d for d in available if d != direction])
        self.loaded: set[str] = set()

    # -- weights ---------------------------------------------------------------------------------
    def load_weights(self, state: dict[str, torch.Tensor], part: str | None = None) -> None:
        """Load official generator weights.

        Args:
            state: one generator's official state dict (``latest_net_G.pth``, ``horse2zebra.pth``),
                or a two-way file whose keys start with ``AtoB.`` / ``BtoA.`` (what
                :meth:`weights_state_dict` writes).
            part: the direction this generator serves; default: the ``direction`` setting.

        Raises:
            WeightsError: unknown part, or keys / shapes that do not match the architecture.
        """
        state = strip_module_prefix(dict(state))
        prefixed = {d: {k[len(d) + 1:]: v for k, v in state.items() if k.startswith(d + ".")} for d in DIRECTIONS}
        if part is None and state and sum(len(p) for p in prefixed.values()) == len(state):
            parts = {d: s for d, s in prefixed.items() if s}
        else:
            parts = {part or self.direction: state}
        for d, sub in parts.items():
            if d not in self.generators:
                raise WeightsError(f"{self.id}: weights part {d!r} does not exist; this method has {list(self.generators)}")
            gen = self.generators[d]
            try:
                gen.load_state_dict(drop_stale_instance_norm(sub, gen), strict=True)
            except RuntimeError as exc:
                raise WeightsError(
                    f"{self.id}: checkpoint does not fit the {self.net} generator (ngf etc. from the catalog) "
                    f"for direction {d}: {' '.join(str(exc).split())}"
                ) from exc
            self.loaded.add(d)

    def weights_state_dict(self) -> dict[str, torch.Tensor]:
        """One-way: the official generator layout. Two-way: both, prefixed ``AtoB.`` / ``BtoA.``."""
        if not self.two_way:
            return self.generators["AtoB"].state_dict()
        return {f"{d}.{k}": v for d in self.generators for k, v in self.generators[d].state_dict().items()}

    # -- inference -------------------------------------------------------------------------------
    def generator(self, direction: str) -> nn.Module:
        """The network for ``direction``; refuses a direction whose weights were not loaded.

        A bare instance (no catalog card, nothing loaded) runs with whatever its modules
        hold; a catalog method never runs a direction on untrained weights.
        """
        needs_weights = self.card is not None and bool(self.card.weights)
        if (self.loaded or needs_weights) and direction not in self.loaded:
            raise WeightsError(
                f"{self.id}: no weights loaded for direction {direction!r} (loaded: {sorted(self.loaded)}); "
                f"load the method with direction={direction} or call load_weights(state, part={direction!r})"
            )
        return self.generators[direction]

    def _translate(self, x: torch.Tensor, direction: str) -> torch.Tensor:
        gen = self.generator(direction)
        with torch.no_grad():
            if self.norm_mode == "eval":
                return self._run(gen, x)
            return torch.cat([self._run_official_test(gen, x[i : i + 1]) for i in range(x.shape[0])])

    def _run(self, gen: nn.Module, x: torch.Tensor) -> torch.Tensor:
        if self.colorization:
            lab = rgb_to_lab(x)
            ab = self._pad_run(gen, lab[:, :1] / 50 - 1) * 110
            return lab_to_rgb(torch.cat([lab[:, :1], ab], 1)).clamp_(0, 1)
        return ((self._pad_run(gen, x * 2 - 1) + 1) / 2).clamp_(0, 1)

    def _pad_run(self, gen: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """``gen`` on ``x`` (in its [-1, 1] convention) padded to the network stride, cropped back."""
        h, w = x.shape[-2:]
        m = gen.multiple
        ph, pw = -h % m, -w % m
        if ph or pw:
            mode = "reflect" if ph < h and pw < w else "replicate"
            x = F.pad(x, (0, pw, 0, ph), mode=mode)
        return gen(x)[..., :h, :w]

    def _run_official_test(self, gen: nn.Module, x: torch.Tensor) -> torch.Tensor:
        norms = [m for m in gen.modules() if isinstance(m, BatchNorm)]
        drops = [m for m in gen.modules() if isinstance(m, SeededDropout)]
        g = torch.Generator().manual_seed(self.dropout_seed)
        try:
            for m in norms:
                m.batch_stats = True
            for m in drops:
                m.generator = g
            return self._run(gen, x)
        finally:
            for m in norms:
                m.batch_stats = False
            for m in drops:
                m.generator = None


def pix2pix(**kw: Any) -> GANTranslator:
    """pix2pix (Isola et al. 2017, arXiv:1611.07004): U-Net generator, ``unet_256`` by default."""
    return GANTranslator(**{"net": "unet_256", **kw})


def cyclegan(**kw: Any) -> GANTranslator:
    """CycleGAN (Zhu et al. 2017, arXiv:1703.10593): ResNet generator, ``resnet_9blocks`` by default."""
    return GANTranslator(**{"net": "resnet_9blocks", **kw})
