"""Timing shared by the perf scripts: ours and the peer alternate in one run, best of N rounds each."""

from __future__ import annotations

import time
from typing import Any, Callable


def race(f_ours: Callable[[], Any], f_peer: Callable[[], Any] | None, rounds: int) -> tuple[float, float, Any, Any]:
    """Seconds (best of ``rounds``) and last values of ``f_ours`` and ``f_peer`` (None: ours alone), after a warm-up call of each."""
    v_ours, v_peer = f_ours(), (f_peer() if f_peer else None)  # warm-up
    t_ours, t_peer = float("inf"), float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        v_ours = f_ours()
        t1 = time.perf_counter()
        if f_peer:
            v_peer = f_peer()
        t2 = time.perf_counter()
        t_ours, t_peer = min(t_ours, t1 - t0), min(t_peer, t2 - t1)
    return t_ours, t_peer, v_ours, v_peer
