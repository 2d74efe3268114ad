"""Measuring a unit's cost: peak memory and wall time."""

from __future__ import annotations

import contextlib
import os
import threading
import time

import torch


class PeakRSS:
    """Peak resident memory above the starting point, sampled every 5 ms (CPU), or CUDA peak."""

    def __init__(self, device: torch.device) -> None:
        self.device, self.peak, self._stop = device, 0, threading.Event()

    @staticmethod
    def _rss() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def __enter__(self) -> "PeakRSS":
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            return self
        self.base = self._rss()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss() - self.base)
            time.sleep(0.005)

    def __exit__(self, *exc) -> None:
        if self.device.type == "cuda":
            self.peak = torch.cuda.max_memory_allocated(self.device)
            return
        self._stop.set()
        self._thread.join()

    @property
    def mb(self) -> float:
        return self.peak / 2**20

    @property
    def fingerprint(self) -> str:
        return "cuda-allocated" if self.device.type == "cuda" else "rss-delta"


#: where a computed unit's wall time goes (``meta.json`` -> ``timing`` and ``unit_timing``), in order:
#: loading the method (weights, network), decoding the dataset's images (once per dataset and
#: process), making each item's input (degradation: downscaling, masks, batching), the method's
#: own calls (warm-up included), rounding outputs to 8 bits, writing the report's sample images,
#: the metrics' own calls, building the unit's result rows, writing the unit to the result store.
#: ``other_s`` is what none of them covers (the harness's own loop).
PHASES = ("load_s", "decode_s", "degrade_s", "model_s", "round_s", "samples_s", "metrics_s", "rows_s", "store_s")


class UnitClock:
    """Seconds per phase of each computed unit, and their totals over the run.

    ``start()`` before a unit, ``stop(label, timing)`` after it is stored; ``timing`` holds the
    unit's :data:`PHASES` seconds. ``unit_s`` is the unit's wall time and ``other_s`` its part
    outside every phase.
    """

    def __init__(self, totals: dict[str, float]) -> None:
        self.totals, self.units = totals, []
        self._t0 = 0.0

    def start(self) -> None:
        self._t0 = time.perf_counter()

    def stop(self, label: str, timing: dict[str, float]) -> dict[str, float]:
        wall = time.perf_counter() - self._t0
        return self.add(label, timing, wall)

    def add(self, label: str, timing: dict[str, float], wall: float) -> dict[str, float]:
        entry = {k: timing.get(k, 0.0) for k in PHASES}
        entry["other_s"] = max(0.0, wall - sum(entry.values()))
        entry["unit_s"] = wall
        for k, v in entry.items():
            self.totals[k] = self.totals.get(k, 0.0) + v
        self.units.append({"unit": label, **{k: round(v, 4) for k, v in entry.items()}})
        return entry


@contextlib.contextmanager
def phase(totals: dict[str, float], name: str):
    """Add the seconds spent inside the block to ``totals[name]`` (one of :data:`PHASES`)."""
    t0 = time.perf_counter()
    try:
        yield
    finally:
        totals[name] = totals.get(name, 0.0) + time.perf_counter() - t0
