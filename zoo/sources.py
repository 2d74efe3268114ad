"""Weights from their official source: direct download, verification, and a cache ``zoo.load`` reads.

``zoo fetch ID --from-source`` downloads an entry's ``source:`` URL when it is a direct link
(GitHub release assets, S3 buckets, the authors' servers) and checks the bytes against the
published hash pinned in the catalog: the full sha256 where independent public records agree
on one, else the leading hex digits that torch.hub-style file names carry (CompressAI's
``…-9781d705.pth.tar``). An entry with neither is fetched only on an explicit
``trust_on_first_use``; the file is then recorded as *unverified* and every result computed
with it says so.

Files land in ``<ZOO_CACHE>/sources/<first 16 hex of sha256(url)>/<file name>`` beside a
``record.json`` (URL, sha256, size, how it was verified). A download goes to a temporary file
in that folder and is moved into place only after it passed; a refused file leaves nothing
behind. Every later use hashes the file again (cached by inode and times, as for Hub files),
so bytes changed on disk are caught with both hashes named.

Links to Google Drive and Dropbox pages, repository pages and archives are not fetched: the
error prints the manual steps instead.

The HTTP part is ``huggingface_hub``'s streaming download (``http_get``: retries, resume,
size check); nothing here unpickles a file (see :func:`zoo.weights.load_state_dict`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

from zoo.cache import cached_sha256, offline, sha256_file, zoo_cache_dir
from zoo.errors import WeightsError, WeightsIntegrityError



class WeightsRef(Protocol):
    """What this module reads of a catalog weights reference (:class:`zoo.weights.WeightsRef`).

    Declared here, not imported, so that :mod:`zoo.weights` (which resolves files through this
    module) sits above it: the two form no import cycle.
    """

    @property
    def source(self) -> str | None: ...
    @property
    def sha256(self) -> str | None: ...
    @property
    def sha256_prefix(self) -> str | None: ...
    @property
    def size(self) -> int | None: ...
    @property
    def part(self) -> str | None: ...
    @property
    def bundled(self) -> str | None: ...
    @property
    def provenance(self) -> str | None: ...
    @property
    def expected_source_sha256(self) -> str | None: ...

#: hosts whose links are web pages (consent screens, previews), never the file itself
MANUAL_HOSTS = {"drive.google.com": "Google Drive", "docs.google.com": "Google Drive", "dropbox.com": "Dropbox",
                "www.dropbox.com": "Dropbox", "dl.dropboxusercontent.com": "Dropbox"}
#: file endings a direct link to a checkpoint has
WEIGHT_SUFFIXES = (".pth", ".pt", ".pth.tar", ".ckpt", ".bin", ".safetensors", ".pkl", ".h5", ".npz", ".t7")
#: files imagezoo cannot read even once downloaded (they need converting elsewhere first)
NEEDS_CONVERSION = {".pkl": "a TensorFlow/Python pickle (NVIDIA's StyleGAN releases); imagezoo never unpickles it",
                    ".t7": "a Lua Torch file", ".h5": "a Keras file"}
ARCHIVES = (".zip", ".tar.gz", ".tgz")

TOFU = "trust-on-first-use"
STATUS_ORDER = ("none", "unverified", "prefix-only", "published-pinned")


@dataclass(frozen=True)
class SourceLink:
    """An entry's ``source:`` split into the URL and the words beside it, classified.

    ``kind``: ``direct`` (a file URL imagezoo downloads), ``manual`` (a page: Drive, Dropbox,
    a repository, an archive), ``convert`` (a direct file imagezoo cannot read), or ``none``
    (no URL: weights trained here, or nothing published).
    """

    url: str | None
    note: str
    kind: str
    host: str = ""

    @property
    def file_name(self) -> str | None:
        if not self.url:
            return None
        name = urlparse(self.url).path.rsplit("/", 1)[-1]
        if not name.lower().endswith(WEIGHT_SUFFIXES + ARCHIVES):  # a page link: the note names the file
            named = re.search(r"[\w.+-]+(?:%s)\b" % "|".join(re.escape(x) for x in WEIGHT_SUFFIXES), self.note)
            name = named.group(0) if named else name
        return name or None


def parse_source(source: str | None) -> SourceLink:
    """Classify a catalog ``source:`` (``"URL"`` or ``"URL (words)"``)."""
    if not source:
        return SourceLink(None, "", "none")
    match = re.search(r"https?://\S+", source)
    if not match:
        return SourceLink(None, source, "none")
    url = match.group(0).rstrip(").,;")
    note = (source[: match.start()] + source[match.end():]).strip(" ()")
    parsed = urlparse(url)
    host = parsed.hostname or ""
    path = parsed.path.lower()
    if host in MANUAL_HOSTS:
        return SourceLink(url, note, "manual", MANUAL_HOSTS[host])
    if path.endswith(ARCHIVES):
        return SourceLink(url, note, "manual", "archive")
    for suffix in NEEDS_CONVERSION:
        if path.endswith(suffix):
            return SourceLink(url, note, "convert", host)
    if path.endswith(WEIGHT_SUFFIXES):
        return SourceLink(url, note, "direct", host)
    return SourceLink(url, note, "manual", "web page")


def hash_status(ref: "WeightsRef") -> str:
    """How the official file of ``ref`` can be checked.

    ``published-pinned``: a full sha256 pinned with a ``provenance`` note (independent public
    records agree); ``unverified``: a full sha256 pinned from a single download (``zoo fetch
    --pin`` or a trust-on-first-use fetch), no public record; ``prefix-only``: only the leading
    hex digits in the file name; ``none``: nothing. Bundled files (trained here) are ``bundled``;
    files inside an installed package count as ``published-pinned`` when their ``provenance``
    names public records of the same bytes.
    """
    if ref.bundled:
        return "bundled"
    if ref.package:  # the installed file's sha256 is always pinned; provenance says who else records it
        return "published-pinned" if ref.provenance else "unverified"
    if ref.expected_source_sha256 or (ref.sha256 and not ref.source):
        return "published-pinned" if ref.provenance else "unverified"
    if ref.sha256_prefix:
        return "prefix-only"
    return "none"


def weakest(statuses: list[str]) -> str:
    """The weakest of several refs' hash statuses (bundled counts as pinned)."""
    ranked = [s for s in statuses if s in STATUS_ORDER]
    if not ranked:
        return statuses[0] if statuses else "-"
    return min(ranked, key=STATUS_ORDER.index)


# -- the cache ----------------------------------------------------------------------------------

def sources_dir() -> Path:
    return zoo_cache_dir() / "sources"


def _slot(url: str) -> Path:
    return sources_dir() / hashlib.sha256(url.encode()).hexdigest()[:16]


def _safe_file_name(url: str) -> str:
    name = urlparse(url).path.rsplit("/", 1)[-1]
    name = re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".")
    return name or "weights.bin"


def cached_source(ref: "WeightsRef", url: str | None = None) -> tuple[Path, dict] | None:
    """(file, record) of the copy fetched from ``ref``'s official source, or None; never downloads.

    The cache slot is keyed by the catalog's official URL (``url`` names another only for a
    copy fetched from an internal mirror, which is filed under the official URL too).
    """
    link = parse_source(ref.source)
    if link.url is None:
        return None
    slot = _slot(link.url)
    try:
        record = json.loads((slot / "record.json").read_text())
    except (OSError, ValueError):
        return None
    path = slot / str(record.get("file", ""))
    if not record.get("file") or path.parent != slot or not path.is_file():
        return None
    return path, record


def verified_source(ref: "WeightsRef", method_id: str) -> Path | None:
    """The fetched official file, hashed again against the catalog pin (or its first-use record).

    Raises:
        WeightsIntegrityError: the bytes on disk differ from the pinned (or recorded) sha256.
    """
    got = cached_source(ref)
    if got is None:
        return None
    path, record = got
    expected = ref.expected_source_sha256
    actual = cached_sha256(path)
    want = expected or record.get("sha256")
    if want and actual != want:
        raise WeightsIntegrityError(
            f"{method_id}: sha256 mismatch for {path} (fetched from {record.get('url')}): expected {want}, got "
            f"{actual}. The file was left in place; delete {path.parent} and run `zoo fetch {method_id} "
            f"--from-source` again, or fix the catalog entry."
        )
    if not expected and ref.sha256_prefix and not actual.startswith(ref.sha256_prefix):
        raise WeightsIntegrityError(
            f"{method_id}: {path} has sha256 {actual}, which does not start with {ref.sha256_prefix} (the hash "
            f"prefix in the official file name); delete {path.parent} and fetch it again."
        )
    return path


def verification_of(ref: "WeightsRef") -> str | None:
    """How the local official copy was verified (``sha256``, ``prefix``, ``trust-on-first-use``), or None."""
    got = cached_source(ref)
    if got is None:
        return None
    if ref.expected_source_sha256:
        return "sha256"
    return got[1].get("verification")


# -- messages -------------------------------------------------------------------------------------

def manual_steps(ref: "WeightsRef", method_id: str) -> str:
    """What to do by hand for a source imagezoo does not download."""
    link = parse_source(ref.source)
    pin = ref.expected_source_sha256
    check = (f" Check it: `sha256sum FILE` must print {pin}." if pin else
             f" Its sha256 must start with {ref.sha256_prefix}." if ref.sha256_prefix else
             " No hash of it is published here, so compare it with the authors' page.")
    part = f"{ref.part}=" if ref.part else ""
    use = (f" Then use it: `zoo run {method_id} ... --weights {part}FILE` or `zoo.load({method_id!r}, weights="
           + (f"{{{ref.part!r}: FILE}})`" if ref.part else "FILE)`")
           + f", or file it in the cache with `zoo fetch {method_id} --from-source --file FILE`.")
    if link.kind == "manual" and link.host in ("Google Drive", "Dropbox"):
        return (f"{method_id}: the official file is on {link.host} ({link.url}{', ' + link.note if link.note else ''}), "
                f"which serves a web page rather than the file, so imagezoo does not download it. Open the link in a "
                f"browser and download the file{' named in the note' if link.note else ''}." + check + use)
    if link.kind == "manual":
        return (f"{method_id}: the official source {link.url} is a {link.host}, not a direct link to the weights file"
                f"{' (' + link.note + ')' if link.note else ''}; download the file from there by hand." + check + use)
    if link.kind == "convert":
        suffix = next(s for s in NEEDS_CONVERSION if link.url.lower().endswith(s))
        return (f"{method_id}: the official file {link.url} is {NEEDS_CONVERSION[suffix]}. Convert it where you trust "
                f"the code (for StyleGAN2: rosinality/stylegan2-pytorch `convert_weight.py`, which needs TensorFlow) "
                f"and pass the converted checkpoint with --weights." + check)
    return (f"{method_id}: no official file is published for these weights ({ref.source or 'no source named'}); "
            f"train or obtain a checkpoint and pass it with --weights.")


def missing_source_message(ref: "WeightsRef", method_id: str) -> str:
    """The error for an entry with no Hub copy whose official file is not in the cache yet."""
    link = parse_source(ref.source)
    if link.kind != "direct":
        return manual_steps(ref, method_id)
    how = (f"`zoo fetch {method_id} --from-source` downloads it and checks its "
           + ("pinned sha256" if ref.expected_source_sha256 else "hash prefix" if ref.sha256_prefix else
              "bytes only with --trust-on-first-use (no hash of it is published here)"))
    return (f"{method_id}: no Hugging Face Hub copy of these weights is pinned in the catalog yet and the official "
            f"file {link.url} is not in the cache. {how}; or download it yourself and pass it with `--weights FILE` "
            f"(zoo run / zoo.load(..., weights=FILE)).")


# -- fetching -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Fetched:
    """One official file in the cache: where, its hash and size, and how it was verified."""

    path: Path
    sha256: str
    size: int
    verification: str  # sha256 | prefix | trust-on-first-use
    url: str
    downloaded: bool


def _download(url: str, dest: Path, name: str) -> None:
    # the size is checked after hashing (a wrong file is then named with both hashes), not by http_get
    from huggingface_hub.file_download import http_get

    with open(dest, "wb") as f:
        http_get(url, f, displayed_filename=name)


def fetch_from_source(ref: "WeightsRef", method_id: str, *, trust_on_first_use: bool = False,
                      url: str | None = None, file: str | os.PathLike | None = None) -> Fetched:
    """Download ``ref``'s official file (or take a local ``file``), verify it, and file it in the cache.

    Args:
        trust_on_first_use: allow an entry with no published hash; the file is recorded as
            unverified (``meta.json`` and results say so) and its sha256 is returned to pin.
        url: fetch from this URL instead of the catalog's (an internal mirror of the same
            file); the pinned hash still applies and the copy is filed under the official URL.
        file: a copy downloaded by hand (Google Drive, Dropbox): verified and copied in.

    Raises:
        WeightsError: no direct link and no ``file``; no hash and no ``trust_on_first_use``;
            offline; the download failed.
        WeightsIntegrityError: the bytes do not match (both hashes named); nothing is kept.
    """
    link = parse_source(ref.source)
    if link.url is None or link.kind == "convert":
        raise WeightsError(manual_steps(ref, method_id))
    if link.kind != "direct" and url is None and file is None:
        raise WeightsError(manual_steps(ref, method_id))
    expected, prefix = ref.expected_source_sha256, ref.sha256_prefix
    if not expected and not prefix and not trust_on_first_use:
        raise WeightsError(
            f"{method_id}: no published sha256 of {link.url} is pinned in the catalog, so a download could not be "
            f"verified. Pass --trust-on-first-use to fetch it anyway: its sha256 is printed to pin and every result "
            f"computed with it is marked unverified."
        )
    slot = _slot(link.url)
    got = cached_source(ref)
    if got is not None and file is None:
        path, record = got
        actual = cached_sha256(path)
        if (expected and actual == expected) or (not expected and actual == record.get("sha256")):
            return Fetched(path, actual, path.stat().st_size, record.get("verification", "sha256"),
                           record.get("url", link.url), downloaded=False)
    source_url = url or link.url
    if file is None and offline():
        raise WeightsError(f"{method_id}: downloads are off (HF_HUB_OFFLINE / ZOO_OFFLINE is set); cannot fetch "
                           f"{source_url}. Unset it, or download the file elsewhere and use --file FILE.")
    slot.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".incoming-", suffix=".part", dir=slot)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if file is not None:
            shutil.copyfile(file, tmp)
        else:
            try:
                _download(source_url, tmp, link.file_name or "weights")
            except Exception as exc:
                raise WeightsError(f"{method_id}: could not download {source_url}: {type(exc).__name__}: {exc}. Check "
                                   f"the network, or download the file by hand and use --file FILE.") from exc
        actual, size = sha256_file(tmp), tmp.stat().st_size
        origin = str(file) if file is not None else source_url
        if expected and actual != expected:
            raise WeightsIntegrityError(
                f"{method_id}: sha256 mismatch for {origin}: expected {expected} (pinned: {ref.provenance or 'catalog'}), "
                f"got {actual} ({size} bytes{f', pinned size {ref.size}' if ref.size else ''}). The file was refused and nothing was kept; check the URL, or report "
                f"the changed file to the catalog maintainers."
            )
        if not expected and prefix and not actual.startswith(prefix):
            raise WeightsIntegrityError(
                f"{method_id}: sha256 of {origin} is {actual}, which does not start with {prefix}, the hash prefix "
                f"in the official file name {link.file_name}. The file was refused and nothing was kept."
            )
        if ref.size is not None and size != ref.size:
            raise WeightsIntegrityError(f"{method_id}: {origin} has {size} bytes, the catalog pins {ref.size}; refused, "
                                        f"nothing was kept.")
        verification = "sha256" if expected else "prefix" if prefix else TOFU
        name = _safe_file_name(link.url if file is None else f"/{link.file_name or Path(file).name}")
        final = slot / name
        os.replace(tmp, final)
        record = {"url": link.url, "fetched_from": origin, "file": name, "sha256": actual, "size": size,
                  "verification": verification, "method": method_id,
                  "fetched": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        rec_tmp = slot / f".record.{os.getpid()}.tmp"
        rec_tmp.write_text(json.dumps(record, indent=2))
        os.replace(rec_tmp, slot / "record.json")
        return Fetched(final, actual, size, verification, link.url, downloaded=file is None)
    finally:
        if tmp.exists():
            tmp.unlink()
        if slot.exists() and not any(slot.iterdir()):
            slot.rmdir()
