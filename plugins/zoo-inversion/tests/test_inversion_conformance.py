"""The conformance kit on every offline method (it runs methods under inference_mode: the
optimising methods switch gradients back on inside), the plugin's datasets and the CLI."""

import pytest
import torch

import zoo
from zoo.testing import check_method

torch.set_num_threads(1)


@pytest.mark.parametrize("method_id, setting, size", [
    ("sg2-encoder.lfw32", {"space": "w+"}, 32),
    ("sg2-optim.lfw32", {"space": "w", "steps": 5, "perceptual": 0.0}, 32),
    ("sg2-hybrid.lfw32", {"space": "w+", "steps": 5, "perceptual": 0.0}, 32),
    ("pulse-sg2.lfw32", {"scale": 4, "steps": 5}, 8),
])
def test_conformance_kit(method_id, setting, size):
    m = check_method(method_id, setting=setting, size=size, atol=1e-4)
    assert m.stats  # per-call statistics for the harness


def test_optimising_methods_declare_needs_grad():
    assert zoo.load("sg2-optim.lfw32").needs_grad and zoo.load("sg2-hybrid.lfw32").needs_grad
    assert zoo.load("pulse-sg2.lfw32").needs_grad
    assert not getattr(zoo.load("sg2-encoder.lfw32"), "needs_grad", False)


def test_edit_dataset_items_carry_mask_and_scribble():
    ds = zoo.dataset("lfw32-edits", split="heldout", limit=2)
    item = ds[0]
    assert item.image.shape == (3, 32, 32) and item.id == "lfw-090"
    mask, scribble = item.extras["mask"], item.extras["scribble"]
    assert mask.shape == (1, 32, 32) and scribble.shape == (3, 32, 32)
    assert torch.equal(scribble * (1 - mask), item.image * (1 - mask))
    assert len(zoo.dataset("lfw32", split="train")) == 90


def test_zoo_edit_interpolate_writes_a_strip_and_a_gif(tmp_path):
    """`zoo edit`: the plugin's verb, registered through register_commands, run by the zoo CLI."""
    from zoo.cli import main
    from zoo.images import write_image
    from zoo_inversion.offline import lfw_faces

    faces = lfw_faces("heldout")
    write_image(tmp_path / "a.png", faces[0])
    write_image(tmp_path / "b.png", faces[1])
    out, gif = tmp_path / "strip.png", tmp_path / "path.gif"
    assert main(["edit", "interpolate", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "-o", str(out), "--gif", str(gif),
                 "--method", "sg2-encoder.lfw32", "--frames", "4"]) == 0
    assert out.exists() and gif.exists()
    a, before = tmp_path / "a.png", (tmp_path / "a.png").read_bytes()
    args = ["edit", "interpolate", str(a), str(tmp_path / "b.png"), "--method", "sg2-encoder.lfw32", "--frames", "4"]
    assert main([*args, "-o", str(a)]) == 2 and a.read_bytes() == before  # an input is never written over
    stamp = gif.read_bytes()
    assert main([*args, "-o", str(tmp_path / "new.png"), "--gif", str(gif)]) == 2 and gif.read_bytes() == stamp
    assert main([*args, "-o", str(out), "--gif", str(gif), "--overwrite"]) == 0
