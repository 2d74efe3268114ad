"""imagezoo's cache folder, the offline switch and sha256 of files (cached verdicts).

Shared by :mod:`zoo.weights` (Hub and bundled files) and :mod:`zoo.sources` (official files).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

_lock = threading.Lock()


def zoo_cache_dir() -> Path:
    """imagezoo's own cache (sha256 verdicts, metric reference statistics): ``ZOO_CACHE``."""
    root = os.environ.get("ZOO_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "imagezoo"
    )
    path = Path(root)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        from zoo.errors import ConfigError

        what = "is a file, not a folder" if path.is_file() else f"cannot be created ({exc.strerror})"
        raise ConfigError(f"imagezoo's cache {path} {what}; point ZOO_CACHE at a writable folder") from exc
    return path


def hub_cache_dir() -> str | None:
    return os.environ.get("HF_HUB_CACHE") or None


def offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` (or ``ZOO_OFFLINE``) is set: only cached files are used."""
    return any(os.environ.get(v, "").lower() in ("1", "true", "yes", "on") for v in ("HF_HUB_OFFLINE", "ZOO_OFFLINE"))


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def cached_sha256(path: Path) -> str:
    """sha256 of ``path``, remembered by (realpath, inode, size, mtime_ns, ctime_ns) in the zoo cache.

    ctime changes with every write and cannot be set back by a user, so bytes patched in
    place (even with the mtime restored) are hashed again.
    """
    real = os.path.realpath(path)
    st = os.stat(real)
    key = f"{real}|{st.st_ino}|{st.st_size}|{st.st_mtime_ns}|{st.st_ctime_ns}"
    db = zoo_cache_dir() / "sha256.json"
    with _lock:
        try:
            table = json.loads(db.read_text())
        except (OSError, ValueError):
            table = {}
        if key in table:
            return table[key]
        digest = sha256_file(Path(real))
        table[key] = digest
        tmp = db.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(table))
        os.replace(tmp, db)
    return digest


_hub_probe: dict[str, str | None] = {}


def hub_unreachable() -> str | None:
    """Why the Hugging Face Hub cannot be reached from here, or None when a connection opens.

    One TCP connect to the Hub's host (or the HTTPS proxy's), at most ``ZOO_HUB_TIMEOUT``
    seconds (default 3), once per process and endpoint: without it an unreachable Hub costs
    huggingface_hub's five retries (~25 s) per file before failing.
    """
    import socket
    import urllib.parse

    from huggingface_hub import constants

    endpoint = constants.ENDPOINT
    proxy = next((os.environ[v] for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy") if os.environ.get(v)), None)
    target = urllib.parse.urlsplit(proxy if proxy and "://" in proxy else f"http://{proxy}" if proxy else endpoint)
    key = f"{endpoint}|{proxy}"
    if key not in _hub_probe:
        host = target.hostname or ""
        port = target.port or (443 if target.scheme == "https" else 80)
        try:
            timeout = float(os.environ.get("ZOO_HUB_TIMEOUT", "3"))
        except ValueError:
            timeout = 3.0
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            _hub_probe[key] = None
        except OSError as exc:
            what = "proxy" if proxy else "Hub"
            reason = exc.strerror or str(exc) or type(exc).__name__
            _hub_probe[key] = f"the {what} {host}:{port} is unreachable: {reason}; waited at most {timeout:g} s"
    return _hub_probe[key]
