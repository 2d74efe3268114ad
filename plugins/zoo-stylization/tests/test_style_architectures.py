"""Official layouts: key-for-key state_dict layouts against golden files recorded from the reference
definitions (torchvision's vgg19(), pytorch/examples' TransformerNet, naoto0804/pytorch-AdaIN's
vgg/decoder), outputs against the references' outputs on the same seeded weights, and the
loading quirks (stale InstanceNorm statistics, the 53-module VGG file, timm's VGG key names)."""

import json
from pathlib import Path

import pytest
import torch

import zoo
from zoo.errors import ZooError
from zoo.testing import check_method
from zoo_stylization.adain import AdaIN, adain
from zoo_stylization.features import VGG19Features
from zoo_stylization.transformer import TransformerNet

GOLDEN = Path(__file__).parent / "golden"
REFERENCE = json.loads((GOLDEN / "outputs.json").read_text())


def golden(name: str) -> dict:
    return json.loads((GOLDEN / f"{name}.json").read_text())


def layout(module: torch.nn.Module) -> list[list]:
    return [[k, list(v.shape)] for k, v in module.state_dict().items()]


def seeded(keys: list, scale: float = 0.1) -> dict:
    """The recording script's weights: randn(shape) * scale in key order, seed 0."""
    g = torch.Generator().manual_seed(0)
    return {k: torch.randn(shape, generator=g) * scale for k, shape in keys}


def close(got: torch.Tensor, ref: dict, atol: float = 1e-4) -> None:
    want = torch.tensor(ref["sample"])
    assert torch.allclose(got.flatten(), want, atol=atol, rtol=1e-4), (got.flatten() - want).abs().max()


# -- VGG-19 --------------------------------------------------------------------------------------
def test_vgg19_features_layout_and_layer_indices_match_torchvision():
    g = golden("vgg19-features")
    net = VGG19Features()
    assert layout(net) == g["keys"]
    assert net.layers == g["layers"]
    assert list(net.style_layers) == g["gatys"]["style"] and net.content_layer == g["gatys"]["content"]


def _vgg_file(flavour: str) -> dict:
    state = seeded(golden("vgg19-features")["keys"], 0.02)
    if flavour == "torchvision":
        state.update({"classifier.0.weight": torch.zeros(2, 2), "classifier.6.bias": torch.zeros(2)})
    elif flavour == "timm":
        state.update({"pre_logits.fc1.weight": torch.zeros(2, 2), "head.fc.bias": torch.zeros(2)})
    return state


@pytest.mark.parametrize("flavour", ["torchvision", "timm", "features-only"])
def test_vgg19_loads_torchvision_and_timm_files(flavour):
    net = VGG19Features()
    state = _vgg_file(flavour)
    net.load_weights(state)
    assert all(torch.equal(net.state_dict()[k], state[k]) for k in net.state_dict())


def test_vgg19_rejects_a_file_with_missing_feature_keys():
    state = _vgg_file("torchvision")
    del state["features.28.weight"]
    with pytest.raises(RuntimeError, match="features.28.weight"):
        VGG19Features().load_weights(state)


def test_vgg19_matches_torchvision_forward_and_runs_only_to_the_deepest_layer():
    from torchvision.models import vgg19

    ref = vgg19().features.eval()
    net = VGG19Features().eval()
    ref.load_state_dict({k.removeprefix("features."): v for k, v in _vgg_file("features-only").items()})
    net.load_weights(_vgg_file("features-only"))
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    xn = (x - net.mean) / net.std
    calls = []
    hooks = [m.register_forward_hook(lambda m, i, o, k=k: calls.append(k)) for k, m in enumerate(net.features)]
    with torch.no_grad():
        out = net(x, ["relu1_1", "relu3_1"])
        want = ref[:12](xn)
    assert torch.allclose(out["relu3_1"], want, atol=1e-5)
    assert max(calls) == net.layers["relu3_1"]  # nothing after relu3_1 ran
    for h in hooks:
        h.remove()


def test_vgg19_average_pooling_swaps_only_the_pools():
    net = VGG19Features(pool="avg")
    pools = [type(net.features[i]).__name__ for n, i in net.layers.items() if n.startswith("pool")]
    assert pools == ["AvgPool2d"] * 5
    assert layout(net) == golden("vgg19-features")["keys"]
    with pytest.raises(ZooError, match="pool"):
        VGG19Features(pool="min")


# -- fast neural style ---------------------------------------------------------------------------
def test_transformernet_layout_matches_pytorch_examples():
    assert layout(TransformerNet()) == golden("transformernet")["keys"]


def test_transformernet_matches_reference_output_on_the_same_weights():
    net = TransformerNet()
    net.load_weights(seeded(golden("transformernet")["keys"]))
    x = torch.rand(1, 3, 20, 24, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y = net.eval().net(x * 255)
    assert list(y.shape) == REFERENCE["transformernet"]["shape"]
    close(y[..., ::4, ::4], REFERENCE["transformernet"], atol=1e-3)
    with torch.no_grad():  # the [0, 1] wrapper is the same network scaled by 255
        assert torch.allclose(net(x), y / 255, atol=1e-6)


def _stale_checkpoint(tmp_path) -> tuple[Path, dict]:
    """A pytorch/examples saved model as old PyTorch wrote it: with InstanceNorm running stats."""
    state = seeded(golden("transformernet")["keys"])
    for k in list(state):
        if k.rsplit(".", 2)[-2].startswith("in") and k.endswith(".weight"):
            base = k.rsplit(".", 1)[0]
            state[f"{base}.running_mean"] = torch.zeros_like(state[k])
            state[f"{base}.running_var"] = torch.ones_like(state[k])
    path = tmp_path / "candy.pth"
    torch.save(state, path)
    return path, state


def test_official_saved_model_with_stale_instance_norm_stats_loads_through_the_catalog(tmp_path):
    path, state = _stale_checkpoint(tmp_path)
    assert any(k.endswith("running_mean") for k in state) and any(k.startswith("res3.in2.running_var") for k in state)
    m = zoo.load("fast-style-candy.coco", weights=str(path))
    x = torch.rand(1, 3, 20, 24, generator=torch.Generator().manual_seed(1))
    y = m.stylize(x)
    ref = torch.tensor(REFERENCE["transformernet"]["sample"])
    assert torch.allclose(y[..., ::4, ::4].flatten(), (ref / 255).clamp(0, 1), atol=1e-5)


def test_fast_style_conformance(tmp_path):
    path, _ = _stale_checkpoint(tmp_path)
    check_method("fast-style-candy.coco", weights=str(path), size=36)


def test_fast_style_catalog_entries_name_the_official_source():
    for name in ("candy", "mosaic", "rain_princess", "udnie"):
        card = zoo.catalog.get_card(f"fast-style-{name}.coco")
        assert card.weights[0].source.startswith("https://www.dropbox.com/s/lrvwfehqdcxoza8/saved_models.zip")
        assert f"saved_models/{name}.pth" in card.description


# -- AdaIN ---------------------------------------------------------------------------------------
def test_adain_layouts_match_the_reference():
    m = AdaIN()
    enc_keys = golden("adain-vgg")["keys"]
    assert layout(m.encoder) == enc_keys[: len(layout(m.encoder))]
    assert layout(m.encoder)[-1][0] == "29.bias"  # conv4_1, the last conv before relu4_1 (index 30)
    assert layout(m.decoder) == golden("adain-decoder")["keys"]


def official_adain() -> AdaIN:
    m = AdaIN()
    m.load_weights(seeded(golden("adain-vgg")["keys"], 0.05), part="encoder")  # all 53 modules' keys
    m.load_weights(seeded(golden("adain-decoder")["keys"], 0.05), part="decoder")
    m.id = "adain-test"
    return m.eval()


def test_adain_matches_reference_encoder_intermediates_and_decoder():
    m = official_adain()
    c = torch.rand(1, 3, 32, 40, generator=torch.Generator().manual_seed(2))
    s = torch.rand(1, 3, 48, 32, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        fc, fs = m.encode(c), m.encode(s)
        close(fc[:, ::64], REFERENCE["adain-encoder"])
        sums = [float(f.double().sum()) for f in m.encode_with_intermediate(c)]
        assert sums == pytest.approx([r["sum"] for r in REFERENCE["adain-intermediate"]], rel=1e-5)
        close(m.decode(adain(fc, fs))[..., ::4, ::4], REFERENCE["adain-stylized"])
        close(m.decode(0.5 * adain(fc, fs) + 0.5 * fc)[..., ::4, ::4], REFERENCE["adain-alpha0.5"])
    y = m.stylize(c, s)  # public call: same decoder output, clamped to [0, 1]
    want = torch.tensor(REFERENCE["adain-stylized"]["sample"]).clamp(0, 1)
    assert torch.allclose(y[..., ::4, ::4].flatten(), want, atol=1e-4)


def test_adain_parts_are_told_apart_by_their_keys_and_extra_encoder_keys_are_checked():
    a, b = AdaIN(), official_adain()
    a.load_weights(seeded(golden("adain-vgg")["keys"], 0.05))  # no part: 0.weight 3x3x1x1 -> encoder
    a.load_weights(seeded(golden("adain-decoder")["keys"], 0.05))
    assert all(torch.equal(a.state_dict()[k], v) for k, v in b.state_dict().items())
    bad = seeded(golden("adain-vgg")["keys"], 0.05)
    bad["60.weight"] = torch.zeros(1)
    with pytest.raises(ZooError, match="60.weight"):
        AdaIN().load_weights(bad, part="encoder")
    with pytest.raises(ZooError, match="part"):
        AdaIN().load_weights(bad, part="vgg")


def test_adain_catalog_entry_has_encoder_and_decoder_parts():
    card = zoo.catalog.get_card("adain-vgg.coco-wikiart")
    sources = [r.source for r in card.weights]
    assert sources[0].endswith("/vgg_normalised.pth") and sources[1].endswith("/decoder.pth")
    assert card.parts == ["encoder", "decoder"]


def test_effnet_lite0_with_folded_batchnorm_computes_the_same_features():
    from zoo_stylization.features import EffNetLite0Features

    plain, fused = EffNetLite0Features(fuse_bn=False), EffNetLite0Features()
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fused.modules())
    x = torch.rand(1, 3, 64, 48, generator=torch.Generator().manual_seed(0))
    names = list(plain.layers)
    with torch.no_grad():
        a, b = plain(x, names), fused(x, names)
    for n in names:
        assert torch.allclose(a[n], b[n], atol=1e-4, rtol=1e-4), n
