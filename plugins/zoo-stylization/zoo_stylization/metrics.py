"""Style-transfer metrics: how close the output's style is to the style image, how much of the
content survives, and how close the colours are.

* ``style-distance``: the Gatys et al. (CVPR 2016) Gram-matrix style loss between output and style
  image, each layer's error relative to the style's Gram energy (``normalise="style"``, default):
  (1/L) Σ_l ‖G_l(out) − G_l(style)‖²_F / ‖G_l(style)‖²_F with position-normalised Grams.
  ``normalise="none"`` gives Gatys's Σ_l w_l Σ(G−A)²/(4C_l²), where the layers with the largest
  activations (stage1-stage3 of EfficientNet-Lite0) outweigh the rest ~100:1; it ranked a
  decoder that destroyed the image (the first bundled AdaIN) as the best style match.
* ``content-distance``: mean squared difference of the content-layer features of output and
  content image (Gatys's content loss, averaged instead of summed so sizes compare).
* ``color-hist-distance``: mean over R, G, B of the 1-D Wasserstein-1 distance between the
  output's and the style's value histograms (in [0, 1] units).
* ``artfid``: ArtFID (Wright and Ommer, "ArtFID: Quantitative Evaluation of Neural Style
  Transfer", GCPR 2022, arXiv:2207.12280) needs an Inception network fine-tuned on art and
  LPIPS-VGG; neither is available offline, so the metric reports itself unavailable.

The feature network (``effnet-lite0`` offline, or ``vgg19`` when its weights are given) and its
weights hash are part of every fingerprint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Sequence

import torch

from zoo.errors import MetricError, MetricUnavailable
from zoo.metrics import Metric
from zoo_stylization.features import FeatureNet, feature_net, gram


NORMALISATIONS = ("style", "none")


def style_distance(out_feats: dict[str, torch.Tensor], style_feats: dict[str, torch.Tensor],
                   weights: dict[str, float] | None = None, normalise: str = "none") -> torch.Tensor:
    """Per-image Gram distance (N,) between two feature dicts over the same layers.

    ``normalise="none"``: Gatys's Σ_l w_l Σ(G−A)²/(4C_l²). ``"style"``: Σ_l w_l ‖G−A‖²_F / ‖A‖²_F,
    each layer's squared error relative to the style's own Gram energy, so every layer counts
    the same whatever its activation scale (1.0 at a layer = as far as an all-zero Gram).
    """
    if normalise not in NORMALISATIONS:
        raise MetricError(f"style-distance: normalise must be one of {NORMALISATIONS}, got {normalise!r}")
    names = list(out_feats)
    weights = weights or {n: 1.0 / len(names) for n in names}
    total = torch.zeros(next(iter(out_feats.values())).shape[0], dtype=torch.float64)
    for n in names:
        g, a = gram(out_feats[n]).double(), gram(style_feats[n]).double()
        c = g.shape[-1]
        err = (g - a).pow(2).sum((1, 2)).cpu()
        if normalise == "style":
            total += weights[n] * err / a.pow(2).sum((1, 2)).cpu().clamp_min(1e-12)
        else:
            total += weights[n] * err / (4 * c * c)
    return total


def content_distance(out_feat: torch.Tensor, content_feat: torch.Tensor) -> torch.Tensor:
    """Per-image mean squared feature difference (N,)."""
    return (out_feat.double() - content_feat.double()).pow(2).flatten(1).mean(1).cpu()


def histogram_distance(a: torch.Tensor, b: torch.Tensor, bins: int = 64) -> torch.Tensor:
    """Per-image mean over channels of the Wasserstein-1 distance between value histograms (N,).

    With ``bins`` equal-width bins on [0, 1], W1 = Σ |CDF_a − CDF_b| / bins.
    """
    out = torch.zeros(a.shape[0], dtype=torch.float64)
    for i in range(a.shape[0]):
        d = 0.0
        for c in range(3):
            ha = torch.histc(a[i, c].double().cpu(), bins=bins, min=0, max=1)
            hb = torch.histc(b[i, c].double().cpu(), bins=bins, min=0, max=1)
            d += float((ha.cumsum(0) / ha.sum() - hb.cumsum(0) / hb.sum()).abs().sum()) / bins
        out[i] = d / 3
    return out


class _FeatureMetric(Metric):
    higher_is_better = False
    needs_reference = False

    def __init__(self, net: str = "effnet-lite0", weights: str | None = None) -> None:
        self.net_name = net
        self.net: FeatureNet = feature_net(net)
        if net == "vgg19":
            if weights is None:
                raise MetricUnavailable(
                    f"{self.name}: net='vgg19' needs torchvision's VGG-19 weights; pass weights= a local copy of "
                    "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth (or timm/vgg19.tv_in1k)")
            from zoo.weights import cached_sha256, load_state_dict

            self.net.load_weights(load_state_dict(weights))
            self._fp = f"vgg19(sha={cached_sha256(Path(weights))[:12]})"
        else:
            self._fp = self.net.fingerprint
        self.net.eval()
        super().__init__()

    def to(self, device):
        self.net.to(device)
        return super().to(device)

    def _features(self, x: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
        with torch.inference_mode():
            return self.net(x.to(self._device), layers)


class StyleDistance(_FeatureMetric):
    """Gram-matrix distance to the style image at the feature network's style layers. Lower: closer style."""

    name = "style-distance"
    needs: ClassVar[tuple[str, ...]] = ("style",)

    def __init__(self, net: str = "effnet-lite0", layers: Sequence[str] | None = None, weights: str | None = None,
                 normalise: str = "style") -> None:
        super().__init__(net, weights)
        self.layers = self.net.check_layers(layers or self.net.style_layers)
        if normalise not in NORMALISATIONS:
            raise MetricError(f"style-distance: normalise must be one of {NORMALISATIONS}, got {normalise!r}")
        self.normalise = normalise

    def options(self) -> dict[str, Any]:
        return {"features": self._fp, "layers": "+".join(self.layers), "gram": "FFt/HW", "norm": self.normalise}

    def _values(self, output, reference=None, *, style=None, **extras) -> torch.Tensor:
        if style is None:
            raise MetricError(f"{self.name}: needs the style images (style=N x 3 x H x W); the dataset items need extras['style']")
        self._check_one(style, "style")
        return style_distance(self._features(output, self.layers), self._features(style, self.layers),
                              normalise=self.normalise)


class ContentDistance(_FeatureMetric):
    """Feature distance to the content image at the content layer. Lower: more content kept."""

    name = "content-distance"
    needs: ClassVar[tuple[str, ...]] = ("input",)

    def __init__(self, net: str = "effnet-lite0", layer: str | None = None, weights: str | None = None) -> None:
        super().__init__(net, weights)
        self.layer = self.net.check_layers([layer or self.net.content_layer])[0]

    def options(self) -> dict[str, Any]:
        return {"features": self._fp, "layer": self.layer}

    def _values(self, output, reference=None, *, input=None, **extras) -> torch.Tensor:  # noqa: A002 (the harness's key)
        if input is None:
            raise MetricError(f"{self.name}: needs the content images (input=N x 3 x H x W)")
        self._check_one(input, "input")
        if input.shape != output.shape:
            raise MetricError(f"{self.name}: content shape {tuple(input.shape)} differs from output {tuple(output.shape)}")
        return content_distance(self._features(output, [self.layer])[self.layer], self._features(input, [self.layer])[self.layer])


class ColorHistDistance(Metric):
    """Mean per-channel Wasserstein-1 distance between output and style colour histograms. Lower: closer colours."""

    name = "color-hist-distance"
    higher_is_better = False
    needs_reference = False
    needs: ClassVar[tuple[str, ...]] = ("style",)

    def __init__(self, bins: int = 64) -> None:
        if not isinstance(bins, int) or bins < 2:
            raise MetricError(f"color-hist-distance: bins must be an integer >= 2, got {bins!r}")
        self.bins = bins
        super().__init__()

    def options(self) -> dict[str, Any]:
        return {"bins": self.bins, "space": "rgb", "distance": "w1"}

    def _values(self, output, reference=None, *, style=None, **extras) -> torch.Tensor:
        if style is None:
            raise MetricError(f"{self.name}: needs the style images (style=N x 3 x H x W)")
        self._check_one(style, "style")
        if style.shape[0] not in (1, output.shape[0]):
            raise MetricError(f"{self.name}: {style.shape[0]} style images for {output.shape[0]} outputs")
        return histogram_distance(output, style.expand(output.shape[0], -1, -1, -1), self.bins)


def artfid(**options: Any) -> Metric:
    """ArtFID (arXiv:2207.12280): unavailable here, with the reason."""
    raise MetricUnavailable(
        "artfid: ArtFID = (1 + LPIPS-VGG(content, output)) x (1 + FID(style set, outputs)) on an Inception "
        "network fine-tuned on art (the art_fid package's art_inception.pth) and LPIPS' VGG trunk; neither "
        "network is on this machine or shipped with imagezoo, and imagezoo does not compute ArtFID without "
        "them. Use style-distance / content-distance (offline, EfficientNet-Lite0) instead.")

