"""Neural style transfer by optimising the image.

Gatys, Ecker and Bethge, "Image Style Transfer Using Convolutional Neural Networks", CVPR 2016
(and "Texture Synthesis Using Convolutional Neural Networks", NeurIPS 2015, arXiv:1505.07376).
Colour preservation by luminance-only transfer: Gatys, Bethge, Hertzmann and Shechtman,
"Preserving Color in Neural Artistic Style Transfer", arXiv:1606.05897.

    x (init: content or white noise) ──► feature net (only up to the deepest layer used) ──┐
        ▲                                                                                 │
        └──── L-BFGS / Adam on the pixels ◄── L = ratio · L_content + L_style ◄───────────┘
    L_content = ½ Σ (F_l(x) − F_l(content))²                     at the content layer
    L_style   = Σ_l w_l · Σ (G_l(x) − A_l)² / (4 N_l²),  w_l = 1 / #layers,
    G = F Fᵀ / M_l (Gram per position), A_l = Σ_k β_k G_l(style_k)   (blend of several styles)

``ratio`` is the paper's α/β. The paper ran Caffe VGG-19 on 0-255 BGR input; the feature networks
here take ImageNet-normalised RGB, so useful ratios are much smaller than the paper's 1e-3, and as
the content loss is summed over positions a ratio holds for one working size (the default 1e-5
suits EfficientNet-Lite0 at 256²): the catalog's operating points span the trade-off. Style Grams are cached across calls (keyed by the
style image's bytes), content features are computed once per call, and the network runs only as
far as the deepest layer needed.
"""

from __future__ import annotations

import hashlib
import math
import statistics
import time
from collections import OrderedDict
from typing import Sequence

import torch

from zoo.errors import OptionsError
from zoo.tasks import Stylizer
from zoo_stylization.base import (
    check_blend, luminance, match_luminance, pair_styles, resize_long, resize_to, with_content_colour,
)
from zoo_stylization.features import FeatureNet, feature_net, gram

OPTIMIZERS = ("lbfgs", "adam")
INITS = ("content", "noise")


def style_loss(grams: dict[str, torch.Tensor], targets: dict[str, torch.Tensor], weights: dict[str, float]) -> torch.Tensor:
    """Gatys et al.'s style loss on position-normalised Grams: Σ_l w_l Σ (G − A)² / (4 N_l²)."""
    total = 0.0
    for name, g in grams.items():
        c = g.shape[-1]
        total = total + weights[name] * (g - targets[name]).pow(2).sum() / (4 * c * c)
    return total


def content_loss(f: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """½ Σ (F − P)², the paper's squared-error content loss."""
    return 0.5 * (f - p).pow(2).sum()


class Gatys(Stylizer):
    """Gatys et al. (CVPR 2016) optimisation-based style transfer.

    Args:
        net: feature network, ``"effnet-lite0"`` (offline, shipped with imagezoo) or ``"vgg19"``
            (torchvision's ImageNet VGG-19, loaded from the catalog's weights).
        pool: ``"avg"`` replaces VGG-19's max pooling (the paper's choice) or ``"max"``.
        iterations: optimiser iterations (L-BFGS iterations or Adam steps).
        ratio: content weight over style weight (α/β); 0 gives pure style reconstruction.
        size: working resolution (longer side, pixels); the result is resized back. None: native.
        style_size: longer side of the style image(s); None: same as the working size.
        optimizer: ``"lbfgs"`` (as in the paper) or ``"adam"``.
        lr: Adam step in pixel units (L-BFGS uses unit steps).
        init: ``"content"`` or ``"noise"`` (white noise, seeded by ``seed``).
        preserve_color: luminance-only transfer, then the content's chroma (Gatys et al. 2016b).
        texture: texture synthesis: no content loss, noise start; the content only sets the size.
        style_layers, content_layer, layer_weights: override the network's defaults
            (relu1_1..relu5_1 / relu4_2 for VGG-19; stem, stage1, stage2, stage3, stage5 / stage2
            for EfficientNet-Lite0); layer weights default to 1 / number of style layers.
        fraction: ``self.stats`` records the iterations and seconds needed to bring the loss
            down to this fraction of its starting value.
        channels_last: run the network on channels-last tensors.
        seed: seed of the noise initialisation.
    """

    needs_style = True
    needs_grad = True

    def __init__(self, net: str = "effnet-lite0", pool: str = "max", iterations: int = 100, ratio: float = 1e-5,
                 size: int | None = 256, style_size: int | None = None, optimizer: str = "lbfgs", lr: float = 0.02,
                 init: str = "content", preserve_color: bool = False, texture: bool = False,
                 style_layers: Sequence[str] | None = None, content_layer: str | None = None,
                 layer_weights: Sequence[float] | None = None, fraction: float = 0.25, channels_last: bool = False,
                 line_search: str | None = None, seed: int = 0) -> None:
        super().__init__()
        who = "gatys"
        if optimizer not in OPTIMIZERS:
            raise OptionsError(who, "optimizer", optimizer, " or ".join(OPTIMIZERS))
        if init not in INITS:
            raise OptionsError(who, "init", init, " or ".join(INITS))
        if not isinstance(iterations, int) or iterations < 1:
            raise OptionsError(who, "iterations", iterations, "an integer >= 1")
        if not ratio >= 0 or math.isinf(ratio):
            raise OptionsError(who, "ratio", ratio, "a finite number >= 0 (content weight / style weight)")
        for name, v in (("size", size), ("style_size", style_size)):
            if v is not None and (not isinstance(v, int) or v < 16):
                raise OptionsError(who, name, v, "None or an integer >= 16 (pixels, longer side)")
        if not 0 < fraction < 1:
            raise OptionsError(who, "fraction", fraction, "a number in (0, 1)")
        if not lr > 0:
            raise OptionsError(who, "lr", lr, "a positive step size")
        self.net: FeatureNet = feature_net(net, pool)
        self.style_layers = self.net.check_layers(style_layers or self.net.style_layers)
        self.content_layer = self.net.check_layers([content_layer or self.net.content_layer])[0]
        if layer_weights is None:
            layer_weights = [1.0 / len(self.style_layers)] * len(self.style_layers)
        if len(layer_weights) != len(self.style_layers):
            raise OptionsError(who, "layer_weights", list(layer_weights), f"{len(self.style_layers)} numbers, one per style layer")
        self.layer_weights = dict(zip(self.style_layers, map(float, layer_weights)))
        self.iterations, self.ratio, self.size, self.style_size = iterations, float(ratio), size, style_size
        self.optimizer, self.lr, self.init, self.fraction, self.seed = optimizer, lr, init, fraction, seed
        self.preserve_color, self.texture, self.channels_last = preserve_color, texture, channels_last
        if line_search not in (None, "strong_wolfe"):
            raise OptionsError(who, "line_search", line_search, "None or 'strong_wolfe' (L-BFGS only)")
        self.line_search = line_search
        if texture:
            self.init, self.ratio = "noise", 0.0
        self.stats: dict[str, float] = {}
        self._gram_cache: OrderedDict[tuple, dict[str, torch.Tensor]] = OrderedDict()

    # -- weights: official VGG-19 file (features.* of torchvision or timm) ------------------------
    def load_weights(self, state: dict[str, torch.Tensor], part: str | None = None) -> None:
        """Load the feature network's weights (torchvision ``vgg19-dcbb9e9d.pth`` or timm ``vgg19.tv_in1k``)."""
        if part not in (None, "vgg", "features"):
            raise OptionsError(self.id, "part", part, "None, 'vgg' or 'features'")
        self.net.load_weights(state)
        self._gram_cache.clear()

    def weights_state_dict(self) -> dict[str, torch.Tensor]:
        return self.net.state_dict()

    # -- features -------------------------------------------------------------------------------
    def _prep(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def _layers(self) -> list[str]:
        return list(dict.fromkeys([*self.style_layers, *([] if self.ratio == 0 else [self.content_layer])]))

    def style_grams(self, style: torch.Tensor) -> dict[str, torch.Tensor]:
        """Grams of one style image (1 x 3 x H x W) at the style layers, cached by content."""
        key = (hashlib.sha1(style.detach().cpu().numpy().tobytes()).hexdigest(), tuple(style.shape), str(style.device),
               tuple(self.style_layers), self.net.fingerprint, self.channels_last)
        if key in self._gram_cache:
            self._gram_cache.move_to_end(key)
            return self._gram_cache[key]
        with torch.no_grad():
            feats = self.net(self._prep(style), self.style_layers)
            grams = {n: gram(feats[n]) for n in self.style_layers}
        self._gram_cache[key] = grams
        while len(self._gram_cache) > 8:
            self._gram_cache.popitem(last=False)
        return grams

    def _target_grams(self, styles: Sequence[torch.Tensor], weights: Sequence[float], work_hw: tuple[int, int]) -> dict:
        long = self.style_size or max(work_hw)
        out: dict[str, torch.Tensor] = {}
        for s, w in zip(styles, weights):
            if w == 0:
                continue
            g = self.style_grams(resize_long(s, long))
            for n in self.style_layers:
                out[n] = out[n] + w * g[n] if n in out else w * g[n]
        return out

    # -- optimisation ---------------------------------------------------------------------------
    def _optimise(self, content: torch.Tensor, targets: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict]:
        """Optimise one image (1 x 3 x h x w) towards the content features and style Grams."""
        layers = self._layers()
        content_feat = None
        if self.ratio > 0:
            with torch.no_grad():
                content_feat = self.net(self._prep(content), [self.content_layer])[self.content_layer].detach()
        if self.init == "noise":
            g = torch.Generator().manual_seed(self.seed)
            x = torch.rand(content.shape, generator=g).to(content.device)
        else:
            x = content.clone()
        x = self._prep(x).requires_grad_(True)
        history: list[tuple[float, float]] = []  # (seconds, loss) per evaluation
        t0 = time.perf_counter()

        def loss_fn() -> torch.Tensor:
            feats = self.net(x, layers)
            loss = style_loss({n: gram(feats[n]) for n in self.style_layers}, targets, self.layer_weights)
            if content_feat is not None:
                loss = loss + self.ratio * content_loss(feats[self.content_layer], content_feat)
            return loss

        if self.optimizer == "lbfgs":
            opt = torch.optim.LBFGS([x], lr=1.0, max_iter=self.iterations, max_eval=self.iterations * 5 // 4,
                                    history_size=50, tolerance_grad=0.0, tolerance_change=0.0,
                                    line_search_fn=self.line_search)

            def closure() -> torch.Tensor:
                opt.zero_grad(set_to_none=True)
                loss = loss_fn()
                loss.backward()
                history.append((time.perf_counter() - t0, float(loss.detach())))
                return loss

            opt.step(closure)
            iters = float(opt.state[x].get("n_iter", len(history)))
        else:
            opt = torch.optim.Adam([x], lr=self.lr)
            for _ in range(self.iterations):
                opt.zero_grad(set_to_none=True)
                loss = loss_fn()
                loss.backward()
                history.append((time.perf_counter() - t0, float(loss.detach())))
                opt.step()
                with torch.no_grad():
                    x.clamp_(0, 1)
            iters = float(self.iterations)
        with torch.no_grad():
            x.clamp_(0, 1)  # the result is an image: the final loss is measured on what is returned
            final = float(loss_fn())
        elapsed = time.perf_counter() - t0
        start = history[0][1]
        goal = self.fraction * start
        reached = next((i for i, (_, v) in enumerate(history) if v <= goal), None)
        stats = {
            "iterations": iters, "evaluations": float(len(history)), "loss_start": start, "loss_final": final,
            "loss_ratio": final / start if start > 0 else float("nan"), "time_s": elapsed,
            "s_per_eval": statistics.median(b[0] - a[0] for a, b in zip([(0.0, 0.0), *history], history)),
            "evals_to_fraction": float(reached + 1) if reached is not None else float("nan"),
            "time_to_fraction_s": history[reached][0] if reached is not None else float("nan"),
        }
        return x.detach().clamp(0, 1).contiguous(), stats

    def _run(self, content: torch.Tensor, styles: Sequence[torch.Tensor], weights: Sequence[float]) -> tuple[torch.Tensor, dict]:
        hw = tuple(content.shape[-2:])
        work = resize_long(content, self.size)
        if self.preserve_color:
            grey = luminance(work)
            styles = [match_luminance(luminance(s), grey) for s in styles]
            work_in = grey
        else:
            work_in = work
        targets = self._target_grams(styles, weights, tuple(work.shape[-2:]))
        out, stats = self._optimise(work_in, targets)
        if self.preserve_color:
            out = with_content_colour(out, work)
        return resize_to(out, hw), stats

    def _batch(self, content: torch.Tensor, per_item) -> torch.Tensor:
        # each image is optimised on its own: L-BFGS couples everything it optimises jointly,
        # so a batch must give the same result as single calls
        with torch.inference_mode(False), torch.enable_grad():
            outs, stats = [], []
            for i in range(content.shape[0]):
                y, s = per_item(i, content[i : i + 1].detach().clone())
                outs.append(y)
                stats.append(s)
        self.stats = {k: float(sum(s[k] for s in stats) / len(stats)) for k in stats[0]}
        self.stats["fraction"] = self.fraction
        return torch.cat(outs)

    def _stylize(self, content: torch.Tensor, style: torch.Tensor | None) -> torch.Tensor:
        style = pair_styles(self.id, content, style)
        return self._batch(content, lambda i, c: self._run(c, [style[i : i + 1].detach().clone()], [1.0]))

    def blend(self, content: torch.Tensor, styles: Sequence[torch.Tensor], weights: Sequence[float] | None = None) -> torch.Tensor:
        """Stylize every content image with a weighted blend of several styles' Gram matrices.

        Args:
            content: N x 3 x H x W in [0, 1].
            styles: style images, each 1 x 3 x H_k x W_k (or 3 x H_k x W_k) in [0, 1].
            weights: one non-negative weight per style (default equal); normalised to sum 1.
        """
        from zoo.tasks import check_images

        content = self._in(content)
        w = check_blend(self.id, styles, weights)
        styles = [check_images(s if s.dim() == 4 else s.unsqueeze(0), self.id, "style").to(self.device) for s in styles]
        with torch.inference_mode(False):  # normal tensors, usable by autograd even if given in inference mode
            styles = [s.detach().clone() for s in styles]
        return self._out(self._batch(content, lambda i, c: self._run(c, styles, w)))
