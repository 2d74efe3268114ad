"""The translators trained here: bundled and verified, conformant, and better than the
baselines on held-out photos (measured here, not recorded)."""

from pathlib import Path

import pytest
import torch

import zoo
from zoo.catalog import get_card
from zoo.testing import check_method
from zoo.weights import resolve
from zoo_translation.evaluate import heldout_scores

TRAINED = {"pix2pix-sketch.samples": "sketch", "cyclegan-grade.samples": "graded"}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.mark.parametrize("method_id", sorted(TRAINED))
def test_bundled_weights_are_small_and_pinned(method_id):
    (ref,) = get_card(method_id).weights
    path = resolve(ref, method_id)  # verifies the sha256 pinned in the catalog
    assert Path(path).stat().st_size <= 5 * 2**20


@pytest.mark.parametrize("method_id, setting", [
    ("pix2pix-sketch.samples", {}), ("cyclegan-grade.samples", {"direction": "AtoB"}),
    ("cyclegan-grade.samples", {"direction": "BtoA"}),
])
def test_conformance_kit_trained(method_id, setting):
    check_method(method_id, setting=setting)


@pytest.fixture(scope="module")
def scores():
    out = {}
    for task, ids in {"sketch": ["pix2pix-sketch.samples", "identity.baseline",
                                 "color-transfer-reinhard.samples-sketch", "color-transfer-histogram.samples-sketch"],
                      "graded": ["cyclegan-grade.samples", "identity.baseline"]}.items():
        for mid in ids:
            out[task, mid] = heldout_scores(zoo.load(mid), task, crop=256)
    return out


def test_pix2pix_beats_identity_and_colour_transfer_on_heldout_photos(scores):
    p2p = scores["sketch", "pix2pix-sketch.samples"]
    for base in ("identity.baseline", "color-transfer-reinhard.samples-sketch", "color-transfer-histogram.samples-sketch"):
        assert p2p["psnr"] > scores["sketch", base]["psnr"] + 1.0, base
    assert p2p["ssim"] > scores["sketch", "identity.baseline"]["ssim"]


def test_cyclegan_beats_identity_against_the_known_answer_and_cycles_back(scores):
    cyc = scores["graded", "cyclegan-grade.samples"]
    assert cyc["psnr"] > scores["graded", "identity.baseline"]["psnr"] + 1.0
    assert cyc["cycle-psnr"] > 20.0 and cyc["cycle-l1"] < 0.1


@pytest.mark.slow
@pytest.mark.parametrize("script", ["train_pix2pix", "train_cyclegan"])
def test_training_script_runs_a_few_steps_and_its_output_loads(script, tmp_path):
    import importlib

    mod = importlib.import_module(f"zoo_translation.{script}")
    out = tmp_path / "w.safetensors"
    assert mod.main(["--steps", "3", "--out", str(out)]) == 0
    method_id = "pix2pix-sketch.samples" if script == "train_pix2pix" else "cyclegan-grade.samples"
    m = zoo.load(method_id, weights=str(out))
    assert m.translate(torch.rand(1, 3, 40, 40)).shape == (1, 3, 40, 40)
    if script == "train_cyclegan":
        assert m.loaded == {"AtoB", "BtoA"}
