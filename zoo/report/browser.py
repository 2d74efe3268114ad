"""A headless Chromium for the report's browser test and its page-weight measurement.

Playwright drives the system's Chromium (Debian's ``chromium`` package: ``apt-get install
chromium``) through ``executable_path``; Playwright's own browser download is not needed.
``ZOO_CHROMIUM`` names another binary.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """Path of a Chromium binary (``ZOO_CHROMIUM``, else the first of :data:`CANDIDATES` on PATH)."""
    env = os.environ.get("ZOO_CHROMIUM")
    if env:
        return env if Path(env).is_file() else None
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def unavailable_reason() -> str | None:
    """Why the browser checks cannot run here (None: they can)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (it is in the dev dependency group: uv sync)"
    if find_chromium() is None:
        env = os.environ.get("ZOO_CHROMIUM")
        if env:
            return f"ZOO_CHROMIUM={env} is not a file"
        return ("no Chromium on PATH (looked for " + ", ".join(CANDIDATES) + "); install Debian's package with "
                "`apt-get install -y chromium` (.ci/run does) or point ZOO_CHROMIUM at a binary")
    return None


def launch(playwright):
    """A headless Chromium from the system binary."""
    return playwright.chromium.launch(executable_path=find_chromium(), headless=True, args=["--no-sandbox"])
