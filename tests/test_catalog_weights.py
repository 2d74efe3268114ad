import hashlib
import pickle
import time

import pytest
import torch
import yaml

import zoo
from zoo import plugins
from zoo.catalog import parse_entry
from zoo.errors import CatalogError, WeightsError, WeightsIntegrityError
from zoo.weights import load_state_dict, resolve

from zoo.testing import lay_out_hub_cache

REV = "a" * 40


def _safetensors_bytes(tmp_path, state):
    from safetensors.torch import save_file

    p = tmp_path / "w.safetensors"
    save_file(state, str(p))
    return p.read_bytes()


@pytest.fixture
def hub_method(tmp_path, monkeypatch, fresh_plugins):
    """A catalog entry with Hub weights, for a 1x1 conv 'super-resolver' defined inline."""
    from zoo.tasks import SuperResolver

    class Conv(SuperResolver):
        scale = 1

        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 3, 1)

        def _upscale(self, lr):
            return self.conv(lr).clamp(0, 1)

    state = {"conv.weight": torch.eye(3).view(3, 3, 1, 1) * 0.5, "conv.bias": torch.zeros(3)}
    data = _safetensors_bytes(tmp_path, state)
    cache = tmp_path / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    sha = hashlib.sha256(data).hexdigest()
    entry = {"task": "super-resolution", "factory": "conv1x1",
             "weights": {"hub": "someone/conv", "file": "model.safetensors", "revision": REV, "sha256": sha}}

    class P:
        @zoo.hookimpl
        def register_methods(self, register):
            register("conv1x1", Conv, task="super-resolution")

        @zoo.hookimpl
        def register_catalog(self, register):
            register("conv.test", entry)

    plugins.register_plugin(P(), "hubtest")
    yield {"cache": cache, "data": data, "sha": sha, "entry": entry}
    plugins.unregister_plugin("hubtest")


def test_load_resolves_pinned_hub_file_and_verifies_sha(hub_method):
    assert not zoo.list_methods(pattern="conv.*", available=True)
    lay_out_hub_cache(hub_method["cache"], "someone/conv", REV, "model.safetensors", hub_method["data"])
    assert [c.id for c in zoo.list_methods(pattern="conv.*", available=True)] == ["conv.test"]
    m = zoo.load("conv.test")
    x = torch.rand(1, 3, 8, 8)
    assert torch.allclose(m.upscale(x), x * 0.5)


def test_offline_missing_weights_fail_fast_naming_method_file_and_fetch(hub_method):
    t0 = time.perf_counter()
    with pytest.raises(WeightsError) as err:
        zoo.load("conv.test")
    assert time.perf_counter() - t0 < 1.0
    msg = str(err.value)
    assert "conv.test" in msg and "model.safetensors" in msg and "zoo fetch conv.test" in msg


def test_sha_mismatch_raises_with_both_hashes_and_keeps_file(hub_method):
    snap = lay_out_hub_cache(hub_method["cache"], "someone/conv", REV, "model.safetensors", b"tampered" + hub_method["data"])
    with pytest.raises(WeightsIntegrityError) as err:
        zoo.load("conv.test")
    actual = hashlib.sha256(b"tampered" + hub_method["data"]).hexdigest()
    assert hub_method["sha"] in str(err.value) and actual in str(err.value)
    assert snap.exists()


def test_unpinned_sha_is_refused_with_pin_instructions(hub_method):
    hub_method["entry"]["weights"]["sha256"] = None
    card = parse_entry("x.y", hub_method["entry"], "test")
    with pytest.raises(WeightsError, match="zoo fetch --pin x.y"):
        resolve(card.weights[0], "x.y")


def test_pickle_payload_in_pth_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("owned",))

    p = tmp_path / "evil.pth"
    with open(p, "wb") as f:
        pickle.dump({"w": Evil()}, f)
    with pytest.raises(WeightsError, match="refused to load"):
        load_state_dict(p)
    good = tmp_path / "good.pth"
    torch.save({"w": torch.ones(2)}, good)
    assert torch.equal(load_state_dict(good)["w"], torch.ones(2))


@pytest.mark.parametrize("entry,field", [
    ({"factory": "x"}, "task"),
    ({"task": "super-resolution"}, "factory"),
    ({"task": "super-resolution", "factory": "x", "weights": {"hub": "a/b", "file": "f", "revision": "main"}}, "revision"),
    ({"task": "super-resolution", "factory": "x", "weights": {"hub": "a/b", "file": "../../etc/passwd", "revision": REV}}, "file"),
    ({"task": "super-resolution", "factory": "x", "weights": {"bundled": "pkg:w.safetensors"}}, "sha256"),
    ({"task": "super-resolution", "factory": "x", "colour": 1}, "unknown field"),
    ({"task": "super-resolution", "factory": "x", "settings": []}, "settings"),
])
def test_catalog_validation_names_entry_and_field(entry, field):
    with pytest.raises(CatalogError) as err:
        parse_entry("bad.entry", entry, "registry.yaml")
    assert "methods.bad.entry" in str(err.value) and field in str(err.value)


def test_registry_yaml_parses():
    from zoo.catalog import registry_path

    data = yaml.safe_load(registry_path().read_text())
    for mid, raw in (data.get("methods") or {}).items():
        parse_entry(mid, raw, "registry.yaml")


def test_catalog_has_a_method_per_available_task():
    tasks = {c.task for c in zoo.list_methods(available=True)}
    assert {"super-resolution", "compression", "translation"} <= tasks


def test_zoo_convert_writes_safetensors_and_catalog_fields(tmp_path, hub_method, capsys):
    from zoo.cli import main

    ckpt = tmp_path / "official.pth"
    torch.save({"conv.weight": torch.ones(3, 3, 1, 1), "conv.bias": torch.zeros(3)}, ckpt)
    out = tmp_path / "converted.safetensors"
    assert main(["convert", "conv.test", str(ckpt), "-o", str(out), "--json"]) == 0
    fields = __import__("json").loads(capsys.readouterr().out)
    assert fields["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert torch.equal(load_state_dict(out)["conv.weight"], torch.ones(3, 3, 1, 1))
