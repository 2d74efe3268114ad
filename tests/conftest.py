"""Test isolation: a private zoo cache and Hub cache per session, offline Hub."""

from __future__ import annotations

import os

import pytest


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
