"""imagezoo plugin: inversion (work in progress)."""

from __future__ import annotations

ZOO_HOOK_API = 1
