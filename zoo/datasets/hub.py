"""Image datasets from Hugging Face Hub dataset repositories, pinned to a revision.

Files come through ``huggingface_hub.snapshot_download`` (so the Hub cache, offline mode
and ``HF_HUB_CACHE`` work as for weights). A repository that stores images inside a
``.tar.gz``/``.zip`` archive is extracted once into the zoo cache, refusing any member
that is not a plain file or folder inside the extraction folder, and capping its size
(see :func:`_safe_extract`).
"""

from __future__ import annotations

import hashlib
import stat
import tarfile
import zipfile
from pathlib import Path
from typing import Any

from zoo.datasets.base import Dataset, Item
from zoo.datasets.folder import folder
from zoo.errors import ZooError
from zoo.weights import hub_cache_dir, offline, zoo_cache_dir


def catalog_datasets() -> dict[str, dict]:
    """``datasets:`` entries of registry.yaml, and their ``aliases`` (B100 for BSD100)."""
    from zoo.catalog import _read_yaml, registry_path

    path = registry_path()
    entries = dict(_read_yaml(str(path), path.stat().st_mtime).get("datasets") or {})
    for name, entry in list(entries.items()):
        for alias in (entry or {}).get("aliases") or []:
            entries.setdefault(alias, {**entry, "alias_of": name})
    return entries


#: Archive limits (``ZOO_MAX_ARCHIVE_MB``, ``ZOO_MAX_ARCHIVE_MEMBERS`` override them).
MAX_ARCHIVE_MB = 20 * 1024
MAX_ARCHIVE_MEMBERS = 200_000


def _archive_limits() -> tuple[int, int]:
    from zoo.images import _env_limit

    return (_env_limit("ZOO_MAX_ARCHIVE_MB", MAX_ARCHIVE_MB, "MiB") << 20,
            _env_limit("ZOO_MAX_ARCHIVE_MEMBERS", MAX_ARCHIVE_MEMBERS, "members"))


def _safe_extract(archive: Path, dest: Path) -> None:
    """Extract a dataset archive into ``dest``, refusing anything but plain files and folders inside it.

    Tar archives go through the standard library's ``data`` filter (PEP 706): no path outside
    ``dest``, no links, device nodes or FIFOs, no setuid/setgid/sticky bits, no foreign owner.
    Both kinds are capped in total size and member count before a byte is written, and are
    extracted into a temporary folder that replaces ``dest`` only when complete.

    Raises:
        LimitError: the archive expands beyond ``ZOO_MAX_ARCHIVE_MB`` or holds more than
            ``ZOO_MAX_ARCHIVE_MEMBERS`` members.
        ZooError: a member is unsafe, or the archive is corrupt.
    """
    import shutil
    import tempfile

    from zoo.errors import LimitError

    max_bytes, max_members = _archive_limits()
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    root = tmp.resolve()

    def refuse(name: str, why: str) -> ZooError:
        return ZooError(f"archive {archive.name}: member {name!r} {why}; refusing the archive (re-download it, or "
                        f"extract it yourself and use a folder dataset)")

    def count(n: int, total: int, name: str) -> None:
        if n > max_members:
            raise LimitError(f"archive {archive.name}: more than {max_members} members; set ZOO_MAX_ARCHIVE_MEMBERS "
                             f"to a larger number to allow it")
        if total > max_bytes:
            raise LimitError(f"archive {archive.name}: expands to more than {max_bytes >> 20} MiB (at {name!r}); set "
                             f"ZOO_MAX_ARCHIVE_MB to a larger number to allow it")

    def inside(name: str) -> None:
        target = (root / name).resolve()
        if target != root and root not in target.parents:
            raise refuse(name, "would escape the extraction folder")

    try:
        if archive.suffix == ".zip":
            with zipfile.ZipFile(archive) as z:
                infos, total = z.infolist(), 0
                for n, info in enumerate(infos, 1):
                    total += info.file_size
                    count(n, total, info.filename)
                    inside(info.filename)
                    kind = stat.S_IFMT(info.external_attr >> 16)  # 0: no Unix file type recorded (a plain file)
                    if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
                        raise refuse(info.filename, "is not a plain file or folder (a link or special file)")
                for info in infos:
                    z.extract(info, tmp)  # zipfile writes plain files only and never sets permission bits
        else:
            with tarfile.open(archive) as t:
                members, total = [], 0
                for n, m in enumerate(t, 1):  # streams through the archive: nothing is written yet
                    total += max(m.size, 0)
                    count(n, total, m.name)
                    inside(m.name)
                    if m.issym() or m.islnk():
                        raise refuse(m.name, "is a link")
                    if not (m.isfile() or m.isdir()):
                        raise refuse(m.name, "is a device node, FIFO or other special file")
                    members.append(m)
                t.extractall(tmp, members=members, filter="data")
        if dest.exists():
            shutil.rmtree(dest)
        tmp.rename(dest)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise ZooError(f"archive {archive.name}: corrupt or unreadable ({type(exc).__name__}: {exc}); delete it from "
                       f"the Hub cache and fetch it again") from exc
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _parquet_dataset(files: list[Path], column: str, label: str, limit: int | None) -> Dataset:
    """Images stored as encoded bytes in a parquet column (the Hub's ``Image`` feature layout)."""
    import pyarrow.parquet as pq

    from zoo.images import decode

    loaders = []
    for f in files:
        table = pq.ParquetFile(f)
        if column not in table.schema_arrow.names:
            raise ZooError(f"dataset {label}: {f.name} has no column {column!r} (columns: {table.schema_arrow.names}); "
                           f"set `image_column:` in the entry")
        for batch in table.iter_batches(columns=[column], batch_size=64):
            for j, cell in enumerate(batch.column(0).to_pylist()):
                data = cell.get("bytes") if isinstance(cell, dict) else cell
                if not isinstance(data, (bytes, bytearray)):
                    raise ZooError(f"dataset {label}: {f.name} column {column!r} holds {type(data).__name__}, not encoded image bytes")
                item_id = f"{f.stem}-{len(loaders):05d}"
                loaders.append((item_id, lambda d=bytes(data), i=item_id: Item(i, decode(d, f"{label}/{i}"))))
                if limit and len(loaders) >= limit:
                    return Dataset(label, loaders)
    return Dataset(label, loaders)


def hub(repo: str, revision: str | None = None, pattern: str = "*", archive: str | None = None,
        name: str | None = None, crop: int | None = None, limit: int | None = None,
        parquet: str | None = None, image_column: str = "image") -> Dataset:
    """Images from a Hub dataset repo.

    Args:
        repo: ``owner/name`` of a dataset repository.
        revision: full commit sha (required: results must be reproducible).
        pattern: glob of image files inside the repo (or inside ``archive``).
        archive: a ``.tar.gz``/``.zip`` in the repo holding the images.
        parquet: glob of parquet files whose ``image_column`` holds encoded images.
    """
    label = name or repo
    if not revision or len(revision) != 40:
        raise ZooError(
            f"dataset {label}: revision {revision!r} is not a pinned 40-hex commit sha. Look up the commit on "
            f"https://huggingface.co/datasets/{repo}/commits/main and pin it in the entry."
        )
    from huggingface_hub import snapshot_download

    from zoo.cache import hub_unreachable

    allow = [archive] if archive else [parquet] if parquet else [pattern]
    # an unreachable Hub: the cached copy or a failure in seconds (not huggingface_hub's retries)
    local_only = offline() or hub_unreachable() is not None
    try:
        root = Path(snapshot_download(repo, repo_type="dataset", revision=revision, allow_patterns=allow,
                                      cache_dir=hub_cache_dir(), local_files_only=local_only, library_name="imagezoo"))
    except Exception as exc:
        raise ZooError(
            f"dataset {label}: could not get {repo}@{revision[:12]} ({type(exc).__name__}: {exc}). Run "
            f"`zoo fetch --dataset {name or repo}` where the Hub is reachable, or copy the Hub cache to HF_HUB_CACHE."
        ) from exc
    options = {"repo": repo, "revision": revision, "pattern": pattern, "archive": archive, "crop": crop, "limit": limit}
    if parquet:
        files = sorted(root.glob(parquet))
        if not files:
            raise ZooError(f"dataset {label}: no files match {parquet!r} in {repo}@{revision[:12]}")
        ds = _parquet_dataset(files, image_column, label, limit)
        ds.options = {**options, "parquet": parquet, "image_column": image_column}
        return ds
    if archive:
        src = root / archive
        if not src.exists():
            raise ZooError(f"dataset {label}: archive {archive} is not in {repo}@{revision[:12]}")
        key = hashlib.sha256(f"{repo}@{revision}/{archive}".encode()).hexdigest()[:16]
        dest = zoo_cache_dir() / "datasets" / key
        if not (dest / ".complete").exists():
            _safe_extract(src, dest)
            (dest / ".complete").touch()
        root = dest
    ds = folder(str(root), name=label, crop=crop, limit=limit, pattern=pattern)
    ds.options = options
    return ds


def from_catalog(name: str, path: str | None = None, **options: Any) -> Dataset:
    """A catalog dataset from the Hub, or from a local copy (``path``), with its variant identified.

    Args:
        path: a local folder holding the dataset's files (any layout; ``pattern`` still applies).
            Needed for sets that may not be redistributed (Manga109).
    """
    from zoo.datasets import variants as V

    entry = dict(catalog_datasets()[name])
    name = entry.pop("alias_of", name)
    declared = "variants" in entry
    known = entry.pop("variants", None) or []
    obtain = entry.pop("obtain", None)
    for k in ("license", "paper", "description", "source", "aliases"):
        entry.pop(k, None)
    if path is not None:
        ds = folder(str(path), name=name, crop=options.get("crop"), limit=options.get("limit"),
                    pattern=options.get("pattern", entry.get("pattern", "*")))
    elif not entry.get("repo"):
        raise ZooError(f"dataset {name}: {obtain or 'no Hub repository is recorded for it'}. Use a local copy with "
                       f"`dataset: {{name: {name}, path: /folder/of/{name}}}` in the suite")
    else:
        ds = hub(name=name, **{**entry, **options})
    files = getattr(ds, "files", None)
    if declared and files:
        ds.variant = V.identify(name, known, V.manifest(files))
        ds.name = V.label(name, ds.variant)
        if path is not None and ds.variant["status"] == V.UNPINNED:  # a local copy is not the Hub's variant
            ds.variant.update(variant=None, source=str(path))
    return ds
