"""Did a run succeed? Failed units and unavailable methods or metrics, for `zoo bench`'s exit code.

A CI job must not pass when a method failed (an exception, a wrong sha256) or when a method
or metric it asked for could not run. :func:`run_problems` lists each such problem once
(per unit for failures and unavailable methods, per benchmark for unavailable metrics);
:func:`verdict` turns them into an exit code and a summary:

* ``1`` when any unit failed (``--allow-failures`` accepts that);
* ``3`` when, without failures, a method or metric was unavailable (``--allow-unavailable``).

A benchmark may list metric aliases or method ids that are expected to be unavailable on
some machines (``allow_unavailable: [lpips, fid]``: their weights are downloads); those are
reported but do not change the exit code. The quick suite does so for its online metrics,
so `zoo bench` exits 0 offline.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

EXIT_FAILED, EXIT_UNAVAILABLE = 1, 3


@dataclass(frozen=True)
class Problem:
    kind: str  # "failed" or "unavailable"
    benchmark: str
    subject: str  # "method ID SETTING", "metric ALIAS" or "dataset"
    reason: str
    expected: bool = False  # listed in the benchmark's allow_unavailable

    def line(self) -> str:
        reason = " ".join(str(self.reason).split())
        return f"  {self.kind:11s} {self.benchmark} / {self.subject}: {reason[:300]}"


def run_problems(results: pd.DataFrame, allow_unavailable: dict[str, list[str]] | None = None) -> list[Problem]:
    """Every failed unit and unavailable method or metric of a run's long-form results.

    Args:
        allow_unavailable: benchmark -> metric aliases and method ids expected to be unavailable.
    """
    allow = allow_unavailable or {}
    out: list[Problem] = []
    bad = results[results.status.isin(["failed", "unavailable"])]
    for (bench, method, setting), g in bad[bad.status == "failed"].groupby(["benchmark", "method", "setting"], sort=True):
        first = g.iloc[0]
        where = "dataset" if method == "*" else f"method {method} {setting}"
        metrics = sorted({m for m in g.metric if m != "*"})
        what = f" (metric {', '.join(metrics)})" if metrics and "*" not in set(g.metric) else ""
        n = len(g[g.item != "*"])
        out.append(Problem("failed", bench, where, f"{first.error}{what}" + (f" [{n} item(s)]" if n else "")))
    una = bad[bad.status == "unavailable"]
    for (bench, method, setting), g in una[una.metric == "*"].groupby(["benchmark", "method", "setting"], sort=True):
        if method == "*":  # the benchmark's data is not here
            out.append(Problem("unavailable", bench, "dataset", g.error.iloc[0], expected="dataset" in allow.get(bench, [])))
            continue
        out.append(Problem("unavailable", bench, f"method {method} {setting}", g.error.iloc[0],
                           expected=method in allow.get(bench, [])))
    for (bench, metric), g in una[una.metric != "*"].groupby(["benchmark", "metric"], sort=True):
        out.append(Problem("unavailable", bench, f"metric {metric}", g.error.iloc[0],
                           expected=metric in allow.get(bench, [])))
    return out


def verdict(problems: list[Problem], allow_failures: bool = False, allow_unavailable: bool = False) -> tuple[int, list[str]]:
    """(exit code, summary lines for stderr)."""
    failed = [p for p in problems if p.kind == "failed"]
    unavailable = [p for p in problems if p.kind == "unavailable" and not p.expected]
    expected = [p for p in problems if p.kind == "unavailable" and p.expected]
    code = EXIT_FAILED if failed and not allow_failures else 0
    if not code and unavailable and not allow_unavailable:
        code = EXIT_UNAVAILABLE
    lines = []
    if failed or unavailable:
        lines.append(f"zoo bench: {len(failed)} failed unit(s), {len(unavailable)} unavailable method(s)/metric(s):")
        lines += [p.line() for p in failed + unavailable]
        if code:
            hints = []
            if failed and not allow_failures:
                hints.append("--allow-failures accepts failed units")
            if unavailable and not allow_unavailable:
                hints.append("--allow-unavailable accepts unavailable methods and metrics (or list the expected ones "
                             "in the benchmark's `allow_unavailable:`)")
            lines.append(f"zoo bench: exit {code}; " + "; ".join(hints))
        else:
            lines.append("zoo bench: exit 0 (allowed by " + " and ".join(
                f for f, on in (("--allow-failures", failed), ("--allow-unavailable", unavailable)) if on) + ")")
    if expected:
        lines.append("zoo bench: expected unavailable here (allow_unavailable in the suite): "
                     + ", ".join(f"{p.benchmark}/{p.subject.split(' ', 1)[-1]}" for p in expected))
    return code, lines
