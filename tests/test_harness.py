import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

import zoo
from zoo import plugins
from zoo.errors import SuiteError, ZooError
from zoo.harness.suite import load_suite
from zoo.report.compare import compare
from zoo.report.leaderboard import COST, bootstrap_ci

SUITE = """
name: tiny
seed: 0
benchmarks:
  - name: sr
    task: super-resolution
    dataset: {name: samples, split: heldout, crop: 64, limit: 2}
    degradation: {bicubic: 4}
    methods:
      - {id: bicubic.classical, settings: [{scale: 4}]}
      - {id: nearest.classical, settings: [{scale: 4}]}
    metrics: [{name: psnr, as: psnr-y, channel: y, crop_border: 4}, ssim]
  - name: codec
    task: compression
    dataset: {name: samples, split: heldout, crop: 64, limit: 2}
    methods: [{id: jpeg.pil, settings: [{quality: 30}, {quality: 80}]}, png.pil]
    metrics: [bpp, psnr]
"""


@pytest.fixture
def suite_file(tmp_path):
    p = tmp_path / "tiny.yaml"
    p.write_text(SUITE)
    return p


def test_suite_includes_and_include_path(tmp_path):
    (tmp_path / "base.yaml").write_text("seed: 7\nbenchmarks:\n  - {name: a, task: translation, dataset: samples, methods: [grayscale.example], metrics: [psnr]}\n")
    (tmp_path / "top.yaml").write_text("name: top\ninclude: [base.yaml]\nbenchmarks:\n  - {name: b, task: translation, dataset: samples, methods: [grayscale.example], metrics: [ssim]}\n")
    s = load_suite("top", include_path=[str(tmp_path)])
    assert [b.name for b in s.benchmarks] == ["a", "b"] and s.seed == 7
    assert load_suite("quick").name == "quick"


@pytest.mark.parametrize("text,match", [
    ("benchmarks:\n  - name: x\n    task: painting\n    dataset: samples\n    methods: [a]\n    metrics: [psnr]\n", r"bad.yaml:2: .*task must be one of"),
    ("benchmarks:\n  - name: x\n    task: translation\n    methods: [a]\n    metrics: [psnr]\n", r"bad.yaml:2: .*missing field `dataset`"),
    ("colour: red\nbenchmarks: []\n", r"unknown key"),
    ("benchmarks: [\n", "invalid YAML"),
])
def test_suite_errors_name_file_line_and_field(tmp_path, text, match):
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    with pytest.raises(SuiteError, match=match):
        load_suite(str(p))


def test_unknown_suite_lists_available():
    with pytest.raises(SuiteError, match="Available: .*quick"):
        load_suite("nope")


def test_bench_writes_report_and_reuses_cache(tmp_path, suite_file):
    run = zoo.bench(str(suite_file), out=tmp_path / "run", progress=False)
    df = run.results
    assert set(df.columns) >= {"run", "suite", "task", "dataset", "item", "method", "setting", "metric", "value", "fingerprint"}
    sr = df[(df.benchmark == "sr") & (df.metric == "psnr-y")]
    assert len(sr) == 4 and sr.value.notna().all()
    bic = sr[sr.method == "bicubic.classical"].value.mean()
    near = sr[sr.method == "nearest.classical"].value.mean()
    assert bic > near
    for f in ("results.parquet", "results.csv", "leaderboard.md", "meta.json", "index.html"):
        assert (tmp_path / "run" / f).exists()
    md = (tmp_path / "run" / "leaderboard.md").read_text()
    assert "## super-resolution" in md and "psnr-y ↑" in md and "**" in md and "runtime_ms ↓" in md
    assert list((tmp_path / "run" / "plots").glob("rd-*.png")) and list((tmp_path / "run" / "plots").glob("samples-*.png"))
    assert run.computed_units == 5 and run.reused_units == 0
    again = zoo.bench(str(suite_file), out=tmp_path / "run", progress=False)
    assert again.computed_units == 0 and again.reused_units == 5
    pd.testing.assert_frame_equal(again.results.drop(columns="run"), df.drop(columns="run"))


def test_ray_executor_gives_the_same_results_and_persists_every_unit(tmp_path, suite_file):
    pytest.importorskip("ray")  # installed by the dev group, so CI runs this
    import ray

    local = zoo.bench(str(suite_file), out=tmp_path / "local", progress=False, report=False)
    try:
        par = zoo.bench(str(suite_file), out=tmp_path / "ray", progress=False, executor="ray", workers=2)
    finally:
        ray.shutdown()
    assert par.computed_units == 5 and len(list((tmp_path / "ray" / "parts").glob("*.parquet"))) == 5
    drop = ["run", "value"]
    a = local.results[~local.results.metric.isin(COST)].reset_index(drop=True)
    b = par.results[~par.results.metric.isin(COST)].reset_index(drop=True)
    pd.testing.assert_frame_equal(a.drop(columns=drop), b.drop(columns=drop))
    assert np.allclose(a.value.to_numpy(float), b.value.to_numpy(float), equal_nan=True)
    assert (tmp_path / "ray" / "leaderboard.md").exists()
    again = zoo.bench(str(suite_file), out=tmp_path / "ray", progress=False, executor="ray", report=False)
    assert again.computed_units == 0 and again.reused_units == 5  # nothing left for Ray: no cluster started
    with pytest.raises(ZooError, match="executor must be one of"):
        zoo.bench(str(suite_file), out=tmp_path / "x", executor="dask")


def test_shards_split_units_and_keep_per_item_values(tmp_path, suite_file):
    whole = zoo.bench(str(suite_file), out=tmp_path / "whole", progress=False, report=False)
    sharded_suite = tmp_path / "sharded.yaml"
    sharded_suite.write_text(suite_file.read_text().replace("    batch_size", "    x").replace(
        "    metrics: [bpp, psnr]", "    metrics: [bpp, psnr]\n    shard_size: 1"))
    sharded = zoo.bench(str(sharded_suite), out=tmp_path / "sharded", progress=False, report=False)
    assert sharded.computed_units == 2 + 3 * 2  # sr: 2 units; codec: 3 operating points x 2 shards
    key = ["benchmark", "method", "setting", "item", "metric"]
    a = whole.results[~whole.results.metric.isin(COST)].sort_values(key).reset_index(drop=True)
    b = sharded.results[~sharded.results.metric.isin(COST)].sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a[key + ["value"]], b[key + ["value"]])
    _distribution_merge(tmp_path, suite_file, sharded_suite, ("kd-effnetlite0",))
    worse = tmp_path / "worse.yaml"
    worse.write_text(sharded_suite.read_text().replace("shard_size: 1", "shard_size: 0"))
    with pytest.raises(SuiteError, match="shard_size must be a positive"):
        load_suite(str(worse))


def _distribution_merge(tmp_path, suite_file, sharded_suite, metrics: tuple[str, ...]) -> pd.DataFrame:
    """Distribution metrics merge their per-shard states: the sharded value equals the whole set's."""
    dist = f"metrics: [bpp, {', '.join(metrics)}]"
    one, split = tmp_path / "one.yaml", tmp_path / "split.yaml"
    one.write_text(suite_file.read_text().replace("metrics: [bpp, psnr]", dist))
    split.write_text(sharded_suite.read_text().replace("metrics: [bpp, psnr]", dist))
    r1 = zoo.bench(str(one), out=tmp_path / "one", progress=False, report=False).results
    r2 = zoo.bench(str(split), out=tmp_path / "split", progress=False, report=False).results
    pick = lambda r, m: r[(r.benchmark == "codec") & (r.metric == m)].sort_values("setting").value.to_numpy(float)  # noqa: E731
    for m in metrics:
        assert len(pick(r1, m)) == 3 and np.allclose(pick(r1, m), pick(r2, m), rtol=1e-6, atol=1e-3), m  # float64 sums in another order
    return r2


@pytest.mark.slow  # three 1280 x 1280 matrix square roots per run
def test_sharded_frechet_distance_equals_the_whole_sets(tmp_path, suite_file):
    sharded_suite = tmp_path / "sharded.yaml"
    sharded_suite.write_text(suite_file.read_text().replace("    batch_size", "    x").replace(
        "    metrics: [bpp, psnr]", "    metrics: [bpp, psnr]\n    shard_size: 1"))
    r2 = _distribution_merge(tmp_path, suite_file, sharded_suite, ("fd-effnetlite0",))
    assert (r2[(r2.metric == "fd-effnetlite0")].error.str.contains("low n")).all()  # 2 images << 1280-d features


def test_cached_rerun_reuses_figures_and_meta_records_timing(tmp_path, suite_file):
    run = zoo.bench(str(suite_file), out=tmp_path / "run", progress=False)
    t = run.meta["timing"]
    assert t["model_s"] > 0 and t["metrics_s"] > 0 and t["run_s"] >= t["model_s"] + t["metrics_s"]
    codec = run.results[(run.results.method == "jpeg.pil") & run.results.metric.isin(["encode_ms", "decode_ms"])]
    assert len(codec) == 4 and (codec.value > 0).all()
    plot = next((tmp_path / "run" / "plots").glob("rd-*.png"))
    stamp = plot.stat().st_mtime_ns
    zoo.bench(str(suite_file), out=tmp_path / "run", progress=False)
    assert plot.stat().st_mtime_ns == stamp  # identical inputs: the figure is reused, not redrawn
    zoo.bench(str(suite_file), out=tmp_path / "run", progress=False, methods=["jpeg.pil"])  # different results
    assert plot.stat().st_mtime_ns != stamp


def test_failures_are_recorded_and_the_run_goes_on(tmp_path, fresh_plugins):
    from zoo.tasks import SuperResolver

    class Broken(SuperResolver):
        scale = 4

        def _upscale(self, lr):
            return torch.full((lr.shape[0], 3, lr.shape[2] * 4, lr.shape[3] * 4), float("nan"))

    class P:
        @zoo.hookimpl
        def register_methods(self, register):
            register("broken-sr", Broken, task="super-resolution")

        @zoo.hookimpl
        def register_catalog(self, register):
            register("broken.test", {"task": "super-resolution", "factory": "broken-sr"})
            register("missing-weights.test", {"task": "super-resolution", "factory": "broken-sr", "weights": {
                "hub": "nobody/none", "file": "w.safetensors", "revision": "b" * 40, "sha256": "c" * 64}})

    plugins.register_plugin(P(), "brokenplugin")
    try:
        p = tmp_path / "s.yaml"
        p.write_text(textwrap.dedent("""
            benchmarks:
              - name: sr
                task: super-resolution
                dataset: {name: samples, crop: 32, limit: 2}
                degradation: {bicubic: 4}
                methods: [broken.test, missing-weights.test, {id: bicubic.classical, settings: [{scale: 4}]}]
                metrics: [psnr, lpips]
        """))
        run = zoo.bench(str(p), out=tmp_path / "r", progress=False)
    finally:
        plugins.unregister_plugin("brokenplugin")
    df = run.results
    broken = df[df.method == "broken.test"]
    assert (broken[broken.metric == "*"].error.str.contains("NaN")).all()
    assert df[df.method == "missing-weights.test"].error.str.contains("zoo fetch missing-weights.test").any()
    # an unknown method id is the suite's mistake: refused before anything runs (tests/test_reliability_suite.py)
    ok = df[(df.method == "bicubic.classical") & (df.metric == "psnr")]
    assert len(ok) == 2 and ok.value.notna().all()
    assert (df[df.metric == "lpips"].status == "unavailable").all()
    md = (tmp_path / "r" / "leaderboard.md").read_text()
    assert "lpips: unavailable" in md and "broken.test" in md


def test_resume_after_kill_keeps_every_row_exactly_once(tmp_path):
    p = tmp_path / "slow.yaml"
    methods = "\n".join(f"      - {{id: jpeg.pil, settings: [{{quality: {q}}}]}}" for q in range(20, 100, 5))
    p.write_text(f"name: slow\nbenchmarks:\n  - name: c\n    task: compression\n    dataset: {{name: samples, split: all, crop: 128}}\n    methods:\n{methods}\n    metrics: [bpp, psnr, ssim]\n")
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "zoo.cli", "bench", str(p), "-o", str(out), "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
    deadline = time.time() + 120
    while time.time() < deadline and len(list((out / "parts").glob("*.parquet"))) < 3:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = len(list((out / "parts").glob("*.parquet")))
    assert 3 <= done < 16, f"kill came too late or too early ({done} parts)"
    run = zoo.bench(str(p), out=out, progress=False)
    assert run.reused_units == done and run.computed_units == 16 - done
    df = run.results[run.results.metric.isin(["bpp", "psnr", "ssim"])]
    assert not df.duplicated(["method", "setting", "item", "metric"]).any()
    assert len(df) == 16 * 15 * 3


def test_folder_and_paired_datasets(tmp_path):
    a, b = tmp_path / "A", tmp_path / "B"
    for d in (a, b):
        (d / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in ("x", "sub/y"):
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(a / f"{name}.png")
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(b / f"{name}.jpg")
    ds = zoo.dataset("folder", path=str(a), pair_path=str(b), style_path=str(b))
    assert ds.ids == ["sub/y", "x"] and ds[0].extras["target"].shape == (3, 16, 16) and "style" in ds[0].extras
    assert len(ds.content_hash) == 64
    (a / "z.png").write_bytes(b"junk")
    with pytest.raises(ZooError, match="no target"):
        zoo.dataset("folder", path=str(a), pair_path=str(b))
    with pytest.raises(ZooError, match="nope does not exist"):
        zoo.dataset("folder", path=str(tmp_path / "nope"))


def test_unreadable_image_is_recorded_and_run_goes_on(tmp_path):
    d = tmp_path / "imgs"
    d.mkdir()
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(d / "good.png")
    (d / "bad.png").write_bytes(b"\x89PNG broken")
    p = tmp_path / "s.yaml"
    p.write_text(f"benchmarks:\n  - {{name: c, task: compression, dataset: {{name: folder, path: '{d}'}}, methods: [png.pil], metrics: [bpp]}}\n")
    zoo.dataset("folder", path=str(d)).content_hash  # an unreadable item is hashed as such: the rest is measured (#18)
    run = zoo.bench(str(p), out=tmp_path / "r", progress=False)
    df = run.results
    assert list(df[df.status == "failed"].item) == ["bad"] and df.error.str.contains("bad.png").any()
    assert (df[(df.item == "good") & (df.metric == "bpp")].status == "ok").all()


def test_samples_dataset_split_is_fixed_and_real():
    train, held = zoo.dataset("samples", split="train"), zoo.dataset("samples", split="heldout")
    assert not set(train.ids) & set(held.ids)
    assert held.ids == ["chelsea", "rocket", "flower", "grace_hopper"]
    assert held[0].image.shape == (3, 300, 451)


def test_hub_dataset_from_a_laid_out_cache(tmp_path, monkeypatch):
    import tarfile

    from zoo.testing import lay_out_hub_cache

    cache = tmp_path / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    rev = "d" * 40
    src = tmp_path / "src"
    src.mkdir()
    for i in range(3):
        Image.fromarray(np.full((8, 8, 3), i * 40, np.uint8)).save(src / f"img{i}.png")
    archive = tmp_path / "HR.tar.gz"
    with tarfile.open(archive, "w:gz") as t:
        for f in sorted(src.iterdir()):
            t.add(f, arcname=f"HR/{f.name}")
    lay_out_hub_cache(cache, "someone/sr", rev, "data/HR.tar.gz", archive.read_bytes(), repo_type="dataset")
    ds = zoo.dataset("hub", repo="someone/sr", revision=rev, archive="data/HR.tar.gz", pattern="HR/*.png")
    assert ds.ids == ["HR/img0", "HR/img1", "HR/img2"] and float(ds[2].image.max()) == pytest.approx(80 / 255)
    with pytest.raises(ZooError, match="not a pinned"):
        zoo.dataset("hub", repo="someone/sr", revision="main")
    with pytest.raises(ZooError, match="zoo fetch"):
        zoo.dataset("hub", repo="someone/other", revision=rev)
    with pytest.raises(ZooError, match="not a pinned"):
        zoo.dataset("set14")


def test_hub_parquet_dataset_and_the_face_set_entry(tmp_path, monkeypatch):
    """Images stored as bytes in a parquet column (the Hub's Image feature), as celeba-hq is."""
    import io

    import pandas as pd

    from zoo.testing import lay_out_hub_cache

    cache = tmp_path / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    rows = []
    for i in range(4):
        buf = io.BytesIO()
        Image.fromarray(np.full((16, 12, 3), 50 + i, np.uint8)).save(buf, format="JPEG", quality=95)
        rows.append({"image": {"bytes": buf.getvalue(), "path": f"{i}.jpg"}, "label": i})
    pq = tmp_path / "shard.parquet"
    pd.DataFrame(rows).to_parquet(pq)
    entry = zoo.datasets.hub.catalog_datasets()["celeba-hq"]
    lay_out_hub_cache(cache, entry["repo"], entry["revision"], entry["parquet"], pq.read_bytes(), repo_type="dataset")
    ds = zoo.dataset("celeba-hq", limit=3)
    assert len(ds) == 3 and ds[1].image.shape == (3, 16, 12)
    assert abs(float(ds[1].image.mean()) * 255 - 51) < 2
    assert ds.options["parquet"] == entry["parquet"]
    with pytest.raises(ZooError, match="no column 'img'"):
        zoo.dataset("celeba-hq", image_column="img")


def test_archive_path_escape_is_refused(tmp_path):
    import io
    import tarfile

    from zoo.datasets.hub import _safe_extract

    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as t:
        info = tarfile.TarInfo("../../escaped.txt")
        info.size = 2
        t.addfile(info, io.BytesIO(b"hi"))
    with pytest.raises(ZooError, match="escape"):
        _safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "escaped.txt").exists()


def test_bootstrap_ci_brackets_the_mean_and_is_deterministic():
    v = np.random.default_rng(0).normal(10, 2, 200)
    lo, hi = bootstrap_ci(v, seed=0)
    assert lo < v.mean() < hi and hi - lo == pytest.approx(2 * 1.96 * 2 / np.sqrt(200), rel=0.2)
    assert bootstrap_ci(v, seed=0) == (lo, hi)
    assert np.isnan(bootstrap_ci(np.array([1.0]))[0])


def test_regression_gate_passes_and_fails(tmp_path, suite_file, capsys):
    from zoo.cli import main

    out = tmp_path / "run"
    assert main(["bench", str(suite_file), "-o", str(out), "--no-progress"]) == 0
    assert main(["compare", str(out), str(out)]) == 0
    base = pd.read_csv(out / "results.csv")
    base.loc[base.metric == "psnr-y", "value"] += 0.5
    base.to_csv(tmp_path / "drifted.csv", index=False)
    capsys.readouterr()
    assert main(["compare", str(out), str(tmp_path / "drifted.csv")]) == 1
    assert "psnr-y" in capsys.readouterr().out
    assert main(["compare", str(out), str(tmp_path / "drifted.csv"), "--tolerance", "psnr-y=0.6"]) == 0
    extra = base.iloc[[0]].assign(method="vanished.method")
    pd.concat([pd.read_csv(out / "results.csv"), extra]).to_csv(tmp_path / "more.csv", index=False)
    assert main(["compare", str(out), str(tmp_path / "more.csv")]) == 1


def test_report_folder_not_writable(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "parts").write_text("a file where a folder should be")
    with pytest.raises(ZooError, match="not writable"):
        zoo.bench("quick", out=ro, progress=False)


def test_html_escapes_names():
    from zoo.report.html import esc, safe_name

    html = esc("<script>alert(1)</script>")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert safe_name("../../etc/passwd") == "etc_passwd"


def test_golden_quick_baseline_subset_matches(tmp_path):
    """The committed golden baseline, checked on a subset of the quick suite."""
    golden = Path(__file__).parent.parent / "reports" / "quick"
    run = zoo.bench("quick", out=tmp_path / "q", methods=["bicubic.classical", "jpeg.pil", "grayscale.example"], progress=False)
    base = pd.read_csv(golden / "results.csv", keep_default_na=False, na_values=["", "nan", "NaN"])
    base["setting"] = base.setting.astype(str)
    drifts = compare(run.results, base, subset=True, tolerances={"deepdist-effnetlite0": 1e-3})
    assert drifts.empty, drifts.to_string()
