"""Classifiers: the ITA-bins classifier, the probability contract, and the pinned-weights adapter
exercised through zoo.weights.resolve against a Hub cache laid out here (nothing is downloaded)."""

import contextlib
import hashlib
import json
from pathlib import Path

import pytest
import torch

import zoo
from zoo.errors import ContractError, MetricUnavailable, UnknownNameError, WeightsError
from zoo.weights import save_state_dict
from zoo_fairness import classifiers as C

from fairness_helpers import patches

torch.set_num_threads(1)
GOLDEN = Path(__file__).parent / "golden"


def test_ita_bins_labels_monk_swatches_by_del_bino():
    clf = C.ItaBins(region="whole")
    p = clf.classify(patches(range(1, 11)))
    names = [clf.classes[i] for i in p.argmax(1).tolist()]
    assert names == ["very_light"] * 4 + ["light", "tan", "brown", "dark", "dark", "dark"]
    assert p.sum(1).tolist() == [1.0] * 10
    k8 = C.ItaBins(scale="kinyanjui", region="whole")
    assert len(k8.classes) == 8 and k8.classes[k8.classify(patches([6])).argmax()] == "tan_1"


def test_ita_bins_reports_what_it_cannot_label():
    clf = C.ItaBins(region="whole")
    p = clf.classify(torch.cat([patches([6]), torch.full((1, 3, 8, 8), 0.5)]))
    assert torch.isnan(p[1]).all() and not torch.isnan(p[0]).any()
    assert clf.item_reasons[0] is None and "b* = 0.00" in clf.item_reasons[1]
    face = C.ItaBins()  # face region: random noise has no face
    p = face.classify(torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0)))
    assert torch.isnan(p).all() and "no frontal face" in face.item_reasons[0]


def test_ita_bins_options_are_checked():
    with pytest.raises(ValueError, match="2 thresholds need 3 names"):
        C.ItaBins(thresholds=[40, 10], names=["a", "b"])
    with pytest.raises(ValueError, match="descending"):
        C.ItaBins(thresholds=[10, 40], names=["a", "b", "c"])
    with pytest.raises(ValueError, match="scale"):
        C.ItaBins(scale="fitzpatrick")


def test_classifier_output_contract():
    class Bad(C.Classifier):
        classes = ("a", "b")

        def _classify(self, x):
            return torch.ones(x.shape[0], 2)

    class WrongShape(Bad):
        def _classify(self, x):
            return torch.ones(x.shape[0], 3) / 3

    x = patches([1])
    with pytest.raises(ContractError, match="summing to 1"):
        Bad().classify(x)
    with pytest.raises(ContractError, match="N x K"):
        WrongShape().classify(x)
    with pytest.raises(ContractError, match="float32"):
        C.ItaBins().classify(x.double())


def test_fairface_resnet34_layout_matches_the_official_model_key_for_key():
    golden = json.loads((GOLDEN / "fairface-res34.json").read_text())["keys"]
    with torch.device("meta"):  # layout only: skip initialising 21M parameters
        clf = C.HubClassifier(**C.CLASSIFIERS["fairface-race7.res34"]["params"])
    assert [[k, list(v.shape)] for k, v in clf.weights_state_dict().items()] == golden
    assert clf.classes == ("White", "Black", "Latino_Hispanic", "East Asian", "Southeast Asian", "Indian", "Middle Eastern")


def test_fairface_classifiers_are_refused_with_the_official_source():
    for name in ("fairface-race7.res34", "fairface-gender.res34", "fairface-age.res34", "fairface-race4.res34"):
        with pytest.raises(WeightsError, match="drive.google.com"):
            C.load_classifier(name)
    with pytest.raises(MetricUnavailable, match="classifier_weights=FILE"):
        C.classifier_for_probe("fairface-age.res34", "representation")
    with pytest.raises(UnknownNameError, match="ita-bins"):
        C.load_classifier("race-o-matic")


@pytest.fixture
def hub_classifier(tmp_path, monkeypatch, hub_cache):
    """A tiny timm network's weights as safetensors, laid out in the session's Hub cache, with a pinned entry."""
    from zoo.testing import lay_out_hub_cache

    net = C.build_network("timm:test_resnet", 3)
    g = torch.Generator().manual_seed(0)
    state = {k: (torch.rand(v.shape, generator=g) + 0.5 if "running_var" in k else
                 torch.randn(v.shape, generator=g) * 0.1 if v.is_floating_point() else v) for k, v in net.state_dict().items()}
    file = tmp_path / "model.safetensors"
    sha = save_state_dict(state, file)
    rev = hashlib.sha1(b"fairness-test").hexdigest()
    lay_out_hub_cache(hub_cache, "someone/tone-net", rev, "model.safetensors", file.read_bytes())
    entry = {"task": "classification", "factory": "classifier-hub",
             "params": {"arch": "timm:test_resnet", "classes": ["a", "b", "c"], "input_size": 64},
             "weights": {"hub": "someone/tone-net", "file": "model.safetensors", "revision": rev, "sha256": sha}}
    with catalog_entry("tone-net.test", entry):
        yield state, entry


@contextlib.contextmanager
def catalog_entry(name: str, entry: dict):
    """A classifier added the way a third party adds one: a plugin's catalog entry of task classification."""
    from zoo import plugins

    class Entry:
        @zoo.hookimpl
        def register_catalog(self, register):
            register(name, entry)

    plugins.register_plugin(Entry(), f"test-{name}")
    try:
        yield
    finally:
        plugins.unregister_plugin(f"test-{name}")


def test_hub_classifier_loads_pinned_weights_from_the_hub_cache(hub_classifier):
    state, _ = hub_classifier
    clf = C.load_classifier("tone-net.test")
    x = patches([1, 5, 8], size=40)
    p = clf.classify(x)
    ref = C.build_network("timm:test_resnet", 3).eval()
    ref.load_state_dict(state)
    xin = torch.nn.functional.interpolate(x, size=(64, 64), mode="bilinear", align_corners=False, antialias=True)
    mean, std = torch.tensor(C.IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(C.IMAGENET_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        want = torch.softmax(ref((xin - mean) / std).double(), 1)
    assert torch.allclose(p, want, atol=1e-5)
    assert clf.id == "tone-net.test" and "timm:test_resnet" in clf.fingerprint
    from zoo_fairness.probes import Representation

    assert Representation("tone-net.test").classes == ("a", "b", "c")


def test_hub_classifier_wrong_sha_is_refused(hub_classifier):
    _, entry = hub_classifier
    bad = {**entry, "weights": {**entry["weights"], "sha256": "0" * 64}}
    with catalog_entry("tone-net-bad.test", bad):
        with pytest.raises(WeightsError, match="sha256 mismatch"):
            C.load_classifier("tone-net-bad.test")
        with pytest.raises(MetricUnavailable, match="sha256 mismatch"):
            C.classifier_for_probe("tone-net-bad.test", "attribute-preservation")


def test_hub_classifier_missing_from_offline_cache_names_the_fix(hub_classifier):
    _, entry = hub_classifier
    gone = {**entry, "weights": {**entry["weights"], "revision": "f" * 40}}
    with catalog_entry("tone-net-gone.test", gone):
        with pytest.raises(WeightsError, match="not in the local Hub cache"):
            C.load_classifier("tone-net-gone.test")


def test_checkpoint_wrappers_are_unwrapped_and_local_weights_accepted(tmp_path):
    clf = C.HubClassifier("timm:test_resnet", ["a", "b"])
    state = clf.weights_state_dict()
    wrapped = {"state_dict": {f"module.{k}": v for k, v in state.items()}}
    assert C.HubClassifier.convert_state_dict(wrapped).keys() == state.keys()
    path = tmp_path / "w.pth"
    torch.save(wrapped, path)
    entry = {"task": "classification", "factory": "classifier-hub", "params": {"arch": "timm:test_resnet", "classes": ["a", "b"]}}
    with catalog_entry("local.test", entry):
        loaded = C.load_classifier("local.test", weights=str(path))
        assert all(torch.equal(loaded.weights_state_dict()[k], v) for k, v in state.items())
        assert "local.test" in [c.id for c in zoo.list_methods(task="classification")]


def test_hub_classifier_options_are_checked():
    with pytest.raises(ValueError, match="logits slice"):
        C.HubClassifier("timm:test_resnet", ["a", "b"], num_outputs=4, logits=[0, 3])
    with pytest.raises(ValueError, match="torchvision:<model>"):
        C.build_network("keras:resnet", 2)
    with pytest.raises(ValueError, match="crop"):
        C.HubClassifier("timm:test_resnet", ["a", "b"], crop="eyes")


def test_face_crop_mode_labels_faces_and_reports_missing_ones():
    from zoo_fairness.datasets import samples_faces

    clf = C.HubClassifier("timm:test_resnet", ["a", "b"], input_size=48, crop="face").eval()
    face = samples_faces(size=160)[0].image[None]
    noise = torch.rand(1, 3, 160, 160, generator=torch.Generator().manual_seed(1))
    p = clf.classify(torch.cat([face, noise]))
    assert not torch.isnan(p[0]).any() and torch.isnan(p[1]).all()
    assert "no frontal face" in clf.item_reasons[1]
