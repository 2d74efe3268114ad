"""StyleGAN v1 in PULSE's layout (``pulse-sg1.ffhq-1024``): the key layout recorded from PULSE's
``stylegan.py``, outputs equal to that code's on seeded weights, latents and noise (recorded in a
scratch folder: ``tests/golden/stylegan1-reference-outputs.json``), PULSE's Gaussian fit, a
two-part checkpoint in PULSE's layout through ``zoo.load``, and the offline default (no weights
here: unavailable, with the manual steps)."""

import json
from pathlib import Path

import pytest
import torch

import zoo
from zoo.catalog import get_card
from zoo.errors import WeightsError
from zoo.licences import is_non_commercial
from zoo.weights import availability
from zoo_inversion.stylegan1 import PulseStyleGAN1, StyleGAN1Mapping, StyleGAN1Synthesis

torch.set_num_threads(1)

GOLDEN = Path(__file__).parent / "golden"
LAYOUT = json.loads((GOLDEN / "stylegan1-pulse-1024.json").read_text())
REFERENCE = json.loads((GOLDEN / "stylegan1-reference-outputs.json").read_text())
TINY = {"resolution": 32, "dlatent_size": 32, "fmap_base": 64, "fmap_max": 32}


def layout(module: torch.nn.Module) -> list[list]:
    return [[k, list(v.shape)] for k, v in module.state_dict().items()]


def test_layout_matches_pulse_key_for_key():
    with torch.device("meta"):  # 26M parameters at 1024: no need to allocate them
        synthesis, mapping = StyleGAN1Synthesis(**LAYOUT["config"]), StyleGAN1Mapping(512)
    assert layout(synthesis) == LAYOUT["synthesis"]  # same names, shapes and order
    assert layout(mapping) == LAYOUT["mapping"]
    keys = {k: tuple(v) for k, v in LAYOUT["synthesis"]}
    assert keys["blocks.4x4.const"] == (1, 512, 4, 4) and keys["torgb.weight"] == (3, 16, 1, 1)
    assert keys["blocks.1024x1024.conv0_up.intermediate.kernel"] == (1, 1, 3, 3)
    assert "blocks.2048x2048.conv1.weight" not in keys


def test_blur_kernel_is_the_normalised_121_filter():
    k = StyleGAN1Synthesis(**TINY).state_dict()["blocks.8x8.conv0_up.intermediate.kernel"]
    assert torch.equal(k.flatten(), torch.tensor([1.0, 2, 1, 2, 4, 2, 1, 2, 1]) / 16)


def seeded(module: torch.nn.Module, gen: torch.Generator) -> dict:
    return {k: (v.clone() if k.endswith("kernel") else torch.randn(v.shape, generator=gen) * 0.5)
            for k, v in module.state_dict().items()}


@pytest.mark.parametrize("name", ["synthesis-32", "synthesis-128"])  # 128: the fused upsampling convolution
def test_outputs_equal_pulse_stylegan(name):
    ref = REFERENCE[name]
    g = StyleGAN1Synthesis(**ref["config"]).eval()
    gen = torch.Generator().manual_seed(0)
    g.load_state_dict(seeded(g, gen), strict=True)
    w = torch.randn(1, g.n_latent, ref["config"]["dlatent_size"], generator=gen)
    noise = [torch.randn(s, generator=gen) for s in g.noise_shapes(1)]
    with torch.no_grad():
        y = g(w, noise)
    assert list(y.shape) == ref["shape"]
    got, want = y[..., :: ref["stride"], :: ref["stride"]].flatten(), torch.tensor(ref["sample"])
    assert torch.allclose(got, want, atol=2e-5, rtol=1e-4), (got - want).abs().max()


def test_gaussian_fit_matches_pulses_recipe():
    ref = REFERENCE["gaussian-fit"]
    g = PulseStyleGAN1(resolution=4, dlatent_size=512, fmap_base=16, fmap_max=8)  # PULSE's mapping is 512 wide
    gen = torch.Generator().manual_seed(ref["mapping_seed"])
    g.mapping_net.load_state_dict({k: torch.randn(v.shape, generator=gen) for k, v in g.mapping_net.state_dict().items()})
    g.fit_gaussian(samples=ref["samples"], seed=ref["z_seed"])
    assert torch.allclose(g.fit_mean[:8], torch.tensor(ref["mean_first8"]), atol=1e-5, rtol=1e-4)
    assert torch.allclose(g.fit_std[:8], torch.tensor(ref["std_first8"]), atol=1e-5, rtol=1e-4)


def pulse_checkpoint(tmp_path: Path) -> tuple[Path, Path, dict, dict]:
    """Two state dicts as PULSE's G_synthesis / G_mapping would torch.save them (tiny sizes)."""
    gen = torch.Generator().manual_seed(4)
    synthesis = seeded(StyleGAN1Synthesis(**TINY), gen)
    # stored weights are the trained ones / lrmul (0.01): scale as a real file is
    mapping = {k: torch.randn(v.shape, generator=gen) * 100 for k, v in StyleGAN1Mapping(TINY["dlatent_size"]).state_dict().items()}
    ps, pm = tmp_path / "synthesis.pt", tmp_path / "mapping.pt"
    torch.save(synthesis, ps)
    torch.save(mapping, pm)
    return ps, pm, synthesis, mapping


def test_pulse_layout_checkpoint_loads_strictly_and_upscales(tmp_path):
    ps, pm, synthesis, mapping = pulse_checkpoint(tmp_path)
    m = zoo.load("pulse-sg1.ffhq-1024", weights={"synthesis": str(ps), "mapping": str(pm)}, **TINY,
                 fit_samples=2000, scale=4, steps=5)
    for k, v in synthesis.items():
        assert torch.equal(m.inv.synthesis.state_dict()[k], v), k
    for k, v in mapping.items():
        assert torch.equal(m.inv.mapping_net.state_dict()[k], v), k
    assert torch.isfinite(m.inv.fit_std).all() and (m.inv.fit_std > 0).all()
    lr = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(5))
    hr = m.upscale(lr)
    assert hr.shape == (2, 3, 32, 32) and 0 <= float(hr.min()) and float(hr.max()) <= 1
    assert m.stats["iterations"] == 5 and torch.isfinite(torch.tensor(m.stats["lr_psnr"]))
    assert m.needs_grad


def test_checkpoint_with_a_missing_key_is_refused_with_the_file_named(tmp_path):
    ps, pm, synthesis, _ = pulse_checkpoint(tmp_path)
    synthesis.pop("blocks.16x16.epi1.noise.weight")
    torch.save(synthesis, ps)
    with pytest.raises(WeightsError, match=r"synthesis\.pt.*epi1\.noise\.weight"):
        zoo.load("pulse-sg1.ffhq-1024", weights={"synthesis": str(ps), "mapping": str(pm)}, **TINY, fit_samples=100)


def test_search_without_the_mapping_part_says_what_is_missing():
    g = PulseStyleGAN1(**TINY)
    with pytest.raises(RuntimeError, match="mapping"):
        g.mapping(torch.zeros(1, TINY["dlatent_size"]))


def test_offline_default_is_unavailable_with_the_manual_steps(capsys):
    card = get_card("pulse-sg1.ffhq-1024")
    assert card.task == "super-resolution" and card.parts == ["synthesis", "mapping"]
    assert [r.source for r in card.weights] == ["https://drive.google.com/uc?id=1TCViX1YpQyRsklTVYEJwdbmK91vklCo8",
                                                "https://drive.google.com/uc?id=14R6iHGf5iuVx3DMNsACAl7eBr7Vdpd0k"]
    assert all(r.sha256 is None for r in card.weights)  # nothing published to pin
    assert "CC BY-NC 4.0" in card.license and is_non_commercial(card.license)
    assert availability(card.weights) == "no hub mirror"
    with pytest.raises(WeightsError, match=r"Google Drive.*1TCViX1YpQyRsklTVYEJwdbmK91vklCo8.*synthesis=FILE"):
        zoo.load("pulse-sg1.ffhq-1024")
    from zoo.cli import main

    assert main(["list", "--pattern", "pulse-sg1.*"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("pulse-sg1.ffhq-1024"))
    assert "no hub mirror" in line and "super-resolution" in line
