"""Dataset variants pinned by content: the sha256 of every file a catalog dataset expects.

The standard test sets circulate in variants (Set14's gray images stored as L or as RGB,
different crops of ``comic`` / ``ppt3``, BMP vs PNG copies), and a variant changes the
published numbers by hundredths of a dB. A catalog entry therefore names the variants it
knows, each with its source and, once recorded, a manifest: ``{file name: sha256}``::

    set14:
      repo: eugenesiow/Set14
      ...
      variants:
        - name: eugenesiow-hf
          source: "https://huggingface.co/datasets/eugenesiow/Set14 (data/Set14_HR.tar.gz)"
          files: {baboon.png: <sha256>, ...}     # null: not pinned yet

Manifests are keyed by file name (the folder layout does not matter). A dataset whose files
match a pinned manifest is that variant; one that matches none is reported as a different
variant (its name carries ``@<sha256 of its manifest>`` so its results are never mixed with
the pinned variant's); one whose entry has no pinned manifest yet is reported as unpinned.
``zoo dataset-manifest NAME`` prints the manifest of the local files, ready to paste.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from zoo.errors import ZooError

#: statuses: the files match a pinned manifest / match none of the pinned ones / no manifest to check
PINNED, DIFFERS, UNPINNED = "pinned", "differs", "unpinned"


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def manifest(files: list[Path]) -> dict[str, str]:
    """``{file name: sha256}`` of ``files``, sorted by name.

    Raises:
        ZooError: two files share a name (a manifest is keyed by file name).
    """
    out: dict[str, str] = {}
    for f in sorted(files, key=lambda p: p.name):
        if f.name in out:
            raise ZooError(f"dataset manifest: two files are named {f.name!r} (one is {f}); manifests are keyed by "
                           f"file name, so keep one copy of each image in the dataset folder")
        out[f.name] = file_sha256(f)
    return out


def manifest_sha256(files: dict[str, str]) -> str:
    """One hash for a whole manifest (order-independent)."""
    return hashlib.sha256(json.dumps(dict(sorted(files.items())), separators=(",", ":")).encode()).hexdigest()


def _diff(expected: dict[str, str], found: dict[str, str]) -> dict[str, list[str]]:
    return {"differ": sorted(k for k in expected.keys() & found.keys() if expected[k] != found[k]),
            "missing": sorted(expected.keys() - found.keys()), "extra": sorted(found.keys() - expected.keys())}


def identify(dataset: str, variants: list[dict[str, Any]] | None, found: dict[str, str]) -> dict[str, Any]:
    """Which catalog variant the files in ``found`` are.

    Returns a JSON-ready record: ``variant`` (name, or None), ``status`` (``pinned``, ``differs``
    or ``unpinned``), ``source``, ``files`` (count), ``manifest_sha256``, and for ``differs`` the
    files that differ from the closest pinned variant (``differ``, ``missing``, ``extra``) and
    ``hint``, how to pin.
    """
    record: dict[str, Any] = {"variant": None, "status": UNPINNED, "source": None, "files": len(found),
                              "manifest_sha256": manifest_sha256(found)}
    pinned = [v for v in variants or [] if v.get("files")]
    for v in pinned:
        if dict(v["files"]) == found:
            return {**record, "variant": v["name"], "status": PINNED, "source": v.get("source")}
    how = f"`zoo dataset-manifest {dataset}` prints the manifest of these files to record them as a variant in registry.yaml"
    if pinned:
        closest = min(pinned, key=lambda v: sum(map(len, _diff(dict(v["files"]), found).values())))
        diff = _diff(dict(closest["files"]), found)
        return {**record, "status": DIFFERS, "closest": closest["name"], **diff,
                "hint": f"these files are not the pinned variant {closest['name']!r}; " + how}
    unpinned = (variants or [{}])[0]
    return {**record, "variant": unpinned.get("name"), "source": unpinned.get("source"),
            "hint": f"no file hashes are recorded for {dataset!r} yet, so its variant cannot be checked; " + how}


def label(dataset: str, record: dict[str, Any]) -> str:
    """The name results carry: the catalog name, with ``@<manifest sha256[:12]>`` for an unrecognised variant."""
    return f"{dataset}@{record['manifest_sha256'][:12]}" if record["status"] == DIFFERS else dataset


def describe(record: dict[str, Any] | None) -> str:
    """One line for a leaderboard heading."""
    if not record:
        return ""
    if record["status"] == PINNED:
        return f"variant {record['variant']} (files match its sha256 manifest)"
    if record["status"] == DIFFERS:
        n = len(record.get("differ", [])) + len(record.get("missing", [])) + len(record.get("extra", []))
        return (f"**different variant** {record['manifest_sha256'][:12]}: {n} file(s) differ from "
                f"{record.get('closest')} — not comparable with its published numbers")
    which = f"variant {record['variant']}" if record.get("variant") else f"unidentified variant ({record.get('source')})"
    return f"{which}, unpinned: no file hashes recorded to check it against"


def emit_manifest(dataset: str, found: dict[str, str], source: str | None = None, name: str | None = None) -> str:
    """A ``variants:`` block for registry.yaml recording ``found``."""
    import yaml

    block = {"variants": [{"name": name or "local", "source": source or "describe where these files came from",
                           "files": dict(sorted(found.items()))}]}
    return f"# {dataset}: {len(found)} files, manifest sha256 {manifest_sha256(found)}\n" + yaml.safe_dump(block, sort_keys=False)
