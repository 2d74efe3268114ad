"""Issue #27: units in worker processes — a plugin that exits, hangs, segfaults, raises or runs out
of memory fails its own units with the cause; the run goes on, the report is written, exit 1;
and the values are the same in-process, on one worker and on two."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import pandas as pd
import pytest

import zoo
from zoo.harness.dispatch import ExecOptions, parse_memory, timeout_for
from zoo.harness.pool import exit_cause
from zoo.report.leaderboard import COST

PLUGIN = '''
import zoo

ZOO_HOOK_API = 1
MODES = ("exit", "sleep", "segv", "raise", "oom")


@zoo.hookimpl
def register_methods(register):
    register("misbehave", "zoo_misbehave_methods:Misbehave", task="super-resolution")


@zoo.hookimpl
def register_catalog(register):
    for mode in MODES:
        register(f"{mode}.misbehave", {"task": "super-resolution", "factory": "misbehave", "params": {"mode": mode},
                                       "license": "MIT", "settings": [{"scale": 4}], "description": f"test: {mode}"})
'''

METHODS = '''
import ctypes
import os
import time

import torch
import torch.nn.functional as F

from zoo.tasks import SuperResolver


class Misbehave(SuperResolver):
    def __init__(self, mode="ok", scale=4):
        super().__init__()
        self.mode, self.scale = mode, scale

    def _upscale(self, lr):
        if self.mode == "exit":
            os._exit(0)
        if self.mode == "sleep":
            time.sleep(3600)
        if self.mode == "segv":
            ctypes.string_at(0)
        if self.mode == "raise":
            raise RuntimeError("misbehave: raised on purpose")
        if self.mode == "oom":
            torch.ones(64 << 30, dtype=torch.uint8)  # 64 GB: beyond the worker's memory limit
        return F.interpolate(lr, scale_factor=self.scale, mode="nearest")
'''

SUITE = """
name: misbehave
benchmarks:
  - name: sr
    task: super-resolution
    dataset: {{name: samples, split: heldout, crop: 48, limit: 2}}
    degradation: {{bicubic: 4}}
    timeout: {timeout}
    methods:
{methods}
    metrics: [psnr, ssim]
"""

CLEAN = ["bicubic.classical", "nearest.classical"]
BAD = {"exit": "exit code 0 before returning", "sleep": "timed out after", "segv": "signal 11 (SIGSEGV",
       "raise": "misbehave: raised on purpose", "oom": "can't allocate memory"}


def _fake_dist(site, name: str, module: str, files: dict[str, str]) -> None:
    site.mkdir(parents=True, exist_ok=True)
    for fname, src in files.items():
        (site / fname).write_text(textwrap.dedent(src))
    info = site / f"{module}-0.1.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[zoo]\n{name} = {module}\n")


def _suite(path, modes, timeout: float = 60) -> str:
    methods = "\n".join([f"      - {{id: {m}, settings: [{{scale: 4}}]}}" for m in CLEAN] + [f"      - {x}.misbehave" for x in modes])
    path.write_text(SUITE.format(timeout=timeout, methods=methods))
    return str(path)


def _values(run) -> pd.DataFrame:
    df = run.results
    df = df[~df.metric.isin(COST) & (df.status == "ok") & df.method.isin(CLEAN)]
    return df.drop(columns=["run"]).sort_values(["method", "metric", "item"]).reset_index(drop=True)


@pytest.fixture
def misbehave(fresh_plugins, tmp_path, monkeypatch):
    site = tmp_path / "site"
    _fake_dist(site, "misbehave", "zoo_misbehave", {"zoo_misbehave.py": PLUGIN, "zoo_misbehave_methods.py": METHODS})
    monkeypatch.syspath_prepend(str(site))
    fresh_plugins.reset()
    return site


def test_a_unit_that_exits_segfaults_or_hangs_fails_alone_and_the_run_goes_on(misbehave, tmp_path):
    """The fast variant (default run): no retries, a short timeout."""
    clean = zoo.bench(_suite(tmp_path / "clean.yaml", []), out=tmp_path / "clean", progress=False, report=False, workers=0)
    t0 = time.monotonic()
    run = zoo.bench(_suite(tmp_path / "bad.yaml", ["exit", "segv", "sleep"], timeout=15), out=tmp_path / "bad",
                    progress=False, workers=2, retries=0)
    assert time.monotonic() - t0 < 15 + 240
    failed = run.results[(run.results.status == "failed") & (run.results.metric == "*")].groupby("method").error.first()
    assert sorted(failed.index) == ["exit.misbehave", "segv.misbehave", "sleep.misbehave"]
    for mode in ("exit", "segv", "sleep"):
        assert BAD[mode] in failed[f"{mode}.misbehave"]
    assert "timed out after 15 s" in failed["sleep.misbehave"]
    pd.testing.assert_frame_equal(_values(run), _values(clean))
    html = (tmp_path / "bad" / "index.html").read_text()
    assert "where units ran" in html and "exit code 0 before returning" in html


@pytest.mark.slow
def test_every_kind_of_misbehaving_unit_fails_with_its_cause_and_the_rest_match_a_clean_run(misbehave, tmp_path):
    clean = zoo.bench(_suite(tmp_path / "clean.yaml", []), out=tmp_path / "clean", progress=False, report=False, workers=0)
    timeout = 20.0
    t0 = time.monotonic()
    run = zoo.bench(_suite(tmp_path / "bad.yaml", list(BAD), timeout=timeout), out=tmp_path / "bad", progress=False,
                    workers=2, memory="6G", retries=1)
    took = time.monotonic() - t0
    # exit and segv are retried once on a fresh worker (4 worker starts at most on 2 loaded cores), sleep waits its timeout
    assert took < timeout + 240, took
    df = run.results
    failed = df[(df.status == "failed") & (df.metric == "*")].groupby("method").error.first()
    assert sorted(failed.index) == sorted(f"{m}.misbehave" for m in BAD)
    for mode, words in BAD.items():
        assert words in failed[f"{mode}.misbehave"], (mode, failed[f"{mode}.misbehave"])
    assert "timed out after 20 s" in failed["sleep.misbehave"]
    assert "ran 2 times" in failed["exit.misbehave"] and "ran 2 times" in failed["segv.misbehave"]
    pd.testing.assert_frame_equal(_values(run), _values(clean))
    assert (tmp_path / "bad" / "leaderboard.md").exists() and (tmp_path / "bad" / "index.html").exists()
    meta = json.loads((tmp_path / "bad" / "meta.json").read_text())
    where = {u["method"]: u for u in meta["execution"]["units"]}
    assert where["exit.misbehave"]["retries"] == 1 and where["exit.misbehave"]["status"] == "failed"
    assert where["sleep.misbehave"]["retries"] == 0 and where["sleep.misbehave"]["timeout_s"] == timeout
    assert where["bicubic.classical"]["status"] == "ok" and where["bicubic.classical"]["worker"].startswith("local-")
    assert meta["execution"]["mode"] == "local workers" and meta["execution"]["intra_op_threads"] == 1
    # a re-run retries only the failed units; the good ones are reused without starting a worker
    again = zoo.bench(_suite(tmp_path / "bad.yaml", ["raise"], timeout=timeout), out=tmp_path / "bad", progress=False,
                      report=False, workers=2)
    assert (again.computed_units, again.reused_units) == (1, 2)


def test_zoo_bench_exits_1_with_the_report_when_a_worker_dies(misbehave, tmp_path):
    suite = _suite(tmp_path / "s.yaml", ["exit"])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(misbehave), os.environ.get("PYTHONPATH", "")])}
    p = subprocess.run([sys.executable, "-m", "zoo.cli", "bench", suite, "-o", str(tmp_path / "run"), "--no-progress",
                        "--workers", "1", "--retries", "0"], capture_output=True, text=True, env=env, timeout=600)
    assert p.returncode == 1, p.stderr[-3000:]
    assert "exit code 0 before returning" in p.stderr
    assert (tmp_path / "run" / "leaderboard.md").exists()
    assert "exit code 0 before returning" in (tmp_path / "run" / "results.csv").read_text()


def test_a_plugin_exiting_at_import_is_a_broken_plugin_not_a_silent_exit(fresh_plugins, tmp_path):
    site = tmp_path / "site"
    _fake_dist(site, "quitter", "zoo_quitter0", {"zoo_quitter0.py": "import os\nos._exit(0)\n"})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    p = subprocess.run([sys.executable, "-m", "zoo.cli", "plugins"], capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    line = next(li for li in p.stdout.splitlines() if li.startswith("quitter"))
    assert "ERROR" in line and "exit code 0" in line
    assert any(li.startswith("superres") and "ERROR" not in li for li in p.stdout.splitlines())
    suite = tmp_path / "s.yaml"
    suite.write_text(SUITE.format(timeout=60, methods="      - {id: bicubic.classical, settings: [{scale: 4}]}"))
    p = subprocess.run([sys.executable, "-m", "zoo.cli", "bench", str(suite), "-o", str(tmp_path / "run"), "--no-progress",
                        "--workers", "1"], capture_output=True, text=True, env=env, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "quitter" in p.stderr and (tmp_path / "run" / "leaderboard.md").exists()


def test_values_are_identical_in_process_and_on_two_workers(tmp_path):
    """Default run: the metrics that drifted between executors (a Fréchet distance on deep features)."""
    suite = tmp_path / "s.yaml"
    suite.write_text(textwrap.dedent("""
        name: same
        benchmarks:
          - name: codec
            task: compression
            dataset: {name: samples, split: heldout, crop: 64, limit: 3}
            methods: [{id: jpeg.pil, settings: [{quality: 30}, {quality: 60}]}]
            metrics: [bpp, psnr, ssim, fd-effnetlite0]
    """))
    runs = {w: zoo.bench(str(suite), out=tmp_path / f"w{w}", progress=False, report=False, workers=w) for w in (0, 2)}
    base = _all_values(runs[0])
    assert len(base) > 15 and base.value.notna().all() and "fd-effnetlite0" in set(base.metric)
    pd.testing.assert_frame_equal(_all_values(runs[2]), base, check_exact=True)
    assert runs[2].meta["execution"]["workers_started"] == 2
    cached = zoo.bench(str(suite), out=tmp_path / "w2", progress=False, report=False, workers=2)
    assert cached.reused_units == 2 and "workers_started" not in cached.meta["execution"]  # no worker for a cached run
    assert cached.meta["execution"]["mode"].startswith("nothing to compute")


@pytest.mark.slow
def test_values_are_identical_in_process_and_on_one_or_two_workers(tmp_path):
    suite = tmp_path / "s.yaml"
    suite.write_text(textwrap.dedent("""
        name: same
        benchmarks:
          - name: sr
            task: super-resolution
            dataset: {name: samples, split: heldout, crop: 64, limit: 3}
            degradation: {bicubic: 4}
            methods: [{id: bicubic.classical, settings: [{scale: 4}]}, {id: espcn-x4.samples}]
            metrics: [psnr, ssim, deepdist-effnetlite0]
          - name: codec
            task: compression
            dataset: {name: samples, split: heldout, crop: 64, limit: 3}
            methods: [{id: jpeg.pil, settings: [{quality: 30}]}]
            metrics: [bpp, psnr, fd-effnetlite0]
    """))
    runs = {w: zoo.bench(str(suite), out=tmp_path / f"w{w}", progress=False, report=False, workers=w) for w in (0, 1, 2)}
    base = _all_values(runs[0])
    assert len(base) > 20 and base.value.notna().all()
    for w in (1, 2):
        pd.testing.assert_frame_equal(_all_values(runs[w]), base, check_exact=True)
    assert runs[0].meta["execution"]["mode"] == "in-process" and runs[2].meta["execution"]["workers"] == 2


def _all_values(run) -> pd.DataFrame:
    df = run.results
    df = df[~df.metric.isin(COST) & ~df.metric.str.startswith("s_per")]
    return df.drop(columns=["run"]).sort_values(["benchmark", "method", "setting", "metric", "item"]).reset_index(drop=True)


def test_exit_causes_in_words():
    assert exit_cause(0) == "exit code 0 before returning"
    assert exit_cause(3) == "exit code 3 before returning"
    assert exit_cause(-11).startswith("signal 11 (SIGSEGV")
    assert exit_cause(-9).startswith("signal 9 (SIGKILL") and "out of memory" in exit_cause(-9)


def test_timeout_precedence_and_option_checks(tmp_path):
    from zoo.harness.suite import load_suite

    p = tmp_path / "t.yaml"
    p.write_text(textwrap.dedent("""
        benchmarks:
          - name: sr
            task: super-resolution
            dataset: {name: samples, split: heldout, crop: 48, limit: 1}
            degradation: {bicubic: 4}
            timeout: 30
            methods: [{id: bicubic.classical, timeout: 5}, nearest.classical]
            metrics: [psnr]
    """))
    suite = load_suite(str(p))

    class R:
        options = ExecOptions.resolve()

    from zoo.harness.plan import plan_benchmark

    plan = plan_benchmark(suite.benchmarks[0], suite, "r", "cpu")
    by = {u.card.id: u for u in plan.units}
    assert timeout_for(R, by["bicubic.classical"]) == (5.0, "suite method")
    assert timeout_for(R, by["nearest.classical"]) == (30.0, "suite benchmark")
    R.options = ExecOptions.resolve(unit_timeout=2)
    assert timeout_for(R, by["nearest.classical"]) == (2.0, "cli")
    p.write_text(p.read_text().replace("timeout: 30", "timeout: -1"))
    with pytest.raises(zoo.errors.SuiteError, match="timeout must be a positive number of seconds"):
        load_suite(str(p))
    assert parse_memory("6G") == 6 << 30 and parse_memory("512M") == 512 << 20 and parse_memory(None) == 0
    with pytest.raises(zoo.errors.ZooError, match="--worker-memory"):
        parse_memory("lots")
    with pytest.raises(zoo.errors.ZooError, match="--workers -1"):
        ExecOptions.resolve(workers=-1)
