"""The training scripts: the closed-form mapping network (fast) and a few steps of each script (slow)."""

import pytest
import torch

from zoo.weights import load_state_dict
from zoo_inversion import train_encoder, train_generator
from zoo_inversion.offline import Encoder, offline_generator
from zoo_inversion.stylegan2 import fused_leaky_relu


def gaussian(d: int = 64, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(d, d, generator=gen) * 0.3
    return torch.randn(d, generator=gen) * 0.5, torch.linalg.cholesky(a @ a.T + 0.04 * torch.eye(d))


def test_the_closed_form_mapping_is_the_gaussian_map_through_the_output_activation():
    g = offline_generator()
    mu, chol = gaussian()
    train_generator.set_mapping(g, mu, chol)
    z = torch.randn(512, 64, generator=torch.Generator().manual_seed(1)) * 3  # any scale: PixelNorm comes first
    zn = z * torch.rsqrt(z.pow(2).mean(1, keepdim=True))
    with torch.no_grad():
        assert torch.allclose(g.mapping(z), fused_leaky_relu(mu + zn @ chol.T), atol=1e-4)
    got_mu, got_chol = train_encoder.mapping_gaussian(g)
    assert torch.allclose(got_mu, mu, atol=1e-4) and torch.allclose(got_chol, chol, atol=1e-5)


def test_the_encoder_heads_start_consistent_with_the_mapping():
    g, enc = offline_generator(), Encoder()
    train_generator.set_mapping(g, *gaussian())
    train_encoder.init_heads(enc, g)
    x = torch.rand(3, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        w, wplus, z = enc(x, "w"), enc(x, "w+"), enc(x, "z")
        mu, chol = train_encoder.mapping_gaussian(g)
        assert torch.allclose(wplus, w.unsqueeze(1).expand_as(wplus), atol=1e-5)
        assert torch.allclose(mu + z @ chol.T, enc.w(enc.features(x)), atol=1e-3)  # z = L^-1 (u - mu)


def test_train_encoder_refuses_a_generator_without_the_closed_form_mapping():
    with pytest.raises(ValueError, match="closed-form"):
        train_encoder.mapping_gaussian(offline_generator())


@pytest.mark.slow
def test_generator_and_encoder_scripts_run_a_few_steps(tmp_path):
    g_path, e_path, ae_path = tmp_path / "g.safetensors", tmp_path / "e.safetensors", tmp_path / "ae.safetensors"
    grid = tmp_path / "grid.png"
    assert train_generator.main(["--steps", "3", "--threads", "1", "--out", str(g_path), "--encoder-out", str(ae_path),
                                 "--grid", str(grid)]) == 0
    state = load_state_dict(g_path)
    assert state["latent_avg"].shape == (64,)
    offline_generator().load_state_dict({k: v for k, v in state.items() if k != "latent_avg"})
    assert grid.exists()
    assert train_encoder.main(["--steps", "2", "--threads", "1", "--generator", str(g_path), "--init", str(ae_path),
                               "--out", str(e_path)]) == 0
    Encoder().load_state_dict(load_state_dict(e_path))
