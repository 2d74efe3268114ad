"""Every published pix2pix / CycleGAN entry: metadata, the way to its official file, and a
checkpoint written here in the official layout loading through ``zoo.load(id, weights=...)``."""

import re

import pytest
import torch

import zoo
from zoo.catalog import get_card
from zoo.errors import WeightsError
from zoo.testing import check_method
from zoo.weights import resolve
from zoo_translation.catalog import CYCLEGAN_PAIRS, CYCLEGAN_SINGLE, PIX2PIX
from zoo_translation.networks import build_generator

OFFICIAL = sorted([i for i, *_ in CYCLEGAN_PAIRS] + [i for i, *_ in CYCLEGAN_SINGLE] + [i for i, *_ in PIX2PIX])
CYCLEGAN_FILES = {
    "apple2orange", "orange2apple", "summer2winter_yosemite", "winter2summer_yosemite", "horse2zebra", "zebra2horse",
    "monet2photo", "style_monet", "style_cezanne", "style_ukiyoe", "style_vangogh", "sat2map", "map2sat",
    "cityscapes_photo2label", "cityscapes_label2photo", "facades_photo2label", "facades_label2photo", "iphone2dslr_flower",
}
SMALL = {"unet_256": {"ngf": 4}, "resnet_9blocks": {"ngf": 4, "n_blocks": 2}}
PIX2PIX_FILES = {"facades_label2photo", "sat2map", "map2sat", "edges2shoes", "edges2handbags", "day2night"}


def test_every_published_file_is_in_the_catalog_exactly_once():
    sources = [r.source for i in OFFICIAL for r in get_card(i).weights]
    cyc = [re.fullmatch(r"http://efrosgans\.eecs\.berkeley\.edu/cyclegan/pretrained_models/(\w+)\.pth", s) for s in sources]
    pix = [re.fullmatch(r"http://efrosgans\.eecs\.berkeley\.edu/pix2pix/models-pytorch/(\w+)\.pth", s) for s in sources]
    assert all(c or p for c, p in zip(cyc, pix))
    assert sorted(c.group(1) for c in cyc if c) == sorted(CYCLEGAN_FILES)
    assert sorted(p.group(1) for p in pix if p) == sorted(PIX2PIX_FILES)


@pytest.mark.parametrize("method_id", OFFICIAL)
def test_entry_metadata(method_id):
    card = get_card(method_id)
    assert card.task == "translation" and card.license == "BSD-3-Clause"
    assert card.paper == ("arXiv:1611.07004" if card.factory == "pix2pix" else "arXiv:1703.10593")
    if card.params.get("two_way"):
        assert [r.setting for r in card.weights] == [{"direction": "AtoB"}, {"direction": "BtoA"}]
        assert [r.part for r in card.weights] == ["AtoB", "BtoA"] and card.parts == ["AtoB", "BtoA"]
        assert list(card.settings) == [{"direction": "AtoB"}, {"direction": "BtoA"}]
    if card.factory == "pix2pix":
        assert card.params["norm_mode"] == "train"  # the official test.py


@pytest.mark.parametrize("method_id", OFFICIAL)
def test_every_official_file_is_unmirrored_and_resolving_it_names_its_url(method_id):
    card = get_card(method_id)
    for setting in card.settings:
        (ref,) = card.weights_for(setting)
        assert ref.unmirrored
        with pytest.raises(WeightsError, match=re.escape(ref.source) + ".*--weights"):
            resolve(ref, method_id)


@pytest.mark.parametrize("method_id, setting", [
    ("cyclegan-horse-zebra.horse2zebra", {"direction": "BtoA"}), ("pix2pix-edges2shoes.edges2shoes", {}),
])
def test_loading_without_a_local_file_names_the_official_url(method_id, setting):
    url = get_card(method_id).weights_for(setting)[0].source
    with pytest.raises(WeightsError, match=re.escape(url) + ".*--weights"):
        zoo.load(method_id, **setting)


def _official_checkpoint(net: str, tmp_path, name: str, **small) -> tuple[str, dict]:
    g = torch.Generator().manual_seed(len(name))
    state = {k: (v.clone() if not v.is_floating_point() else torch.rand(v.shape, generator=g) * 0.02 + 0.5 * k.endswith("running_var"))
             for k, v in build_generator(net, **small).state_dict().items()}
    path = tmp_path / f"{name}.pth"
    torch.save(state, path)  # upstream save_networks: torch.save(net.state_dict())
    return str(path), state


@pytest.mark.parametrize("method_id", OFFICIAL)
def test_entry_loads_an_official_layout_checkpoint(method_id, tmp_path):
    """Each entry's factory and params, with the width shrunk so the whole catalog runs in seconds
    (the full-size layouts are checked against the golden files, and loaded by the slow test below)."""
    card = get_card(method_id)
    small = SMALL[card.params["net"]]
    for setting in card.settings:
        path, state = _official_checkpoint(card.params["net"], tmp_path, method_id, **small)
        files = {part: path for part in card.parts} or path  # two-way: one file per direction part
        m = zoo.load(method_id, weights=files, **small, **setting)
        d = setting.get("direction", "AtoB")
        assert m.loaded == (set(card.parts) or {d})  # every part given is loaded (a pair's other direction too)
        assert all(torch.equal(m.generators[d].state_dict()[k], v) for k, v in state.items())


@pytest.mark.slow
@pytest.mark.parametrize("method_id", OFFICIAL)
def test_entry_loads_a_full_size_official_layout_checkpoint(method_id, tmp_path):
    card = get_card(method_id)
    for setting in card.settings:
        path, state = _official_checkpoint(card.params["net"], tmp_path, method_id)
        m = zoo.load(method_id, weights={setting["direction"]: path} if card.parts else path, **setting)
        d = setting.get("direction", "AtoB")
        assert all(torch.equal(m.generators[d].state_dict()[k], v) for k, v in state.items())


@pytest.mark.slow
def test_full_size_pix2pix_entry_runs_like_the_official_test_script(tmp_path):
    path, _ = _official_checkpoint("unet_256", tmp_path, "facades_label2photo")
    m = zoo.load("pix2pix-facades-label2photo.facades", weights=path)
    assert m.norm_mode == "train"
    x = torch.rand(1, 3, 256, 256, generator=torch.Generator().manual_seed(0))
    y = m.translate(x)
    assert y.shape == x.shape and torch.equal(y, m.translate(x))
    assert (zoo.load("pix2pix-facades-label2photo.facades", weights=path, norm_mode="eval").translate(x) - y).abs().max() > 1e-3


@pytest.mark.parametrize("method_id, setting", [
    ("cyclegan-horse-zebra.horse2zebra", {"direction": "BtoA"}),
    ("cyclegan-style-vangogh.vangogh2photo", {}),
    ("pix2pix-day2night.transient-attributes", {"norm_mode": "train"}),
    ("pix2pix-day2night.transient-attributes", {"norm_mode": "eval"}),
])
def test_conformance_kit_on_catalog_entries_with_official_layout_files(method_id, setting, tmp_path):
    net = get_card(method_id).params["net"]
    path, _ = _official_checkpoint(net, tmp_path, method_id, **SMALL[net])
    parts = get_card(method_id).parts
    check_method(method_id, setting={**SMALL[net], **setting}, weights={p: path for p in parts} or path)
