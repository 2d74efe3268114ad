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


@contextlib.contextmanager
def phase(totals: dict[str, float], name: str):
    """Add the seconds spent inside the block to ``totals[name]`` (``model_s``, ``metrics_s``)."""
    t0 = time.perf_counter()
    try:
        yield
    finally:
        totals[name] = totals.get(name, 0.0) + time.perf_counter() - t0
