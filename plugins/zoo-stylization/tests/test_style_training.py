"""The training scripts run (a few steps each) and the bundled weights match their pinned sha256."""

import pytest
import torch

import zoo
from zoo.catalog import get_card
from zoo.testing import check_method
from zoo.weights import sha256_file, _bundled_path


@pytest.mark.parametrize("method_id", ["fast-style-ihc.samples", "adain-effnet-lite0.samples"])
def test_bundled_weights_are_pinned_small_and_pass_the_kit(method_id):
    try:
        card = get_card(method_id)
    except zoo.errors.UnknownNameError:
        pytest.skip(f"{method_id}: not trained yet")
    path = _bundled_path(card.weights[0])
    assert path.stat().st_size <= 5 * 1024 * 1024
    assert sha256_file(path) == card.weights[0].sha256
    check_method(method_id, size=40)


@pytest.mark.slow
def test_train_fast_style_runs_a_few_steps(tmp_path):
    from zoo_stylization.train_fast_style import main

    assert main(["--steps", "2", "--batch", "1", "--out", str(tmp_path / "fs.safetensors")]) == 0
    m = zoo.load("fast-style-ihc.samples", weights=str(tmp_path / "fs.safetensors"))
    assert m.stylize(torch.rand(1, 3, 32, 32)).shape == (1, 3, 32, 32)


@pytest.mark.slow
def test_train_adain_runs_a_few_steps(tmp_path):
    from zoo_stylization.train_adain import main

    assert main(["--steps", "2", "--batch", "1", "--out", str(tmp_path / "ad.safetensors")]) == 0
    m = zoo.load("adain-effnet-lite0.samples", weights=str(tmp_path / "ad.safetensors"))
    assert m.stylize(torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)).shape == (1, 3, 32, 32)
