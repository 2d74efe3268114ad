"""Result store: one parquet part file per finished unit, written atomically.

A unit's key hashes everything that changes its values (method card, weights sha256,
operating point, dataset content hash, degradation, metric fingerprints, imagezoo
version, seed, and the source and version of the code that computed it), so a repeated
run reuses stored parts and an interrupted run resumes with every finished unit intact.

A unit that failed (a method that raised, failed verification, or whose weights were not
here) is kept beside as ``<key>.failed.parquet``: it is never reused as a result, the next
run retries it (and says it does), and its record is removed once the unit succeeds.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pandas as pd

COLUMNS = ["run", "suite", "benchmark", "task", "dataset", "item", "method", "setting", "metric", "value",
           "fingerprint", "status", "error", "attributes"]


def unit_key(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:32]


class Store:
    """Part files under ``root/parts``; everything else in a run folder is derived from them."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.parts = self.root / "parts"
        try:
            self.parts.mkdir(parents=True, exist_ok=True)
            probe = self.parts / f".write-test-{os.getpid()}"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            from zoo.errors import ZooError

            raise ZooError(f"report folder {self.root} is not writable ({exc.strerror}); choose another with -o DIR") from exc

    def _path(self, key: str) -> Path:
        if not key.isalnum():
            raise ValueError(f"invalid unit key {key!r}")
        return self.parts / f"{key}.parquet"

    def has(self, key: str) -> bool:
        return self._path(key).exists()

    def get(self, key: str) -> pd.DataFrame:
        return pd.read_parquet(self._path(key))

    def _state_path(self, key: str, alias: str) -> Path:
        tag = hashlib.sha256(alias.encode()).hexdigest()[:12]  # aliases may hold any character
        return self._path(key).with_name(f"{key}.{tag}.state.npz")

    def put_state(self, key: str, alias: str, state: dict) -> None:
        """A distribution metric's mergeable state for a shard unit (numpy arrays), written atomically."""
        import numpy as np

        path = self._state_path(key, alias)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp.npz")
        np.savez(tmp, **state)
        os.replace(tmp, path)

    def get_state(self, key: str, alias: str) -> dict | None:
        import numpy as np

        path = self._state_path(key, alias)
        if not path.exists():
            return None
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}

    def put(self, key: str, rows: pd.DataFrame) -> None:
        path = self._path(key)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        rows.to_parquet(tmp, index=False)
        os.replace(tmp, path)  # atomic: a killed run never leaves a half-written part

    def _failed_path(self, key: str) -> Path:
        return self._path(key).with_name(f"{key}.failed.parquet")

    def put_failed(self, key: str, rows: pd.DataFrame) -> None:
        """Record a failed unit (never reused as a result; the next run retries it)."""
        path = self._failed_path(key)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        rows.to_parquet(tmp, index=False)
        os.replace(tmp, path)

    def get_failed(self, key: str) -> pd.DataFrame | None:
        """The rows of the last failed attempt at a unit, or None."""
        path = self._failed_path(key)
        try:
            return pd.read_parquet(path) if path.exists() else None
        except Exception:  # a damaged record only loses the "retrying" note
            return None

    def clear_failed(self, key: str) -> None:
        self._failed_path(key).unlink(missing_ok=True)
