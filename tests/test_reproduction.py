"""Reproducing published numbers: dataset variants pinned by content, the paper-style suite and its table."""

from __future__ import annotations

import io
import json
import tarfile

import numpy as np
import pytest
import yaml
from PIL import Image

import zoo
import zoo.datasets.hub as hub_mod
from zoo.datasets import variants as V
from zoo.errors import ZooError


def _images(folder, n=3, size=(40, 48)):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        arr = (rng.random((*size, 3)) * 255).astype(np.uint8)
        if i == 1:  # a gray image stored as RGB (one of Set14's variants)
            arr = np.repeat(arr[..., :1], 3, axis=2)
        Image.fromarray(arr).save(folder / f"im{i}.png")
    return folder


def _catalog(monkeypatch, entries):
    real = hub_mod.catalog_datasets()
    monkeypatch.setattr(hub_mod, "catalog_datasets", lambda: {**real, **entries})


def test_matching_files_are_the_pinned_variant_and_one_changed_file_is_another(tmp_path, monkeypatch):
    folder = _images(tmp_path / "tiny")
    files = V.manifest(sorted(folder.glob("*.png")))
    _catalog(monkeypatch, {"tiny": {"repo": None, "pattern": "*.png",
                                    "variants": [{"name": "v1", "source": "made by the test", "files": files}]}})
    ds = zoo.dataset("tiny", path=str(folder))
    assert ds.name == "tiny" and ds.variant["status"] == "pinned" and ds.variant["variant"] == "v1"
    pinned_hash = ds.content_hash

    # the same gray pixels stored as L instead of RGB: identical decoded images, different file
    arr = np.asarray(Image.open(folder / "im1.png"))[..., 0]
    Image.fromarray(arr, "L").save(folder / "im1.png")
    ds2 = zoo.dataset("tiny", path=str(folder))
    assert ds2.content_hash == pinned_hash  # gray convention: replicate to RGB, so the pixels agree
    assert ds2.variant["status"] == "differs" and ds2.variant["differ"] == ["im1.png"]
    assert ds2.name == f"tiny@{ds2.variant['manifest_sha256'][:12]}"
    assert "zoo dataset-manifest tiny" in ds2.variant["hint"]

    (folder / "im2.png").unlink()
    ds3 = zoo.dataset("tiny", path=str(folder))
    assert ds3.variant["missing"] == ["im2.png"]


def test_unpinned_variant_is_reported_as_such(tmp_path, monkeypatch):
    folder = _images(tmp_path / "tiny")
    _catalog(monkeypatch, {"tiny": {"repo": None, "pattern": "*.png", "variants": [{"name": "hub", "source": "x", "files": None}]}})
    ds = zoo.dataset("tiny", path=str(folder))
    assert ds.variant["status"] == "unpinned" and ds.name == "tiny"
    assert ds.variant["variant"] is None and ds.variant["source"] == str(folder)  # a local copy is not the Hub's variant
    assert "unpinned" in V.describe(ds.variant)


def test_hub_archive_variant_is_checked(tmp_path, monkeypatch):
    """set5 from a Hub cache laid out by the test: an archive whose files match the recorded manifest."""
    from zoo.testing import lay_out_hub_cache

    folder = _images(tmp_path / "Set5_HR", n=2)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for f in sorted(folder.iterdir()):
            t.add(f, arcname=f"Set5_HR/{f.name}")
    entry = hub_mod.catalog_datasets()["set5"]
    cache = tmp_path / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    lay_out_hub_cache(cache, entry["repo"], entry["revision"], entry["archive"], buf.getvalue(), repo_type="dataset")
    files = V.manifest(sorted(folder.iterdir()))
    _catalog(monkeypatch, {"set5": {**entry, "variants": [{"name": "hub", "source": "test", "files": files}]}})
    ds = zoo.dataset("set5")
    assert len(ds) == 2 and ds.variant["status"] == "pinned" and ds.variant["variant"] == "hub"


def test_catalog_lists_b100_and_manga109_and_refuses_manga109_without_files():
    known = hub_mod.catalog_datasets()
    assert known["b100"]["alias_of"] == "bsd100" and "manga109" in known
    for name in ("set5", "set14", "bsd100", "urban100", "manga109", "kodak"):
        assert known[name]["variants"], f"{name} records no variant"
    with pytest.raises(ZooError, match="manga109.org.*path"):
        zoo.dataset("manga109")


def test_dataset_manifest_command_prints_a_block_that_pins(tmp_path, monkeypatch, capsys):
    from zoo.cli import main

    folder = _images(tmp_path / "tiny")
    _catalog(monkeypatch, {"tiny": {"repo": None, "pattern": "*.png", "variants": [{"name": "x", "files": None}]}})
    assert main(["dataset-manifest", "tiny", "--path", str(folder), "--variant", "mine", "--source", "test"]) == 0
    block = yaml.safe_load(capsys.readouterr().out)["variants"]
    _catalog(monkeypatch, {"tiny": {"repo": None, "pattern": "*.png", "variants": block}})
    assert zoo.dataset("tiny", path=str(folder)).variant["variant"] == "mine"


def test_different_variant_in_meta_and_leaderboard(tmp_path, monkeypatch):
    folder = _images(tmp_path / "tiny", size=(48, 48))
    pinned = V.manifest(sorted(folder.glob("*.png")))
    pinned["im0.png"] = "0" * 64  # the catalog's im0.png is another file
    _catalog(monkeypatch, {"tiny": {"repo": None, "pattern": "*.png", "variants": [{"name": "paper", "source": "t", "files": pinned}]}})
    suite = tmp_path / "s.yaml"
    suite.write_text(yaml.safe_dump({"name": "s", "benchmarks": [{
        "name": "tiny-x2", "task": "super-resolution", "dataset": {"name": "tiny", "path": str(folder)},
        "degradation": {"bicubic": 2}, "methods": [{"id": "bicubic.classical", "settings": [{"scale": 2}]}],
        "metrics": [{"name": "psnr", "as": "psnr-y", "channel": "y", "crop_border": 2}]}]}))
    run = zoo.bench(str(suite), out=str(tmp_path / "run"), progress=False)
    meta = json.loads((tmp_path / "run" / "meta.json").read_text())
    variant = meta["datasets"]["tiny-x2"]["variant"]
    assert variant["status"] == "differs" and variant["differ"] == ["im0.png"] and variant["closest"] == "paper"
    assert set(run.results.dataset) == {f"tiny@{variant['manifest_sha256'][:12]}"}
    board = (tmp_path / "run" / "leaderboard.md").read_text()
    assert "**different variant**" in board and "not comparable" in board
