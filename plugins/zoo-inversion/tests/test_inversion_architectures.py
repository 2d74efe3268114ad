"""StyleGAN2 in rosinality/stylegan2-pytorch's layout: key-for-key state_dict layouts (golden files
recorded from the reference ``model.py``), outputs equal to the reference definition's on the
same seeded weights, latents and noise, and rosinality checkpoints loading through ``zoo.load``."""

import json
from pathlib import Path

import pytest
import torch

import zoo
from zoo.catalog import get_card
from zoo_inversion.inverters import unwrap_rosinality
from zoo_inversion.stylegan2 import StyleGAN2Generator, upfirdn2d

GOLDEN = Path(__file__).parent / "golden"
REFERENCE = json.loads((GOLDEN / "reference-outputs.json").read_text())


def layout(module: torch.nn.Module) -> list[list]:
    return [[k, list(v.shape)] for k, v in module.state_dict().items()]


def from_config(cfg: dict) -> StyleGAN2Generator:
    cfg = dict(cfg)
    if "channels" in cfg:
        cfg["channels"] = {int(k): v for k, v in cfg["channels"].items()}
    return StyleGAN2Generator(**cfg)


@pytest.mark.parametrize("name", ["config-f-1024", "config-f-512", "config-f-256", "official-16", "small-32"])
def test_state_dict_layout_matches_rosinality_key_for_key(name):
    golden = json.loads((GOLDEN / f"stylegan2-{name}.json").read_text())
    with torch.device("meta"):  # the 1024 config has 30M parameters: no need to allocate them
        g = from_config(golden["config"])
    assert layout(g) == golden["keys"]  # same names, same shapes, same order


def test_config_f_1024_has_the_published_structure():
    keys = dict((k, v) for k, v in json.loads((GOLDEN / "stylegan2-config-f-1024.json").read_text())["keys"])
    assert keys["input.input"] == [1, 512, 4, 4]
    assert keys["convs.15.conv.weight"] == [1, 32, 32, 3, 3]  # 1024 px: 16 * channel_multiplier 2
    assert "convs.16.conv.weight" not in keys
    assert keys["noises.noise_16"] == [1, 1, 1024, 1024]
    assert "style.8.weight" in keys and "style.9.weight" not in keys
    assert keys["to_rgbs.7.upsample.kernel"] == [4, 4]


def seeded(g: StyleGAN2Generator) -> dict:
    gen = torch.Generator().manual_seed(0)
    return {k: (v.clone() if k.endswith("kernel") else torch.randn(v.shape, generator=gen) * 0.5)
            for k, v in g.state_dict().items()}


@pytest.mark.parametrize("name", ["small-32", "official-16"])
def test_outputs_equal_the_reference_definition(name):
    g = from_config(json.loads((GOLDEN / f"stylegan2-{name}.json").read_text())["config"]).eval()
    g.load_state_dict(seeded(g))
    gen = torch.Generator().manual_seed(1)
    z = torch.randn(2, g.style_dim, generator=gen)
    wplus = torch.randn(2, g.n_latent, g.style_dim, generator=gen)
    noise = [torch.randn(2, 1, 2 ** ((i + 5) // 2), 2 ** ((i + 5) // 2), generator=gen) for i in range(g.num_layers)]
    with torch.no_grad():
        outs = {"z_const_noise": g(z, noise="const"), "wplus_given_noise": g.synthesis(wplus, noise)}
    for key, y in outs.items():
        ref = REFERENCE[name][key]
        assert list(y.shape) == ref["shape"]
        got, want = y[..., ::2, ::2].flatten(), torch.tensor(ref["sample"])
        assert torch.allclose(got, want, atol=2e-5, rtol=1e-4), (key, (got - want).abs().max())


def test_upfirdn2d_upsample_keeps_constant_images_constant_inside():
    k = torch.tensor([1.0, 3, 3, 1])
    k2 = (k[:, None] * k[None]) / 64 * 4
    y = upfirdn2d(torch.ones(1, 2, 6, 6), k2, up=2, pad=(2, 1))
    assert y.shape == (1, 2, 12, 12)
    assert torch.allclose(y[..., 2:-2, 2:-2], torch.ones(1, 2, 8, 8))


def test_rosinality_checkpoint_with_latent_avg_and_noise_loads_via_zoo_load(tmp_path):
    method = zoo.load("sg2-optim.lfw32")  # builds the offline config; weights replaced below
    g = StyleGAN2Generator(32, 64, 4, channels={4: 128, 8: 128, 16: 64, 32: 32})
    avg = torch.randn(64)
    path = tmp_path / "stylegan2-test.pt"
    torch.save({"g_ema": g.state_dict(), "latent_avg": avg}, path)  # rosinality's convert_weight.py layout
    loaded = zoo.load("sg2-optim.lfw32", weights={"generator": str(path)})
    assert torch.equal(loaded.latent_avg, avg)
    for k, v in g.state_dict().items():  # noise buffers included
        assert torch.equal(loaded.generator.state_dict()[k], v), k
    assert any(k.startswith("noises.noise_") for k in g.state_dict())
    assert not torch.equal(method.generator.input.input, loaded.generator.input.input)


def test_generator_weights_with_a_missing_key_are_refused():
    g = StyleGAN2Generator(32, 64, 4, channels={4: 128, 8: 128, 16: 64, 32: 32})
    state = g.state_dict()
    state.pop("noises.noise_3")
    method = zoo.load("sg2-optim.lfw32")
    with pytest.raises(RuntimeError, match="noise_3"):
        method.load_weights({"g_ema": state, "latent_avg": torch.zeros(64)}, part="generator")


def test_unwrap_accepts_flat_and_wrapped_checkpoints():
    flat = {"style.1.weight": torch.zeros(2), "latent_avg": torch.ones(3)}
    assert unwrap_rosinality(flat)[0].keys() == {"style.1.weight"}
    wrapped = {"g_ema": {"a": torch.zeros(1)}, "latent_avg": torch.ones(3), "g": {}, "d": {}}
    g_state, avg = unwrap_rosinality(wrapped)
    assert list(g_state) == ["a"] and torch.equal(avg, torch.ones(3))


def test_published_entries_name_official_sources_and_a_non_commercial_licence():
    for name, size in {"ffhq": 1024, "cat": 256, "church": 256, "horse": 256, "car": 512}.items():
        card = get_card(f"sg2-optim.{name}-{size}")
        assert card.weights[0].source == f"https://nvlabs-fi-cdn.nvidia.com/stylegan2/networks/stylegan2-{name}-config-f.pkl"
        assert "non-commercial" in card.license
        assert card.params["size"] == size and card.params["channel_multiplier"] == 2


def test_dcgan_layout_matches_pytorch_examples_key_for_key():
    from zoo_inversion.dcgan import DCGANGenerator

    golden = json.loads((GOLDEN / "dcgan-netG-64.json").read_text())
    assert layout(DCGANGenerator(**golden["config"])) == golden["keys"]


def dcgan_seeded():
    from zoo_inversion.dcgan import DCGANGenerator

    g = DCGANGenerator().eval()
    gen = torch.Generator().manual_seed(0)
    state = {}
    for k, v in g.state_dict().items():
        if k.endswith("num_batches_tracked"):
            state[k] = v
        elif k.endswith("running_var") or (k.endswith("weight") and v.dim() == 1):
            state[k] = torch.rand(v.shape, generator=gen) + 0.5
        else:
            state[k] = torch.randn(v.shape, generator=gen) * 0.1
    g.load_state_dict(state)
    return g


def test_dcgan_output_equals_the_reference_definition():
    g = dcgan_seeded()
    z = torch.randn(2, 100, 1, 1, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y = g(z)
    ref = REFERENCE["dcgan-64"]
    assert list(y.shape) == ref["shape"]
    assert torch.allclose(y[..., ::8, ::8].flatten(), torch.tensor(ref["sample"]), atol=2e-5, rtol=1e-4)


def test_dcgan_checkpoint_loads_and_inverts_in_z(tmp_path):
    g = dcgan_seeded()
    path = tmp_path / "netG_epoch_24.pth"
    torch.save(g.state_dict(), path)
    m = zoo.load("dcgan-optim.examples", weights={"generator": str(path)}, steps=30, perceptual=0.0, lr=0.05)
    with torch.no_grad():
        x = ((g.eval()(torch.randn(1, 100, generator=torch.Generator().manual_seed(2))) + 1) / 2).clamp(0, 1)
    before = float(-10 * torch.log10((m.generate(zoo.tasks.Latent("z", torch.zeros(1, 100))) - x).pow(2).mean()))
    after = float(-10 * torch.log10((m.generate(m.invert(x)) - x).pow(2).mean()))
    assert after > before + 1.0, (before, after)
    with pytest.raises(Exception, match="space"):
        zoo.load("dcgan-optim.examples", weights={"generator": str(path)}, space="w")
