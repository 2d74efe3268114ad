"""``zoo fetch``: weights and datasets onto this machine (the work is :mod:`zoo.fetching`'s)."""

from __future__ import annotations

import sys
from typing import Any

from zoo.cli._common import EXIT_OK, EXIT_WEIGHTS
from zoo.errors import ZooError


def _report(messages: list[Any]) -> int:
    """Print fetch results to stdout, notes and errors to stderr; the exit code (3 if anything failed)."""
    status = EXIT_OK
    for m in messages:
        if m.level == "result":
            print(m.text)
        else:
            print(f"error: {m.text}" if m.failed else m.text, file=sys.stderr)
            status = EXIT_WEIGHTS if m.failed else status
    return status


def cmd_fetch(a: Any) -> int:
    from zoo.fetching import fetch_datasets, fetch_from_sources, fetch_weights

    ids, datasets = list(a.ids), list(a.dataset or [])
    if a.suite:
        from zoo.harness.suite import load_suite

        spec = load_suite(a.suite, a.include_path)
        ids += [m.id for b in spec.benchmarks for m in b.methods]
        datasets += [b.dataset["name"] for b in spec.benchmarks]
    ids, datasets = list(dict.fromkeys(ids)), list(dict.fromkeys(datasets))
    if not ids and not datasets:
        raise ZooError("zoo fetch: name method ids, --dataset NAME or --suite SUITE")
    if a.from_source or a.file:
        return _report(fetch_from_sources(ids, file=a.file, source_base=a.source_base,
                                          trust_on_first_use=a.trust_on_first_use))
    if a.trust_on_first_use or a.source_base:
        raise ZooError("--trust-on-first-use and --source-base go with --from-source")
    status = _report(fetch_weights(ids, a.pin)) if ids else EXIT_OK
    return max(status, _report(fetch_datasets(datasets)))


def register(sub: Any) -> None:
    """Add ``fetch`` to the ``zoo`` parser."""
    s = sub.add_parser("fetch", help="download and verify weights")
    s.add_argument("ids", nargs="*")
    s.add_argument("--suite", help="fetch every method and Hub dataset of a suite")
    s.add_argument("--dataset", action="append", help="fetch a catalog Hub dataset (repeatable)")
    s.add_argument("--include-path", action="append", default=[])
    s.add_argument("--pin", action="store_true", help="resolve the current commit and print revision + sha256 to pin")
    s.add_argument("--from-source", action="store_true",
                   help="download the official file (direct links), verify its published hash, file it in the cache")
    s.add_argument("--trust-on-first-use", action="store_true",
                   help="with --from-source: accept a file no published hash covers (recorded as unverified)")
    s.add_argument("--source-base", help="with --from-source: fetch the official file names from this URL "
                   "(an internal mirror); the pinned hashes still apply")
    s.add_argument("--file", help="file a copy downloaded by hand (Google Drive, Dropbox) after verifying it")
    s.set_defaults(fn=cmd_fetch)
