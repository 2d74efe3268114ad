"""Result store: one parquet part file per finished unit, written atomically.

A unit's key hashes everything that changes its values (method card, weights sha256,
operating point, dataset content hash, degradation, metric fingerprints, imagezoo
version, seed, and the source and version of the code that computed it), so a repeated
run reuses stored parts and an interrupted run resumes with every finished unit intact.

A unit that failed (a method that raised, failed verification, or whose weights were not
here) is kept beside as ``<key>.failed.parquet``: it is never reused as a result, the next
run retries it (and says it does), and its record is removed once the unit succeeds.

Each part carries its unit key and a sha256 of its rows in the parquet schema metadata (a
metric state carries its key as an array): a part copied over another's name, or whose rows
changed, is not the unit its name says; it is treated as damaged.

A damaged part (truncated, empty, not parquet, missing columns, another unit's or altered) or metric state is moved
to ``parts/quarantine/`` with a note of the reason, a warning is printed, and the unit is
computed again: a damaged store heals on the next run. A run folder carries a marker
(``.zoo-run``) so ``zoo bench -o`` never writes into a folder of someone else's files.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

import pandas as pd

from zoo.errors import RunFolderError

from zoo.results import COLUMNS  # noqa: F401 (the schema lives in zoo.results; re-exported for the store's readers)


MARKER = ".zoo-run"
#: files a run folder holds (a folder with only these, or a marker, is a zoo run folder)
RUN_FILES = {"parts", "results.parquet", "results.csv", "meta.json", "leaderboard.md", "summary.csv", "index.html",
             "plots", "samples", ".figures.json", ".locks", MARKER}


def claim_run_folder(root: Path, force: bool = False, suite: str | None = None, inputs: Iterable[Path] = ()) -> None:
    """Refuse to write a run into a non-empty folder that is not a zoo run folder, unless ``force``.

    A run folder is one with the :data:`MARKER` file, or (runs written before the marker) a
    ``meta.json`` naming a suite beside ``parts/``. The marker is written on success.

    Args:
        suite: the suite about to run; a run folder of another suite is refused unless ``force``
            (its report would be replaced by this suite's).
        inputs: folders the run reads (datasets); an output folder inside one is always refused:
            the next run would count its own outputs as items.

    Raises:
        RunFolderError: the folder holds other files (names a few and the way out), is a file,
            holds another suite's run, or lies inside a folder the run reads.
    """
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise RunFolderError(f"-o {root}: is a file, not a folder; choose a folder for the run")
    where = root.resolve()
    for folder in inputs:
        inp = Path(folder).resolve()
        if where == inp or inp in where.parents:
            raise RunFolderError(f"-o {root}: is inside the dataset folder {inp}; the run's samples and reports would "
                                 f"be read as items by the next run. Choose an output folder outside the data")
    other = _suite_of(root / "meta.json") if root.is_dir() else None
    if suite is not None and other is not None and other != suite and not force:
        raise RunFolderError(f"-o {root}: holds the report of suite {other!r}; running suite {suite!r} there would "
                             f"replace it. Choose another folder, or pass --force to replace it")
    if root.is_dir() and not (root / MARKER).exists():
        entries = sorted(p.name for p in root.iterdir())
        # written before the marker existed, or a store without its report yet (a run stopped while planning)
        legacy = ((root / "parts").is_dir() and _names_a_suite(root / "meta.json")) or set(entries) <= {"parts", ".locks"}
        if entries and not legacy and not force:
            others = [e for e in entries if e not in RUN_FILES] or entries
            raise RunFolderError(
                f"-o {root}: the folder is not empty and is not a zoo run folder (it holds {', '.join(others[:5])}"
                f"{' ...' if len(others) > 5 else ''}); a run writes results.*, meta.json, plots/ and parts/ there. "
                f"Choose an empty or new folder, or pass --force to write into it anyway"
            )
    try:
        root.mkdir(parents=True, exist_ok=True)
        (root / MARKER).write_text("imagezoo run folder: `zoo bench -o` writes here\n")
    except OSError as exc:
        raise RunFolderError(f"report folder {root} is not writable ({exc.strerror}); choose another with -o DIR") from exc


def _names_a_suite(meta: Path) -> bool:
    return _suite_of(meta) is not None


def _suite_of(meta: Path) -> str | None:
    """The suite a run folder's meta.json names, or None (no meta, unreadable)."""
    try:
        suite = json.loads(meta.read_text()).get("suite")
    except (OSError, ValueError, TypeError, AttributeError):
        return None
    return str(suite) if suite is not None else None


#: schema metadata of a part file: the unit key it belongs to and a checksum of its rows
KEY_FIELD, SUM_FIELD = b"zoo.unit_key", b"zoo.rows_sha256"
#: the array of a metric-state file holding its unit key
STATE_KEY = "__zoo_unit_key__"


class PartMismatch(ValueError):
    """A stored part or metric state is not the unit its file name says (quarantined, then recomputed)."""


def rows_checksum(df: pd.DataFrame) -> str:
    """sha256 over a part's rows (column names, and every value as text: NaN and floats exactly)."""
    h = hashlib.sha256(json.dumps(list(map(str, df.columns))).encode())
    h.update(df.to_csv(index=False).encode())
    return h.hexdigest()


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
            raise RunFolderError(f"report folder {self.root} is not writable ({exc.strerror}); choose another with -o DIR") from exc

    def _path(self, key: str) -> Path:
        if not key.isalnum():
            raise ValueError(f"invalid unit key {key!r}")
        return self.parts / f"{key}.parquet"

    def has(self, key: str) -> bool:
        """True when a readable part is stored for ``key``; a damaged one is quarantined (and False returned)."""
        path = self._path(key)
        if not path.exists():
            return False
        try:
            df = self._read_part(path, key)
            missing = set(COLUMNS) - {"run"} - set(df.columns)
            if missing:
                raise ValueError(f"missing column(s) {sorted(missing)}")
            for state in self._state_files(key):
                self._read_state(state, key)
        except Exception as exc:
            self.quarantine(key, f"{type(exc).__name__}: {exc}")
            return False
        self._loaded = (key, df)
        return True

    def _state_files(self, key: str) -> list[Path]:
        """The unit's metric-state files (the folder is listed once per store, not once per unit)."""
        if getattr(self, "_listing", None) is None:
            self._listing: dict[str, list[str]] = {}
            for name in os.listdir(self.parts):
                if name.endswith(".state.npz"):
                    self._listing.setdefault(name.split(".", 1)[0], []).append(name)
        return [self.parts / n for n in self._listing.get(key, [])]

    @staticmethod
    def _read_part(path: Path, key: str) -> pd.DataFrame:
        """A part's rows, checked to be what its name says: the unit key and the rows' checksum it carries.

        Raises:
            PartMismatch: the part names another unit (a file copied over another's name), carries
                no key (written by an older imagezoo), or its rows differ from its checksum.
        """
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        meta = table.schema.metadata or {}
        stored_key = meta.get(KEY_FIELD, b"").decode()
        if stored_key != key:
            raise PartMismatch(f"the part is unit {stored_key!r}, not {key!r} (a file copied over another's name?)"
                               if stored_key else "the part carries no unit key (written by an older imagezoo)")
        df = table.to_pandas()
        digest = meta.get(SUM_FIELD, b"").decode()
        if digest != rows_checksum(df):
            raise PartMismatch(f"its rows do not match the checksum it carries ({digest[:16]}…)")
        return df

    def get(self, key: str) -> pd.DataFrame:
        loaded = getattr(self, "_loaded", None)
        if loaded is not None and loaded[0] == key:
            return loaded[1]
        return self._read_part(self._path(key), key)

    def _unit_files(self, key: str) -> list[Path]:
        """A unit's part and metric-state files that exist (listed afresh: a rare path)."""
        return [f for f in [self._path(key), *self.parts.glob(f"{key}.*.state.npz")] if f.exists()]

    def quarantine(self, key: str, reason: str) -> Path:
        """Move a damaged unit's part and states to ``parts/quarantine/`` with a note of why; warn."""
        folder = self.parts / "quarantine"
        folder.mkdir(exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S")
        for f in self._unit_files(key):
            os.replace(f, folder / f"{f.name}.{stamp}.damaged")
        note = folder / f"{key}.{stamp}.reason.txt"
        note.write_text(reason + "\n")
        print(f"[zoo] warning: stored unit {key} was damaged ({reason[:200]}); moved to {folder} and computing it "
              f"again", file=sys.stderr, flush=True)
        return note

    @staticmethod
    def _read_state(path: Path, key: str) -> dict:
        import numpy as np

        with np.load(path, allow_pickle=False) as data:
            state = {k: data[k] for k in data.files}
        stored = state.pop(STATE_KEY, None)
        if stored is None or str(stored) != key:
            raise PartMismatch(f"metric state {path.name} is unit {str(stored)!r}, not {key!r}" if stored is not None
                               else f"metric state {path.name} carries no unit key")
        return state

    @contextmanager
    def claim(self, key: str, timeout: float = -1) -> Iterator[pd.DataFrame | None]:
        """Hold the unit's lock while computing it; yields the part if another run stored it meanwhile.

        Two runs into one folder never compute the same unit: the second waits for the first
        (a :mod:`filelock` lock file under ``.locks/``) and then reuses its part.
        """
        from filelock import FileLock, Timeout

        locks = self.root / ".locks"
        locks.mkdir(exist_ok=True)
        lock = FileLock(str(locks / f"{key}.lock"))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            print(f"[zoo] unit {key} is being computed by another run into {self.root}; waiting for it",
                  file=sys.stderr, flush=True)
            lock.acquire(timeout=timeout)
        try:
            yield self.get(key) if self.has(key) else None
        finally:
            lock.release()

    def _state_path(self, key: str, alias: str) -> Path:
        tag = hashlib.sha256(alias.encode()).hexdigest()[:12]  # aliases may hold any character
        return self._path(key).with_name(f"{key}.{tag}.state.npz")

    def put_state(self, key: str, alias: str, state: dict) -> None:
        """A distribution metric's mergeable state for a shard unit (numpy arrays), written atomically."""
        import numpy as np

        path = self._state_path(key, alias)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp.npz")
        np.savez(tmp, **state, **{STATE_KEY: np.array(key)})
        os.replace(tmp, path)

    def get_state(self, key: str, alias: str) -> dict | None:
        path = self._state_path(key, alias)
        if not path.exists():
            return None
        try:
            return self._read_state(path, key)
        except Exception as exc:
            self.quarantine(key, f"metric state {path.name}: {type(exc).__name__}: {exc}")
            return None

    def put(self, key: str, rows: pd.DataFrame) -> None:
        """Write a unit's rows with its key and their checksum inside the file (schema metadata)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = self._path(key)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        rows = rows.reset_index(drop=True)
        table = pa.Table.from_pandas(rows, preserve_index=False)
        # the checksum is over the rows as they read back (the dtypes parquet keeps)
        digest = rows_checksum(table.to_pandas())
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), KEY_FIELD: key.encode(),
                                               SUM_FIELD: digest.encode()})
        pq.write_table(table, tmp)
        os.replace(tmp, path)  # atomic: a killed run never leaves a half-written part

    def drop(self, key: str) -> None:
        """Remove a unit's stored part and metric states (its result is no longer to be reused)."""
        for f in self._unit_files(key):
            f.unlink(missing_ok=True)
        self._listing = None  # the metric-state listing is read again
        if getattr(self, "_loaded", (None,))[0] == key:
            self._loaded = None

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
