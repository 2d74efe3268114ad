"""Official-layout networks: golden state_dict layouts recorded from the reference definitions
(junyanz/pytorch-CycleGAN-and-pix2pix models/networks.py), outputs against the reference on
the same seeded weights (golden/outputs.json), and the checkpoint quirks of the published
files: stale instance-norm statistics, DataParallel ``module.`` prefixes, old batch norms,
and the official test script's train-mode inference."""

import json
from pathlib import Path

import pytest
import torch

import zoo
from zoo.errors import OptionsError, WeightsError
from zoo.testing import check_method
from zoo_translation.networks import BatchNorm, NLayerDiscriminator, ResnetGenerator, UnetGenerator, build_generator
from zoo_translation.translator import GANTranslator

GOLDEN = Path(__file__).parent / "golden"
REFERENCE = json.loads((GOLDEN / "outputs.json").read_text())["outputs"]

LAYOUTS = {
    "unet_256": lambda: build_generator("unet_256"),
    "unet_128": lambda: build_generator("unet_128"),
    "resnet_9blocks": lambda: build_generator("resnet_9blocks"),
    "resnet_6blocks": lambda: build_generator("resnet_6blocks"),
    "patchgan-pix2pix": lambda: NLayerDiscriminator(6, 64, 3, norm="batch"),
    "patchgan-cyclegan": lambda: NLayerDiscriminator(3, 64, 3, norm="instance"),
    "resnet_9blocks-batch": lambda: ResnetGenerator(ngf=64, n_blocks=9, norm="batch"),  # upstream --norm batch
}


def layout(module: torch.nn.Module) -> list[list]:
    return [[k, list(v.shape)] for k, v in module.state_dict().items()]


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_state_dict_layout_matches_official_key_for_key(name):
    golden = json.loads((GOLDEN / f"{name}.json").read_text())
    net = LAYOUTS[name]()
    assert layout(net) == golden["keys"]  # same names, same shapes, same order
    assert sum(p.numel() for p in net.parameters()) == golden["params"]


def seeded(net: torch.nn.Module) -> dict:
    """Deterministic weights in state_dict order (the same recipe produced golden/outputs.json)."""
    g = torch.Generator().manual_seed(0)
    out = {}
    for k, v in net.state_dict().items():
        if not v.is_floating_point():
            out[k] = v.clone()
        elif k.endswith("running_var"):
            out[k] = torch.rand(v.shape, generator=g) + 0.5
        elif k.endswith("running_mean"):
            out[k] = torch.randn(v.shape, generator=g) * 0.1
        elif k.endswith("weight") and v.dim() == 1:
            out[k] = 1 + torch.randn(v.shape, generator=g) * 0.1
        else:
            out[k] = torch.randn(v.shape, generator=g) * (1.0 / max(1, v[0].numel())) ** 0.5
    return out


def probe(n: int, c: int, s: int) -> torch.Tensor:
    return torch.rand(n, c, s, s, generator=torch.Generator().manual_seed(1)) * 2 - 1


def check_against_reference(name: str, y: torch.Tensor, atol: float = 2e-5) -> None:
    ref = REFERENCE[name]
    assert list(y.shape) == ref["shape"]
    got = y.flatten()[:: max(1, y.numel() // 24)][:24]
    assert torch.allclose(got, torch.tensor(ref["sample"]), atol=atol, rtol=1e-4), name
    assert abs(y.mean().item() - ref["mean"]) < atol and abs(y.std().item() - ref["std"]) < 1e-4


SMALL = {
    "unet-128-eval": (lambda: UnetGenerator(num_downs=7, ngf=4, dropout=True), (2, 3, 128)),
    "unet-5-eval": (lambda: UnetGenerator(num_downs=5, ngf=8, dropout=True), (2, 3, 32)),
    "resnet-2blocks": (lambda: ResnetGenerator(ngf=8, n_blocks=2), (2, 3, 36)),
    "resnet-6blocks-ngf4": (lambda: ResnetGenerator(ngf=4, n_blocks=6), (1, 3, 40)),
    "resnet-2blocks-bn": (lambda: ResnetGenerator(ngf=8, n_blocks=2, norm="batch"), (2, 3, 36)),
    "unet-colorization": (lambda: UnetGenerator(1, 2, num_downs=5, ngf=8, dropout=True), (2, 1, 32)),
    "patchgan-bn": (lambda: NLayerDiscriminator(6, 8, 3, norm="batch"), (2, 6, 64)),
    "patchgan-in": (lambda: NLayerDiscriminator(3, 8, 3, norm="instance"), (2, 3, 64)),
}


@pytest.mark.parametrize("name", sorted(SMALL))
def test_outputs_match_reference_implementation_on_the_same_weights(name):
    make, shape = SMALL[name]
    net = make()
    net.load_state_dict(seeded(net))
    with torch.no_grad():
        check_against_reference(name, net.eval()(probe(*shape)))


def small_unet_translator(norm_mode: str, dropout: bool = True) -> GANTranslator:
    t = GANTranslator(net="unet_128", ngf=4, norm_mode=norm_mode, dropout=dropout)
    t.load_weights(seeded(t.generators["AtoB"]))
    return t.eval()


def test_translator_maps_the_unit_range_and_matches_the_reference_in_eval_mode():
    t = small_unet_translator("eval")
    y = t.translate((probe(2, 3, 128) + 1) / 2)
    check_against_reference("unet-128-eval", y * 2 - 1, atol=5e-5)


def test_train_norm_mode_is_the_official_test_script_per_image_batch_statistics():
    # the reference: upstream net in .train() (batch norm on the batch's statistics), batch size 1
    t = small_unet_translator("train", dropout=False)
    y = t.translate((probe(2, 3, 128) + 1) / 2)
    check_against_reference("unet-128-train-nodropout", y * 2 - 1, atol=5e-5)
    # the running statistics are left alone
    bn = next(m for m in t.modules() if isinstance(m, BatchNorm))
    assert torch.equal(bn.running_mean, seeded(t.generators["AtoB"])["model.model.1.model.2.running_mean"])


def test_train_norm_mode_keeps_dropout_on_reproducibly_and_independent_of_batching():
    def make(dropout=True, seed=0, mode="train"):
        t = GANTranslator(net="unet_128", num_downs=6, ngf=4, norm_mode=mode, dropout=dropout, dropout_seed=seed)
        t.load_weights(seeded(GANTranslator(net="unet_128", num_downs=6, ngf=4).generators["AtoB"]))
        return t.eval()

    x = torch.rand(3, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    on = make()
    a = on.translate(x)
    assert (a - make(dropout=False).translate(x)).abs().max() > 1e-3  # dropout is active
    assert torch.equal(a, on.translate(x))  # same seed, same masks
    assert torch.allclose(a[1:2], on.translate(x[1:2]), atol=1e-6)  # alone or in a batch
    assert (make(seed=1).translate(x) - a).abs().max() > 1e-4
    assert (make(mode="eval").translate(x) - a).abs().max() > 1e-3


def _with_stale_instance_norm_keys(state: dict, net: torch.nn.Module) -> dict:
    out = dict(state)
    for name, m in net.named_modules():
        if isinstance(m, torch.nn.InstanceNorm2d):
            out[f"{name}.running_mean"] = torch.zeros(m.num_features)
            out[f"{name}.running_var"] = torch.ones(m.num_features)
            out[f"{name}.num_batches_tracked"] = torch.tensor(0)
    return out


def test_pre_0_4_checkpoint_layout_has_exactly_the_stale_instance_norm_keys():
    """The 2018 upstream (InstanceNorm tracking statistics) wrote these keys; we drop exactly them."""
    modern = {k for k, _ in json.loads((GOLDEN / "resnet_9blocks.json").read_text())["keys"]}
    old = {k for k, _ in json.loads((GOLDEN / "resnet_9blocks-2018.json").read_text())["keys"]}
    net = build_generator("resnet_9blocks")
    stale = set(_with_stale_instance_norm_keys(net.state_dict(), net)) - modern
    assert old - modern == stale and len(stale) == 3 * 23  # 5 + 2 per block x 9 instance norms


@pytest.mark.parametrize("quirk", ["stale-instance-norm", "module-prefix", "both"])
def test_official_checkpoint_quirks_load_and_reproduce_reference_outputs(quirk, tmp_path):
    net = ResnetGenerator(ngf=8, n_blocks=2)
    state = seeded(net)
    if quirk in ("stale-instance-norm", "both"):
        state = _with_stale_instance_norm_keys(state, net)
    if quirk in ("module-prefix", "both"):
        state = {f"module.{k}": v for k, v in state.items()}
    torch.save(state, tmp_path / "latest_net_G.pth")
    m = zoo.load("cyclegan-style-monet.monet2photo", weights=str(tmp_path / "latest_net_G.pth"), ngf=8, n_blocks=2)
    y = m.translate((probe(2, 3, 36) + 1) / 2)
    check_against_reference("resnet-2blocks", y * 2 - 1, atol=5e-5)


def test_full_size_2018_checkpoint_loads_through_the_catalog(tmp_path):
    golden = json.loads((GOLDEN / "resnet_9blocks-2018.json").read_text())["keys"]
    state = {k: (torch.tensor(0) if k.endswith("num_batches_tracked") else torch.full(shape, 0.01)) for k, shape in golden}
    torch.save(state, tmp_path / "horse2zebra.pth")
    m = zoo.load("cyclegan-horse-zebra.horse2zebra", weights={"AtoB": str(tmp_path / "horse2zebra.pth")}, direction="AtoB")
    assert m.loaded == {"AtoB"}
    assert torch.equal(m.generators["AtoB"].state_dict()["model.1.weight"], torch.full((64, 3, 7, 7), 0.01))


@pytest.mark.parametrize("bad, match", [
    ("unexpected", "Unexpected key.*model.99.weight"), ("missing", "Missing key.*model.1.bias"), ("running-stats-on-a-conv", "model.1.running_mean"),
    ("wrong-shape", "size mismatch"),
])
def test_loading_is_strict_about_everything_but_the_known_quirks(bad, match):
    t = GANTranslator(net="resnet_9blocks", ngf=8, n_blocks=2)
    state = seeded(t.generators["AtoB"])
    if bad == "unexpected":
        state["model.99.weight"] = torch.zeros(1)
    elif bad == "missing":
        state.pop("model.1.bias")
    elif bad == "running-stats-on-a-conv":
        state["model.1.running_mean"] = torch.zeros(8)
    else:
        state["model.1.weight"] = torch.zeros(8, 3, 3, 3)
    with pytest.raises(WeightsError, match=match):
        t.load_weights(state)


def test_batch_norm_checkpoints_without_num_batches_tracked_load():
    """pix2pix files from before PyTorch 0.4.1 lack num_batches_tracked (upstream drops _metadata)."""
    t = GANTranslator(net="unet_128", ngf=4)
    state = {k: v for k, v in seeded(t.generators["AtoB"]).items() if not k.endswith("num_batches_tracked")}
    t.load_weights(state)
    check_against_reference("unet-128-eval", t.eval().translate((probe(2, 3, 128) + 1) / 2) * 2 - 1, atol=5e-5)


def test_two_way_parts_load_separately_and_round_trip_through_weights_state_dict():
    t = GANTranslator(net="resnet_9blocks", ngf=8, n_blocks=2, two_way=True, direction="BtoA")
    ab, ba = seeded(t.generators["AtoB"]), {k: v * 0.5 for k, v in seeded(t.generators["BtoA"]).items()}
    t.load_weights(ba)  # no part: the direction setting's generator
    assert t.loaded == {"BtoA"}
    x = torch.rand(1, 3, 20, 20)
    with pytest.raises(WeightsError, match="no weights loaded for direction 'AtoB'"):
        t.translate(x, "AtoB")
    t.load_weights(ab, part="AtoB")
    assert t.directions == ("BtoA", "AtoB")
    assert not torch.allclose(t.translate(x), t.translate(x, "AtoB"))
    both = GANTranslator(net="resnet_9blocks", ngf=8, n_blocks=2, two_way=True)
    both.load_weights(t.weights_state_dict())  # AtoB.* / BtoA.* in one file
    assert both.loaded == {"AtoB", "BtoA"}
    for d in ("AtoB", "BtoA"):
        assert torch.equal(both.translate(x, d), t.translate(x, d))
    with pytest.raises(WeightsError, match="part 'BtoA' does not exist"):
        GANTranslator(net="resnet_9blocks", ngf=8, n_blocks=2).load_weights(ab, part="BtoA")


@pytest.mark.parametrize("size", [(37, 50), (5, 9), (128, 128)])
def test_any_image_size_is_padded_to_the_network_stride_and_cropped_back(size):
    t = GANTranslator(net="unet_128", ngf=4)
    t.load_weights(seeded(t.generators["AtoB"]))
    y = t.eval().translate(torch.rand(1, 3, *size))
    assert y.shape == (1, 3, *size)


def test_resnet_translator_equals_the_raw_network_when_no_padding_is_needed():
    t = GANTranslator(net="resnet_9blocks", ngf=8, n_blocks=2)
    t.load_weights(seeded(t.generators["AtoB"]))
    x = torch.rand(2, 3, 36, 36)
    with torch.no_grad():
        raw = (t.generators["AtoB"](x * 2 - 1) + 1) / 2
    assert torch.allclose(t.translate(x), raw, atol=1e-6)


@pytest.mark.parametrize("kw, match", [
    ({"direction": "BtoA"}, r"direction='BtoA' is not allowed; allowed: 'AtoB'$"),
    ({"two_way": True, "direction": "sideways"}, "direction='sideways' is not allowed; allowed: 'AtoB', 'BtoA'"),
    ({"norm_mode": "test"}, r"norm_mode='test' is not allowed; allowed: 'eval', 'train'"),
    ({"net": "unet_512"}, "unknown generator 'unet_512'"),
])
def test_bad_settings_name_the_value_and_the_choices(kw, match):
    with pytest.raises(OptionsError, match=match):
        GANTranslator(**kw)


@pytest.mark.parametrize("setting", [{"norm_mode": "eval"}, {"norm_mode": "train"}])
def test_conformance_kit_pix2pix(setting):
    t = GANTranslator(net="unet_128", num_downs=6, ngf=4, **setting)  # 48 px padded to 64
    t.load_weights(seeded(t.generators["AtoB"]))
    check_method(t.eval())


def test_conformance_kit_two_way_cyclegan_both_directions():
    for d in ("AtoB", "BtoA"):
        t = GANTranslator(net="resnet_6blocks", ngf=4, n_blocks=2, two_way=True, direction=d)
        t.load_weights({f"{p}.{k}": v for p in ("AtoB", "BtoA") for k, v in seeded(t.generators[p]).items()})
        check_method(t.eval())


def test_colorization_variant_keeps_the_input_lightness():
    """upstream --model colorization: L / 50 - 1 in, ab / 110 out, the input's L kept."""
    from zoo.images import rgb_to_lab

    t = GANTranslator(net="unet_128", num_downs=5, ngf=8, colorization=True)
    state = seeded(t.generators["AtoB"])
    state["model.model.3.weight"] *= 0.1  # small chroma, mostly inside the sRGB gamut
    state["model.model.3.bias"] *= 0.01
    t.load_weights(state)
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(4)) * 0.6 + 0.2
    y = t.eval().translate(x)
    lab_x, lab_y = rgb_to_lab(x), rgb_to_lab(y)
    with torch.no_grad():
        ab = t.generators["AtoB"](lab_x[:, :1] / 50 - 1) * 110
    inside = (y > 0.002).all(1) & (y < 0.998).all(1)  # not clipped to the sRGB gamut
    assert inside.float().mean() > 0.3
    assert (lab_y[:, 0] - lab_x[:, 0]).abs()[inside].max() < 0.05
    assert torch.allclose(lab_y[:, 1:].permute(1, 0, 2, 3)[:, inside], ab.permute(1, 0, 2, 3)[:, inside], atol=0.05)
