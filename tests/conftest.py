"""Test isolation: a private zoo cache and Hub cache per session, offline Hub."""

from __future__ import annotations

import os

import pytest

# Ray (harness executor test) reads this when first imported; see zoo.harness.executors.run_on_ray
os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
# units run in this process unless a test asks for workers (tests/test_workers.py, the Ray tests):
# a worker pool per zoo.bench call would add its start-up to every test that runs a suite
os.environ.setdefault("ZOO_WORKERS", "0")

from zoo.testing import isolated_caches  # noqa: E402


@pytest.fixture(autouse=True, scope="session")
def _isolated_caches(tmp_path_factory):
    with isolated_caches(tmp_path_factory.mktemp("caches")):
        yield


@pytest.fixture
def fresh_plugins():
    """Rebuild the plugin registry before and after a test that changes plugins."""
    from zoo import plugins

    plugins.reset()
    yield plugins
    plugins.reset()
