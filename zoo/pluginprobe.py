"""Import plugins in a probe process first, so one that ends the process at import is a broken plugin.

A plugin module that calls ``os._exit(0)`` (or segfaults, or is killed) while it is imported
would end ``zoo`` itself, silently and with exit status 0: no ``try`` can catch that. So
before :mod:`zoo.plugins` imports an entry point it has not seen, a short-lived child
process imports the new ones one at a time and says after each that it survived. A plugin
during whose import the child died is reported as broken (``zoo plugins`` shows
``ERROR: ... exit code 0 during import``) and is never imported into ``zoo``; the others load.

Plugins that survived are remembered in ``ZOO_CACHE/plugin-probe.json`` under their entry
point, distribution version and module file (path, size, mtime), so the probe runs once
after a plugin is installed or edited, not on every command. ``ZOO_PLUGIN_PROBE=0`` turns
the probe off.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
from typing import Any

from zoo.processes import exit_cause

_OK, _START = "zoo-probe-ok", "zoo-probe-start"


def _fingerprint(ep: importlib.metadata.EntryPoint) -> str:
    top = ep.value.split(":")[0].split(".")[0]
    try:
        spec = importlib.util.find_spec(top)  # a top-level name: nothing is imported
        origin = spec.origin if spec is not None else None
        st = os.stat(origin) if origin and os.path.exists(origin) else None
    except (ImportError, ValueError, OSError):
        origin, st = None, None
    dist = ep.dist
    return json.dumps([sys.executable, ep.name, ep.value, dist.name if dist else None, dist.version if dist else None,
                       origin, st.st_size if st else None, st.st_mtime_ns if st else None])


def _cache_path():
    from zoo.cache import zoo_cache_dir

    return zoo_cache_dir() / "plugin-probe.json"


def _read_cache() -> set[str]:
    try:
        return set(json.loads(_cache_path().read_text()))
    except (OSError, ValueError, TypeError, Exception):
        return set()


def _write_cache(ok: set[str]) -> None:
    try:
        path = _cache_path()
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(sorted(ok)))
        os.replace(tmp, path)
    except Exception:  # an unwritable cache only means the probe runs again next time
        pass


def _exit_words(rc: int) -> str:
    return exit_cause(rc).replace(" before returning", "")


def probe(eps: list[importlib.metadata.EntryPoint]) -> dict[str, str]:
    """Entry-point name -> why it is broken, for those during whose import a probe process died."""
    if os.environ.get("ZOO_PLUGIN_PROBE", "1") == "0" or not eps:
        return {}
    known = _read_cache()
    todo = [ep for ep in eps if _fingerprint(ep) not in known]
    if not todo:
        return {}
    broken: dict[str, str] = {}
    survived: set[str] = set()
    while todo:
        env = {**os.environ, "ZOO_PROBE_SYS_PATH": json.dumps(sys.path)}
        args = [f"{ep.name}={ep.value}" for ep in todo]
        try:
            p = subprocess.run([sys.executable, "-m", "zoo.pluginprobe", *args], capture_output=True, text=True,
                               env=env, timeout=float(os.environ.get("ZOO_PLUGIN_PROBE_TIMEOUT", "300")))
            out, rc = p.stdout, p.returncode
        except subprocess.TimeoutExpired as exc:
            out, rc = (exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""), None
        started = [li.split(" ", 1)[1] for li in out.splitlines() if li.startswith(_START + " ")]
        finished = {li.split(" ", 1)[1] for li in out.splitlines() if li.startswith(_OK + " ")}
        survived |= finished
        if rc == 0 and len(finished) == len(todo):
            break
        culprit = started[-1] if started and started[-1] not in finished else None
        if culprit is None:  # the probe itself could not run: do not block the plugins on it
            break
        why = "did not finish importing within the probe's time" if rc is None else _exit_words(rc)
        broken[culprit] = (f"the process ended while importing the plugin ({why} during import): a plugin must not "
                           f"exit at import; fix or uninstall it")
        todo = [ep for ep in todo if ep.name not in finished and ep.name != culprit]
    ok = {_fingerprint(ep) for ep in eps if ep.name in survived}
    if ok - known:
        _write_cache(known | ok)
    return broken


def main(argv: list[str]) -> None:
    extra = json.loads(os.environ.pop("ZOO_PROBE_SYS_PATH", "[]"))
    if extra:
        sys.path[:] = extra + [x for x in sys.path if x not in extra]
    for arg in argv:
        name, _, value = arg.partition("=")
        print(f"{_START} {name}", flush=True)
        try:
            importlib.metadata.EntryPoint(name, value, "zoo").load()
        except BaseException:  # an exception is the parent's to report when it imports the plugin itself
            pass
        print(f"{_OK} {name}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])


__all__: list[Any] = ["probe"]
