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


def _reproduce_module():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "reproduce.py"
    spec = importlib.util.spec_from_file_location("reproduce", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _expected_bicubic_psnr_y(folder, scale):
    """PSNR-Y of MATLAB bicubic down-up, computed with scikit-image's rgb2ycbcr + rounding."""
    from skimage.color import rgb2ycbcr
    from skimage.metrics import peak_signal_noise_ratio

    from zoo.datasets.degrade import bicubic_down, imresize
    from zoo.images import read_image, to_uint8

    vals = []
    for f in sorted(folder.glob("*.png")):
        lr, hr = bicubic_down(read_image(f), scale)
        sr = imresize(lr, float(scale)).clamp(0, 1)
        y = [np.round(rgb2ycbcr(to_uint8(t).permute(1, 2, 0).numpy())[..., 0])[scale:-scale, scale:-scale] for t in (sr, hr)]
        vals.append(peak_signal_noise_ratio(y[1], y[0], data_range=255))
    return float(np.mean(vals))


def test_reproduce_script_writes_the_table(tmp_path):
    folder = _images(tmp_path / "imgs", n=3, size=(50, 46))
    suite = tmp_path / "paper.yaml"
    bench = lambda name, ds: {  # noqa: E731
        "name": name, "task": "super-resolution", "dataset": ds, "degradation": {"bicubic": 2},
        "methods": [{"id": "bicubic.classical", "settings": [{"scale": 2}]}, {"id": "edsr.div2k", "settings": [{"scale": 2}]}],
        "metrics": [{"name": "psnr", "as": "psnr-y", "channel": "y", "crop_border": 2},
                    {"name": "ssim", "as": "ssim-y", "channel": "y", "crop_border": 2}]}
    suite.write_text(yaml.safe_dump({"name": "paper", "benchmarks": [
        bench("tiny-x2", {"name": "folder", "path": str(folder)}), bench("set14-x2", {"name": "set14"})]}))
    published = tmp_path / "published.yaml"
    published.write_text(yaml.safe_dump([
        {"method": "bicubic.classical", "dataset": "folder", "scale": 2, "psnr": 30.0, "ssim": 0.9, "source": "test"},
        {"method": "edsr.div2k", "dataset": "folder", "scale": 2, "psnr": 40.0, "ssim": 0.95, "source": "test"},
        {"method": "bicubic.classical", "dataset": "set14", "scale": 2, "psnr": 30.24, "ssim": 0.8688, "source": "rcan"}]))
    out = tmp_path / "reproduction.md"
    assert _reproduce_module().main(["--suite", str(suite), "--no-rd", "--runs", str(tmp_path / "runs"),
                                     "--published", str(published), "-o", str(out)]) == 0
    page = out.read_text()
    rows = {tuple(c.strip() for c in line.strip("|").split("|")[:3]): [c.strip() for c in line.strip("|").split("|")]
            for line in page.splitlines() if line.startswith("| folder") or line.startswith("| set14")}
    ours = _expected_bicubic_psnr_y(folder, 2)
    row = rows[("folder", "x2", "bicubic.classical")]
    assert row[3] == "30.00" and row[4] == f"{ours:.2f}" and abs(float(row[5]) - (ours - 30.0)) <= 6e-4
    assert row[6] == "0.9000" and 0 < float(row[7]) <= 1
    assert "weights not fetched" in rows[("folder", "x2", "edsr.div2k")][-1]
    assert rows[("set14", "x2", "bicubic.classical")][4] == "–"
    assert "data not available here" in rows[("set14", "x2", "bicubic.classical")][-1]
    assert "round(16 + 65.481 R" in page  # the convention is stated


def test_sr_paper_suite_covers_the_published_protocol():
    from zoo.harness.suite import load_suite

    suite = load_suite("sr-paper")
    seen = set()
    for b in suite.benchmarks:
        scale = b.options["degradation"]["bicubic"]
        seen.add((b.dataset["name"], scale))
        assert {m.options.get("crop_border") for m in b.metrics} == {scale}
        assert {m.options.get("channel") for m in b.metrics} == {"y"}
        assert "bicubic.classical" in [m.id for m in b.methods]
    assert seen == {(d, s) for d in ("set5", "set14", "b100", "urban100", "manga109") for s in (2, 3, 4)}


def test_rd_reproduction_sets_ours_beside_compressai_points():
    import pandas as pd

    from zoo.harness.suite import load_suite
    from zoo.catalog import get_card
    from zoo.report.published import rd_reproduction

    benches = load_suite("kodak-rd").benchmarks
    method = "mbt2018-mse.vimeo90k"
    pub = next(r["values"] for r in get_card(method).published if r["setting"] == {"quality": 3})  # the plugin's data
    base = {"benchmark": "kodak", "task": "compression", "dataset": "kodak", "method": method,
            "setting": '{"quality":3}', "status": "ok", "error": "", "fingerprint": ""}
    df = pd.DataFrame([{**base, "item": f"kodim{i:02d}", "metric": k, "value": v}
                       for i in (1, 2) for k, v in (("bpp", pub["bpp"] + 0.01 * i), ("psnr", pub["psnr"] - 0.1), ("ms-ssim", 0.96))]
                      + [{**base, "method": "mbt2018-mean-mse.vimeo90k", "setting": "{}", "item": "*", "metric": "*",
                          "value": float("nan"), "status": "unavailable", "error": "WeightsError: not fetched"}])
    table = rd_reproduction(df, benches)
    row = table[(table.method == method) & (table.quality == 3)].iloc[0]
    assert row["Δbpp"] == f"{0.015:.4f}" and row["ΔPSNR"] == "-0.100"
    assert table[(table.method == method) & (table.quality == 1)].iloc[0]["bpp ours"] == "–"
    other = table[table.method == "mbt2018-mean-mse.vimeo90k"]
    assert len(other) == 8 and other.note.str.contains("weights not fetched").all()
