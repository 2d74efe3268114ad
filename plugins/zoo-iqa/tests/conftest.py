"""Private zoo and Hub caches for this plugin's tests, Hub offline (as the root test suite does)."""

import pytest

from zoo.testing import isolated_caches


@pytest.fixture(autouse=True, scope="session")
def _iqa_isolated_caches(tmp_path_factory):
    with isolated_caches(tmp_path_factory.mktemp("iqa-caches")):
        yield
