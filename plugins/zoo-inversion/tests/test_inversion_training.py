"""The training scripts run end to end for a few steps (slow)."""

import pytest
import torch

from zoo.weights import load_state_dict
from zoo_inversion import train_encoder, train_generator
from zoo_inversion.offline import Encoder, offline_generator


@pytest.mark.slow
def test_generator_and_encoder_scripts_run_a_few_steps(tmp_path):
    torch.set_num_threads(1)
    g_path, e_path, grid = tmp_path / "g.safetensors", tmp_path / "e.safetensors", tmp_path / "grid.png"
    assert train_generator.main(["--steps", "3", "--out", str(g_path), "--grid", str(grid)]) == 0
    state = load_state_dict(g_path)
    assert state["latent_avg"].shape == (64,)
    offline_generator().load_state_dict({k: v for k, v in state.items() if k != "latent_avg"})
    assert grid.exists()
    assert train_encoder.main(["--steps", "3", "--generator", str(g_path), "--out", str(e_path)]) == 0
    Encoder().load_state_dict(load_state_dict(e_path))
