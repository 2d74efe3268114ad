"""Maintainers' and plugin authors' verbs: ``zoo mirror``, ``zoo dataset-manifest``, ``zoo new-plugin``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from zoo.cli._common import EXIT_OK, EXIT_WEIGHTS
from zoo.errors import ZooError


def cmd_dataset_manifest(a: Any) -> int:
    """Print the sha256 manifest of a dataset's files as a registry.yaml ``variants:`` block (pins a variant)."""
    from zoo.datasets import variants as V
    from zoo.datasets.folder import folder
    from zoo.datasets.hub import catalog_datasets, from_catalog

    if a.name in catalog_datasets():
        ds = from_catalog(a.name, path=a.path)
    elif a.path:
        ds = folder(a.path, name=a.name)
    else:
        raise ZooError(f"zoo dataset-manifest: {a.name!r} is not a catalog dataset; give --path DIR to hash a local folder")
    found = V.manifest(ds.files)
    if ds.variant:
        print(f"[zoo] {a.name}: {V.describe(ds.variant)}", file=sys.stderr)
    print(V.emit_manifest(a.name, found, source=a.source or (str(a.path) if a.path else None), name=a.variant), end="")
    return EXIT_OK


def cmd_mirror(a: Any) -> int:
    from zoo.mirror import mirror

    done = mirror(a.ids, a.to, dry_run=a.dry_run, out=a.out, trust_on_first_use=a.trust_on_first_use,
                  source_base=a.source_base, registry=Path(a.registry) if a.registry else None,
                  log=lambda m: print(m, file=sys.stderr))
    for s in done:
        verb = "staged (dry run, nothing uploaded)" if a.dry_run else "uploaded and recorded in registry.yaml"
        print(f"{s.method_id}: {s.repo_id} {verb}: {s.folder if a.dry_run else ''}".rstrip())
        for c in s.copies:
            print(f"  {c['file']}: sha256 {c['sha256']} (from source sha256 {c['source_sha256']})"
                  + (f" revision {c['revision']}" if c.get("revision") else ""))
    return EXIT_WEIGHTS if any(s.skipped for s in done) else EXIT_OK


def cmd_new_plugin(a: Any) -> int:
    from zoo.newplugin import write_plugin

    root = write_plugin(a.name, Path(a.output), force=a.force)
    print(root)
    print(f"next: pip install -e {root}  (uv: uv pip install -e {root}), then pytest -q {root / 'tests'}", file=sys.stderr)
    return EXIT_OK


def register(sub: Any) -> None:
    """Add ``mirror``, ``dataset-manifest`` and ``new-plugin`` to the ``zoo`` parser."""
    s = sub.add_parser("mirror", help="maintainers: official files -> verified safetensors Hub repos (+ registry.yaml)")
    s.add_argument("ids", nargs="+")
    s.add_argument("--to", required=True, help="Hugging Face user or organisation: repos are OWNER/<method id>")
    s.add_argument("--dry-run", action="store_true", help="write the folder that would be uploaded; upload nothing")
    s.add_argument("--out", help="with --dry-run: parent folder of the staged repos (default mirrors/)")
    s.add_argument("--trust-on-first-use", action="store_true", help="mirror files no published hash covers")
    s.add_argument("--source-base", help="fetch the official file names from this URL (an internal mirror)")
    s.add_argument("--registry", help="registry.yaml to record the mirrors in (default: the package's)")
    s.set_defaults(fn=cmd_mirror)

    s = sub.add_parser("dataset-manifest", help="sha256 of every file of a dataset, as a registry.yaml variants block")
    s.add_argument("name", help="catalog dataset (or any name, with --path)")
    s.add_argument("--path", help="local folder of the dataset's files (default: the catalog's Hub copy)")
    s.add_argument("--variant", help="name to record the variant under (default: local)")
    s.add_argument("--source", help="where the files came from (URL, archive, paper)")
    s.set_defaults(fn=cmd_dataset_manifest)

    s = sub.add_parser("new-plugin", help="write a working plugin package (method, metric, suite, tests)")
    s.add_argument("name", help="lowercase dashed name, e.g. my-denoiser (package zoo_my_denoiser)")
    s.add_argument("-o", "--output", default=".", help="parent folder (default: here)")
    s.add_argument("--force", action="store_true", help="write into an existing non-empty folder")
    s.set_defaults(fn=cmd_new_plugin)
