"""Fetching what a run needs: method weights (Hub, bundled or official source) and Hub datasets.

The functions here do the work and return :class:`FetchMessage` records, one per thing
done, noted or refused; the ``zoo fetch`` command prints them (results to stdout, notes
and errors to stderr) and turns errors into its exit code. Errors about the request
itself (an unknown dataset, ``--file`` with several ids) raise :class:`zoo.errors.ZooError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from zoo.errors import UnknownNameError, ZooError

__all__ = ["FetchMessage", "fetch_weights", "fetch_from_sources", "fetch_datasets"]


@dataclass(frozen=True)
class FetchMessage:
    """One outcome of a fetch: ``result`` (a file or dataset is here), ``note`` or ``error``."""

    level: Literal["result", "note", "error"]
    text: str

    @property
    def failed(self) -> bool:
        return self.level == "error"


def fetch_from_sources(method_ids: list[str], *, file: str | None = None, source_base: str | None = None,
                       trust_on_first_use: bool = False) -> list[FetchMessage]:
    """Official files of each method, verified against their published hash, into the cache ``zoo.load`` reads.

    Args:
        file: a copy downloaded by hand (Google Drive, Dropbox) to verify and file (one method only).
        source_base: fetch the official file names from this URL (an internal mirror).
        trust_on_first_use: accept a file no published hash covers (recorded as unverified).
    """
    from zoo.catalog import get_card
    from zoo.sources import TOFU, fetch_from_source, parse_source

    if file and len(method_ids) != 1:
        raise ZooError("zoo fetch --file FILE: name exactly one method id")
    out: list[FetchMessage] = []
    for mid in method_ids:
        card = get_card(mid)
        refs = [r for r in card.weights if not r.bundled]
        if file:
            name = Path(file).name
            refs = [r for r in refs if parse_source(r.source).file_name == name] or (refs if len(refs) == 1 else [])
            if not refs:
                raise ZooError(f"zoo fetch {mid} --file {file}: the file name matches none of the entry's official "
                               f"files ({', '.join(str(parse_source(r.source).file_name) for r in card.weights)})")
        if not refs:
            out.append(FetchMessage("note", f"{mid}: no weights to fetch" + (" (bundled in its plugin)" if card.weights else "")))
        for ref in refs:
            link = parse_source(ref.source)
            url = f"{source_base.rstrip('/')}/{link.file_name}" if source_base and link.file_name else None
            try:
                got = fetch_from_source(ref, mid, trust_on_first_use=trust_on_first_use, url=url, file=file)
            except ZooError as exc:
                out.append(FetchMessage("error", str(exc)))
                continue
            how = {"sha256": "sha256 verified", "prefix": f"sha256 prefix {ref.sha256_prefix} verified",
                   TOFU: "UNVERIFIED (trust on first use)"}[got.verification]
            out.append(FetchMessage("result", f"{mid}: {got.path} ({how}"
                                    f"{', filed from ' + file if file else '' if got.downloaded else ', already cached'})"))
            if got.verification == TOFU:
                out.append(FetchMessage("note", f"  no published hash was checked. To pin this file, add to the entry's weights"
                                        f"{' (part ' + ref.part + ')' if ref.part else ''}:\n  sha256: {got.sha256}\n"
                                        f"  size: {got.size}\n  (and `provenance:` once two independent public records "
                                        f"agree on it)"))
    return out


def fetch_weights(method_ids: list[str], pin: bool = False) -> list[FetchMessage]:
    """Each method's weights from the Hub (or its plugin), verified; with ``pin``, the revision and sha256 to pin."""
    from zoo.catalog import get_card
    from zoo.sources import manual_steps, parse_source
    from zoo.weights import pin as pin_ref
    from zoo.weights import resolve

    out: list[FetchMessage] = []
    for mid in method_ids:
        card = get_card(mid)
        if not card.weights:
            out.append(FetchMessage("note", f"{mid}: no weights needed"))
        for ref in card.weights:
            if ref.unmirrored:
                if parse_source(ref.source).kind == "direct":
                    part = f"{ref.part}=" if ref.part else ""
                    out.append(FetchMessage("error", f"{mid}: no Hugging Face Hub mirror is pinned for {ref.source}; "
                                            f"`zoo fetch {mid} --from-source` gets the official file, or download it "
                                            f"from there and pass it with --weights {part}FILE"))
                else:  # Drive, Dropbox, a repository page, a file to convert: the steps by hand, per part
                    out.append(FetchMessage("error", manual_steps(ref, mid)))
                continue
            try:
                if pin and ref.bundled:
                    _, digest = pin_ref(ref)
                    note = ("matches the catalog" if digest == ref.sha256 else
                            f"the catalog pins {ref.sha256}: paste this sha256 into the entry if the file is right")
                    out.append(FetchMessage("result", f"{mid}: bundled {ref.bundled} ({note})\n  bundled: {ref.bundled}\n"
                                            f"  sha256: {digest}"))
                elif pin and ref.package:  # every file of the package ref: the fields to paste for a new release
                    from importlib.metadata import version

                    from zoo.weights import package_files, sha256_file

                    (first, _), *rest = package_files(ref, mid)
                    comp = "".join(f"\n    {rel}: {sha256_file(p)}" for rel, (p, _) in zip(ref.companions, rest))
                    out.append(FetchMessage("result", f"{mid}: package {ref.package} {version(ref.package)}\n  file: {ref.file}"
                                            f"\n  sha256: {sha256_file(first)}" + (f"\n  companions:{comp}" if comp else "")))
                elif pin:
                    revision, digest = pin_ref(ref)
                    where = ref.bundled or ref.file
                    out.append(FetchMessage("result", f"{mid}: {where}" + (f"\n  revision: {revision}" if revision else "")
                                            + f"\n  sha256: {digest}"))
                else:
                    path = resolve(ref, mid, download=True)
                    out.append(FetchMessage("result", f"{mid}: {path} (sha256 verified)"))
            except Exception as exc:
                out.append(FetchMessage("error", str(exc)))
    return out


def fetch_datasets(names: list[str]) -> list[FetchMessage]:
    """Download catalog Hub datasets (pinned revision) into the Hub cache; embedded and local ones need nothing.

    Raises:
        UnknownNameError: a name that is neither a catalog dataset nor a registered dataset kind.
    """
    from zoo.datasets import build_dataset
    from zoo.datasets.hub import catalog_datasets
    from zoo.plugins import registry, unknown_message

    hub_names = catalog_datasets()
    kinds = registry().items["datasets"]
    unknown = [n for n in names if n not in hub_names and n not in kinds]
    if unknown:
        raise UnknownNameError(unknown_message("dataset", unknown[0], [*kinds, *hub_names]))
    out: list[FetchMessage] = []
    for name in names:
        if name not in hub_names:
            continue  # embedded or local datasets need no download
        try:
            ds = build_dataset(name)
            out.append(FetchMessage("result", f"{name}: {len(ds)} images at {ds.options.get('revision', '')[:12]} "
                                    f"(content sha256 {ds.content_hash[:12]})"))
        except Exception as exc:
            out.append(FetchMessage("error", str(exc)))
    return out
