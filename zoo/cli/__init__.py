"""The ``zoo`` command. Data goes to stdout, logs and progress to stderr.

Exit codes: 0 success; 1 a regression gate found drifts, or some items/methods failed
in `zoo run`, or units failed in `zoo bench` (unless --allow-failures); 2 usage or input
error (unknown id, bad file, bad suite, a limit exceeded, a folder imagezoo may not write
into); 3 weights or metric unavailable / integrity failure (in `zoo bench`: a method or
metric unavailable, unless --allow-unavailable or the suite's `allow_unavailable`); 4 an
internal error (a bug: re-run with --debug and report the traceback); 130 interrupted.
One handler in :func:`main` maps each error family to its code; a traceback is shown only
with ``--debug`` (or ``ZOO_DEBUG=1``). See docs/reliability.md.

One module per group of verbs (:mod:`zoo.cli.catalog`, :mod:`zoo.cli.fetch`,
:mod:`zoo.cli.convert`, :mod:`zoo.cli.run`, :mod:`zoo.cli.bench`, :mod:`zoo.cli.maintain`),
each with a ``register(sub)`` that adds its parsers; the work itself is done by library
modules (:mod:`zoo.fetching`, :mod:`zoo.apply`, :mod:`zoo.harness`, :mod:`zoo.report`)
that return results for the verbs to print.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from zoo.cli import bench, catalog, convert, fetch, maintain, run
from zoo.cli._common import EXIT_DRIFT, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, EXIT_WEIGHTS
from zoo.errors import WeightsError, ZooError

__all__ = ["main", "build_parser", "CORE_VERBS", "EXIT_OK", "EXIT_DRIFT", "EXIT_USAGE", "EXIT_WEIGHTS",
           "EXIT_INTERNAL", "EXIT_INTERRUPTED"]

CORE_VERBS = (
    "list", "info", "fetch", "convert", "run", "plugins", "bench", "report", "compare", "mirror", "dataset-manifest",
    "new-plugin",
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="zoo", description="imagezoo: model zoo and benchmark harness for neural image processing")
    p.add_argument("--debug", action="store_true", help="show the traceback of an error (also ZOO_DEBUG=1)")
    sub = p.add_subparsers(dest="cmd", required=True)
    for verbs in (catalog, fetch, convert, run, bench, maintain):
        verbs.register(sub)
    _add_plugin_commands(sub)
    return p


def _add_plugin_commands(sub: Any) -> None:
    """Sub-commands plugins registered (``register_commands``); a name the core uses stays the core's."""
    from zoo.plugins import registry

    taken = set(sub.choices) | set(CORE_VERBS)
    for name, entry in registry().items["commands"].items():
        if name in taken:
            print(f"warning: plugin {entry.plugin!r} registered command {name!r}, which zoo itself provides; ignored",
                  file=sys.stderr)
            continue
        s = sub.add_parser(name, help=f"{entry.help or ''} (plugin {entry.plugin})".strip(), add_help=False)
        s.add_argument("args", nargs=argparse.REMAINDER)
        s.set_defaults(fn=lambda a, entry=entry: entry.obj(list(a.args)))


def _plugin_command(verb: str) -> Any:
    from zoo.plugins import registry

    return None if verb in CORE_VERBS else registry().items["commands"].get(verb)


def _os_error_message(exc: OSError) -> str:
    where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
    fix = {"PermissionError": "check the permissions, or choose another path",
           "FileNotFoundError": "check the path", "FileExistsError": "remove it or choose another path",
           "IsADirectoryError": "give a file, not a folder", "NotADirectoryError": "a part of the path is a file, not a folder"}
    return f"{where}{exc.strerror or exc}; {fix.get(type(exc).__name__, 'check the path and free disk space')}"


def main(argv: list[str] | None = None) -> int:
    """The ``zoo`` command: one handler maps every error family to its documented exit code."""
    import os

    argv = sys.argv[1:] if argv is None else list(argv)
    debug = os.environ.get("ZOO_DEBUG", "") not in ("", "0")
    while argv and argv[0] == "--debug":  # a global flag before the verb
        debug = True
        argv.pop(0)
    if argv and argv[0] in CORE_VERBS and "--debug" in argv:  # core verbs take it anywhere
        debug = True
        argv = [x for x in argv if x != "--debug"]

    def fail(code: int, message: str) -> int:
        if debug:
            import traceback

            traceback.print_exc()
        print(f"error: {message}", file=sys.stderr)
        return code

    try:
        parser = build_parser()
        command = _plugin_command(argv[0]) if argv else None
        if command is not None:  # everything after the verb, options included, is the plugin's
            return int(command.obj(argv[1:]) or 0)
        args = parser.parse_args(argv)
        return int(args.fn(args) or 0)
    except KeyboardInterrupt:
        print("interrupted; finished units are kept, re-run the same command to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except WeightsError as exc:
        return fail(EXIT_WEIGHTS, str(exc))
    except ZooError as exc:
        return fail(EXIT_USAGE, str(exc))
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:  # a path the user named: unreadable, read-only, missing, full disk
        return fail(EXIT_USAGE, _os_error_message(exc))
    except MemoryError:
        return fail(EXIT_USAGE, "out of memory; use smaller inputs (or tiles), or lower ZOO_MAX_MEMORY_MB so inputs "
                                "that cannot fit are refused up front")
    except Exception as exc:
        return fail(EXIT_INTERNAL, f"internal error ({type(exc).__name__}: {exc}). This is a bug in imagezoo or a "
                                   f"plugin: re-run with --debug for the traceback and report it")


if __name__ == "__main__":
    sys.exit(main())
