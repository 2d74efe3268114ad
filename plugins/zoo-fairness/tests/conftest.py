"""Private zoo and Hub caches for this plugin's tests, Hub offline (as the root test suite does)."""

import os
from pathlib import Path

import pytest

from zoo.testing import isolated_caches


@pytest.fixture(autouse=True, scope="session")
def _fairness_isolated_caches(tmp_path_factory):
    with isolated_caches(tmp_path_factory.mktemp("fairness-caches")):
        yield


@pytest.fixture
def hub_cache() -> Path:
    return Path(os.environ["HF_HUB_CACHE"])
