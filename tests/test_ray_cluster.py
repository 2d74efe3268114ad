"""Issue #27: `zoo bench --executor ray --address` on a multi-node Ray cluster on this machine.

A head (no CPUs: it runs nothing) and two worker nodes, every one bound to 127.0.0.1; the
tests start and stop the cluster themselves. Values must equal a local run's; a worker node
killed mid-run has its units retried on the other, with no row lost or duplicated.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import zoo
from zoo.report.leaderboard import COST

ray = pytest.importorskip("ray")

SLEEPY = '''
import zoo

ZOO_HOOK_API = 1


@zoo.hookimpl
def register_methods(register):
    register("sleepy", "zoo_sleepy_methods:Sleepy", task="super-resolution")


@zoo.hookimpl
def register_catalog(register):
    for i in range(6):
        register(f"sleepy{i}.test", {"task": "super-resolution", "factory": "sleepy", "params": {"gain": 1 - i / 50},
                                    "license": "MIT", "settings": [{"scale": 4}], "description": "test: slow nearest"})
'''

SLEEPY_METHODS = '''
import time

import torch.nn.functional as F

from zoo.tasks import SuperResolver


class Sleepy(SuperResolver):
    def __init__(self, gain=1.0, scale=4):
        super().__init__()
        self.gain, self.scale = gain, scale

    def _upscale(self, lr):
        time.sleep(4)
        return (F.interpolate(lr, scale_factor=self.scale, mode="nearest") * self.gain).clamp(0, 1)
'''


def _node_args(cpus: int) -> dict:
    return {"num_cpus": cpus, "node_ip_address": "127.0.0.1", "object_store_memory": 80 << 20,
            "include_dashboard": False} if cpus == 0 else {"num_cpus": cpus, "node_ip_address": "127.0.0.1",
                                                            "object_store_memory": 80 << 20}


@pytest.fixture
def cluster(monkeypatch, tmp_path):
    """Head + two one-CPU worker nodes on 127.0.0.1; stopped by the test."""
    from ray.cluster_utils import Cluster

    site = tmp_path / "site"
    site.mkdir()
    (site / "zoo_sleepy.py").write_text(textwrap.dedent(SLEEPY))
    (site / "zoo_sleepy_methods.py").write_text(textwrap.dedent(SLEEPY_METHODS))
    info = site / "zoo_sleepy-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: zoo_sleepy\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[zoo]\nsleepy = zoo_sleepy\n")
    # the nodes and the driver see the same plugins (on a real cluster: the same image)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    c = Cluster(initialize_head=True, head_node_args=_node_args(0))
    nodes = [c.add_node(**_node_args(1)) for _ in range(2)]
    try:
        yield c, nodes, site
    finally:
        c.shutdown()


def _images(folder, n=3):
    folder.mkdir()
    rng = np.random.default_rng(1)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(folder / f"img{i}.png")


def _bench(args: list[str], env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "zoo.cli", "bench", *args, "--no-progress"], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=900, **kw)


def _values(df: pd.DataFrame) -> pd.DataFrame:
    df = df[~df.metric.isin(COST)]
    return df.drop(columns=["run"]).sort_values(["benchmark", "method", "setting", "metric", "item"]).reset_index(drop=True)


def test_bench_through_address_on_two_nodes_equals_the_local_run(cluster, tmp_path):
    c, nodes, _ = cluster
    _images(tmp_path / "photos")
    suite = tmp_path / "s.yaml"
    suite.write_text(textwrap.dedent(f"""
        name: cluster
        benchmarks:
          - name: sr
            task: super-resolution
            dataset: {{name: samples, split: heldout, crop: 48, limit: 2}}
            degradation: {{bicubic: 4}}
            methods: [{{id: bicubic.classical, settings: [{{scale: 4}}]}}, {{id: nearest.classical, settings: [{{scale: 4}}]}}]
            metrics: [psnr, ssim]
          - name: folder
            task: super-resolution
            dataset: {{name: folder, path: {tmp_path / 'photos'}}}
            degradation: {{bicubic: 4}}
            methods: [{{id: bicubic.classical, settings: [{{scale: 4}}]}}]
            metrics: [psnr]
    """))
    p = _bench([str(suite), "-o", str(tmp_path / "ray"), "--executor", "ray", "--address", c.address])
    assert p.returncode == 0, p.stderr[-4000:]
    local = zoo.bench(str(suite), out=tmp_path / "local", progress=False, report=False, workers=0)
    ray_df = pd.read_parquet(tmp_path / "ray" / "results.parquet")
    pd.testing.assert_frame_equal(_values(ray_df), _values(local.results), check_exact=True, check_dtype=False)
    meta = json.loads((tmp_path / "ray" / "meta.json").read_text())
    ex = meta["execution"]
    assert ex["mode"] == "ray" and c.address in ex["ray"] and ex["shipped_bytes"] > 0  # the folder travelled
    worker_nodes = {n.node_id for n in nodes}
    assert {u["node"] for u in ex["units"]} <= worker_nodes and all(u["status"] == "ok" for u in ex["units"])
    assert len(ex["units"]) == 3


@pytest.mark.slow
def test_a_worker_node_killed_mid_run_has_its_units_retried_without_loss_or_duplicates(cluster, tmp_path, fresh_plugins,
                                                                                    monkeypatch):
    c, nodes, site = cluster
    suite = tmp_path / "s.yaml"
    suite.write_text(textwrap.dedent("""
        name: sleepy
        benchmarks:
          - name: sr
            task: super-resolution
            dataset: {name: samples, split: heldout, crop: 48, limit: 2}
            degradation: {bicubic: 4}
            methods: [sleepy0.test, sleepy1.test, sleepy2.test, sleepy3.test, sleepy4.test, sleepy5.test]
            metrics: [psnr]
    """))
    out = tmp_path / "ray"
    proc = subprocess.Popen([sys.executable, "-m", "zoo.cli", "bench", str(suite), "-o", str(out), "--no-progress",
                             "--executor", "ray", "--address", c.address, "--retries", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and len(list((out / "parts").glob("*.parquet"))) < 1:
        time.sleep(0.5)
    assert proc.poll() is None, proc.communicate()[1][-3000:]
    c.remove_node(nodes[0], allow_graceful=False)  # mid-run: the next units are on both nodes
    _, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err[-4000:]
    df = pd.read_parquet(out / "results.parquet")
    psnr = df[df.metric == "psnr"]
    assert len(psnr) == 12 and not psnr.duplicated(["method", "item"]).any()  # 6 methods x 2 items, once each
    monkeypatch.syspath_prepend(str(site))  # this process sees the test plugin too, for the local run
    fresh_plugins.reset()
    local = zoo.bench(str(suite), out=tmp_path / "local", progress=False, report=False, workers=0)
    pd.testing.assert_frame_equal(_values(df), _values(local.results), check_exact=True, check_dtype=False)
    units = json.loads((out / "meta.json").read_text())["execution"]["units"]
    assert len(units) == 6 and any(u["retries"] >= 1 for u in units), units
    assert all(u["node"] == nodes[1].node_id for u in units if u["retries"])


def test_a_driver_only_folder_too_big_to_ship_is_refused_before_the_run(tmp_path):
    _images(tmp_path / "photos", n=2)
    suite = tmp_path / "s.yaml"
    suite.write_text(textwrap.dedent(f"""
        benchmarks:
          - name: folder
            task: super-resolution
            dataset: {{name: folder, path: {tmp_path / 'photos'}}}
            degradation: {{bicubic: 4}}
            methods: [{{id: bicubic.classical, settings: [{{scale: 4}}]}}]
            metrics: [psnr]
    """))
    t0 = time.monotonic()
    p = _bench([str(suite), "-o", str(tmp_path / "run"), "--executor", "ray", "--address", "127.0.0.1:1"],
               env={"ZOO_SHIP_LIMIT_MB": "0.001"})
    assert p.returncode == 2, p.stderr[-2000:]
    assert "photos" in p.stderr and "--shared-fs" in p.stderr and "more than the" in p.stderr
    assert not list((tmp_path / "run" / "parts").glob("*.parquet")) if (tmp_path / "run" / "parts").exists() else True
    assert time.monotonic() - t0 < 300
