"""Weights: catalog refs -> verified local files -> state dicts.

Hub refs go through ``huggingface_hub.hf_hub_download`` at a pinned revision; bundled refs
come from plugin package data. Every resolution verifies sha256 (the verdict for a Hub
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

    @property
    def label(self) -> str:
        if self.hub:
            return f"{self.hub}/{self.file}@{(self.revision or 'unpinned')[:12]}"
        return f"bundled {self.bundled}" if self.bundled else f"{self.source} (no Hub mirror)"

    @property
    def unmirrored(self) -> bool:
        """Only the official URL is known: no Hugging Face Hub copy is pinned yet."""
        return not self.hub and not self.bundled

    @property
    def expected_source_sha256(self) -> str | None:
        """The pinned sha256 of the official file at ``source``.

        ``source_sha256`` when the entry names it; otherwise ``sha256`` when that hash is the
        official file's own: an entry without a Hub copy, or a Hub copy of the same file (same
        file name as the source URL's last segment).
        """
        if self.source_sha256:
            return self.source_sha256
        if self.bundled or not self.sha256:
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
    found = _hub_cached(ref)
    if found is not None:
        return found
    got = cached_source(ref)  # fetched from the official source (`zoo fetch --from-source`)
    return got[0] if got else None


def is_available(ref: WeightsRef) -> bool:
    return local_path(ref) is not None


def availability(refs) -> str:
    """One label for a card's weights: ready, broken, needs fetch, unpinned or no hub mirror.

    ``broken``: a bundled file is present but its bytes do not match the pinned sha256.
    """
    refs = [r for r in refs if not r.optional] or list(refs)
    for r in refs:
        if r.bundled:
            p = local_path(r)
            if p is None or (r.sha256 and sha256_file(p) != r.sha256):
                return "broken"
    if all(is_available(r) for r in refs):
        return "ready"
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
    if ref.unmirrored:
        raise WeightsError(f"no Hugging Face Hub mirror is named for {ref.source}; there is nothing to pin")
    from huggingface_hub import hf_hub_download
    from huggingface_hub.file_download import get_hf_file_metadata, hf_hub_url

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
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    from zoo.version import __version__

    local_only = offline() or not download
    try:
        path = Path(
            hf_hub_download(
                ref.hub, ref.file, revision=ref.revision, cache_dir=hub_cache_dir(), local_files_only=local_only,
                library_name="imagezoo", library_version=__version__, etag_timeout=5,
            )
        )
    except LocalEntryNotFoundError as exc:
        why = "downloads are off (offline)" if local_only else "the Hub could not be reached"
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


def load_state_dict(path: str | os.PathLike) -> dict[str, "torch.Tensor"]:
    """Read a checkpoint safely: safetensors, or ``torch.load(weights_only=True)``.

    Raises:
        WeightsError: the file is not a checkpoint, or a ``.pth`` carries a pickle payload
            beyond tensors and plain containers (refused, never executed).
    """
    path = Path(path)
    if not path.exists():
        raise WeightsError(f"checkpoint {path} does not exist")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

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
