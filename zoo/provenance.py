"""Where each catalog entry's weights come from and how far their hashes are pinned (``zoo list --provenance``, ``zoo info``)."""

from __future__ import annotations

from typing import Any

from zoo.licences import is_non_commercial, licence_label
from zoo.sources import hash_status, parse_source, verification_of, weakest
from zoo.weights import local_path

__all__ = ["provenance_rows", "info_provenance"]


def provenance_rows(cards: list[Any]) -> list[dict[str, Any]]:
    """One row per card: official source, licence, weakest hash status of its files, Hub mirror, local copy."""
    rows = []
    for c in cards:
        refs = list(c.weights)
        links = [parse_source(r.source) for r in refs]
        kinds = sorted({"bundled" if r.bundled else f"package {r.package}" if r.package else lk.kind if lk.kind != "manual"
                        else f"manual ({lk.host})" for r, lk in zip(refs, links)})
        statuses = [hash_status(r) for r in refs]
        rows.append({
            "id": c.id, "task": c.task, "license": c.license, "non_commercial": is_non_commercial(c.license),
            "hash_status": weakest(statuses) if refs else "-", "files": len(refs),
            "source": ", ".join(kinds) if refs else "-",
            "hub_mirror": ", ".join(sorted({r.hub for r in refs if r.hub})) or "-",
            "local": ", ".join(sorted({v for r in refs if (v := "installed" if r.package and local_path(r) else
                                                           verification_of(r))})) or "-",
            "sources": [r.source for r in refs], "provenance": sorted({r.provenance for r in refs if r.provenance}),
        })
    return rows


def info_provenance(card: Any) -> dict[str, Any]:
    """A card's licence and, per weights file, its source, hash status and local copy."""
    return {"license": licence_label(card.license), "non_commercial": is_non_commercial(card.license),
            "weights_provenance": [{"part": r.part, "setting": r.setting or None, "source": parse_source(r.source).url,
                                    "source_kind": parse_source(r.source).kind, "hash_status": hash_status(r),
                                    "sha256": r.expected_source_sha256, "sha256_prefix": r.sha256_prefix,
                                    "size": r.size, "provenance": r.provenance, "local_copy": verification_of(r)}
                                   for r in card.weights]}
