"""Private zoo and Hub caches for this plugin's tests, Hub offline (as the root test suite does)."""

import hashlib
import os
from pathlib import Path

import pytest


def lay_out_hub_cache(cache: Path, repo: str, rev: str, filename: str, data: bytes, repo_type: str = "model") -> Path:
    """The layout huggingface_hub writes (as tests/conftest.py): blobs/<sha>, snapshots/<rev>/<file> -> blob."""
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
def _fairness_isolated_caches(tmp_path_factory):
    root = tmp_path_factory.mktemp("fairness-caches")
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
def hub_cache() -> Path:
    return Path(os.environ["HF_HUB_CACHE"])
