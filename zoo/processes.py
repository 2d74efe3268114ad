"""How a child process ended, in words: shared by the worker pool and the plugin import probe."""

from __future__ import annotations

import signal


def exit_cause(returncode: int | None) -> str:
    """How a worker process ended, in words: ``exit code 0 before returning``, ``signal 11 (SIGSEGV)``."""
    if returncode is None:
        return "lost (no exit status)"
    if returncode >= 0:
        return f"exit code {returncode} before returning"
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        name = "unknown signal"
    hint = {signal.SIGKILL: "; killed from outside: out of memory, or by a user",
            signal.SIGSEGV: "; a crash in native code", signal.SIGABRT: "; aborted by native code"}.get(-returncode, "")
    return f"signal {-returncode} ({name}{hint})"
