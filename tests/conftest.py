"""Test isolation: a private zoo cache and Hub cache per session, offline Hub."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

# Ray (harness executor test) reads this when first imported; see Runner._run_on_ray
os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")


def lay_out_hub_cache(cache: Path, repo: str, rev: str, filename: str, data: bytes, repo_type: str = "model") -> Path:
    """Exactly the layout huggingface_hub writes: blobs/<sha>, snapshots/<rev>/<file> -> blob, refs/main."""
    folder = cache / f"{repo_type}s--{repo.replace('/', '--')}"
    blob = folder / "blobs" / hashlib.sha256(data).hexdigest()
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(data)
    snap = folder / "snapshots" / rev / filename
    snap.parent.mkdir(parents=True, exist_ok=True)
    if snap.exists() or snap.is_symlink():
        snap.unlink()
    snap.symlink_to(blob)
    (folder / "refs").mkdir(exist_ok=True)
    (folder / "refs" / "main").write_text(rev)
    return snap


@pytest.fixture(autouse=True, scope="session")
def _isolated_caches(tmp_path_factory):
    root = tmp_path_factory.mktemp("caches")
    old = {k: os.environ.get(k) for k in ("ZOO_CACHE", "HF_HUB_CACHE", "HF_HUB_OFFLINE")}
    os.environ["ZOO_CACHE"] = str(root / "zoo")
    os.environ["HF_HUB_CACHE"] = str(root / "hub")
    os.environ["HF_HUB_OFFLINE"] = "1"
    yield
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture
def fresh_plugins():
    """Rebuild the plugin registry before and after a test that changes plugins."""
    from zoo import plugins

    plugins.reset()
    yield plugins
    plugins.reset()
