"""The results format: one home for what a run writes and every reader parses.

A run's results are a long-form table, one row per measured value (:data:`COLUMNS`). This
module owns

* the column schema and the row builder (:func:`make_row`);
* how an operating point is written in the ``setting`` column (:func:`encode_setting`,
  :func:`decode_setting`) and shown to people (:func:`pretty_setting`);
* the metric-name grammar (:class:`MetricKey`): ``alias`` (one value per item),
  ``alias.key`` (a metric's named per-item figure), ``alias:stat`` (a per-unit summary),
  ``alias:stat[group]`` (a per-group summary) and ``_lo`` / ``_hi`` bounds of a summary
  (``alias:stat_lo``, ``alias:stat_lo[group]``);
* the cost columns (:data:`COST`) and which rows are machine-dependent;
* where sample images live in a run folder (:func:`sample_file`, :func:`safe_name`);
* reading a run's results back (:func:`load_results`);
* CSV a spreadsheet can open safely: text cells that would start a formula are escaped
  (:func:`write_csv`, :func:`read_csv`).

The harness writes with it and the report reads with it; neither knows the other.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from zoo.errors import ZooError

__all__ = [
    "COLUMNS", "COST", "MetricKey", "make_row", "encode_setting", "decode_setting", "pretty_setting",
    "encode_attributes", "machine_dependent", "is_cost", "safe_name", "sample_file", "load_results",
    "write_csv", "read_csv", "escape_cell", "unescape_cell",
]

#: the columns of a results table, in order
COLUMNS = ["run", "suite", "benchmark", "task", "dataset", "item", "method", "setting", "metric", "value",
           "fingerprint", "status", "error", "attributes"]

#: cost columns: measured by the harness for every unit, machine-dependent, never "best"
COST = ("runtime_ms", "encode_ms", "decode_ms", "params", "peak_mem_mb")

#: ``item`` of a value over the whole dataset (distribution metrics, unit-level rows)
ALL_ITEMS = "*"


def make_row(base: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """One results row: ``base`` (run, suite, benchmark, task, dataset, method, setting) plus ``fields``.

    Unset fields default to a measured (``status="ok"``) unit-level row without a value.
    """
    return {**base, "fingerprint": "", "status": "ok", "error": "", "value": float("nan"), "item": ALL_ITEMS,
            "attributes": "", **fields}


def encode_setting(setting: dict[str, Any]) -> str:
    """The ``setting`` column's text for an operating point: compact JSON with sorted keys."""
    return json.dumps(setting, sort_keys=True, separators=(",", ":"))


def decode_setting(text: str) -> dict[str, Any]:
    """The operating point a ``setting`` cell encodes; raises ValueError on text that is not one."""
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError(f"setting {text!r} is not a JSON object")
    return value


def pretty_setting(setting: str) -> str:
    """``{"quality":10,"space":"w+"}`` -> ``quality=10, space=w+`` ("" for the default point)."""
    try:
        d = decode_setting(setting)
    except (TypeError, ValueError):
        return str(setting)
    return ", ".join(f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in d.items())


def encode_attributes(attributes: dict[str, Any]) -> str:
    """The ``attributes`` column's text for an item's attributes ("" when it has none)."""
    return json.dumps(attributes, sort_keys=True, default=str) if attributes else ""


# -- metric names ------------------------------------------------------------------------------

_SUMMARY = re.compile(r"(?P<stat>[^\[]*?)(?:_(?P<bound>lo|hi))?(?:\[(?P<group>.*)\])?")


@dataclass(frozen=True)
class MetricKey:
    """A ``metric`` cell, parsed: which metric alias, and which of its figures.

    Attributes:
        alias: the suite's name for the metric (``psnr``, ``probe``).
        key: a named per-item figure (``probe.delta_ita`` -> ``delta_ita``), or None.
        stat: a per-unit summary figure (``probe:rate`` -> ``rate``), or None.
        group: the group a summary figure is for (``probe:rate[dark]`` -> ``dark``), or None.
        bound: ``lo`` / ``hi`` for a summary's confidence bound (``probe:rate_lo``), or None.
    """

    alias: str
    key: str | None = None
    stat: str | None = None
    group: str | None = None
    bound: str | None = None

    @classmethod
    def parse(cls, name: str) -> MetricKey:
        """Split a metric name by the grammar; a name without ``.`` or ``:`` is a plain alias."""
        name = str(name)
        if ":" in name:
            alias, rest = name.split(":", 1)
            m = _SUMMARY.fullmatch(rest)
            assert m is not None  # the pattern matches any text
            return cls(alias, stat=m["stat"], group=m["group"], bound=m["bound"])
        if "." in name:
            alias, key = name.split(".", 1)
            return cls(alias, key=key)
        return cls(name)

    def format(self) -> str:
        """The metric name this key stands for (the inverse of :meth:`parse`)."""
        if self.stat is not None:
            bound = f"_{self.bound}" if self.bound else ""
            group = f"[{self.group}]" if self.group is not None else ""
            return f"{self.alias}:{self.stat}{bound}{group}"
        return f"{self.alias}.{self.key}" if self.key is not None else self.alias

    def __str__(self) -> str:
        return self.format()

    @property
    def is_summary(self) -> bool:
        """A per-unit summary figure (``alias:...``), not a per-item value."""
        return self.stat is not None

    def with_bound(self, bound: str | None) -> MetricKey:
        """The same summary figure's ``lo`` / ``hi`` bound (or, with None, the figure itself)."""
        return MetricKey(self.alias, self.key, self.stat, self.group, bound)

    @classmethod
    def named(cls, alias: str, key: str | None = None) -> MetricKey:
        """A per-item figure: the metric itself, or its named figure ``key``."""
        return cls(alias, key=key)

    @classmethod
    def summary(cls, alias: str, stat: str) -> MetricKey:
        """A per-unit summary figure as a metric's ``aggregate`` names it (``rate``, ``gap[dark]``, ``rate_lo``)."""
        return cls.parse(f"{alias}:{stat}")


def is_cost(metric: str) -> bool:
    """A cost column (runtime, memory, parameter count): machine-dependent, never a quality figure."""
    return metric in COST


def machine_dependent(df: pd.DataFrame) -> pd.Series:
    """Rows whose values depend on the machine, not the method: the cost columns, and timings a
    method reports in its ``stats`` (keys ``seconds``, ``s_per_*``, or ending in ``_s`` / ``_ms``)."""
    reported = df.fingerprint.astype(str).str.startswith("method-reported")
    timing = df.metric.astype(str).str.fullmatch(r"seconds|s_per_.*|ms_per_.*|.*_(s|ms|seconds)")
    return df.metric.isin(COST) | (reported & timing)


# -- files of a run folder ---------------------------------------------------------------------

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(text: str, limit: int = 120) -> str:
    """A file-name-safe version of ``text`` (no separators, no leading dots)."""
    s = _SAFE.sub("_", str(text)).strip("._") or "_"
    return s[:limit]


def sample_file(bench: str, method: str, setting: str, item: str) -> str:
    """Where the harness writes a method's output for ``item`` (relative to the run folder);
    ``method`` ``_input`` / ``_reference`` name the input and the reference (``setting`` unused)."""
    if method.startswith("_"):
        return f"samples/{safe_name(bench)}/{method}--{safe_name(item)}.png"
    return f"samples/{safe_name(bench)}/{safe_name(method)}--{safe_name(setting)}--{safe_name(item)}.png"


# -- CSV files a spreadsheet opens -------------------------------------------------------------

#: a text cell starting with one of these is a formula to a spreadsheet (OWASP "CSV injection");
#: a leading quote is escaped too, so that reading back is exact
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")


def escape_cell(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula, prefixed with ``'``; anything else unchanged."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def unescape_cell(value: Any) -> Any:
    """The inverse of :func:`escape_cell` (a cell read back from a CSV this module wrote)."""
    if isinstance(value, str) and len(value) > 1 and value[0] == "'" and value[1] in FORMULA_STARTS:
        return value[1:]
    return value


def write_csv(df: pd.DataFrame, path: str | Path) -> None:
    """``df`` as CSV with text cells escaped (:func:`escape_cell`); numeric columns are written as numbers."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(escape_cell)
    out.to_csv(path, index=False)


def read_csv(path: str | Path) -> pd.DataFrame:
    """A CSV written by :func:`write_csv`, text cells unescaped (empty cells and ``nan`` read as NaN)."""
    df = pd.read_csv(path, keep_default_na=False, na_values=["", "nan", "NaN"])
    for col in df.columns:
        if df[col].dtype == object or pd.api.types.is_string_dtype(df[col]):
            df[col] = df[col].map(unescape_cell)
    return df


def load_results(path: str | Path) -> pd.DataFrame:
    """Results of a run folder (or a results.csv/.parquet file), with the column types restored.

    Raises:
        ZooError: no results file there, or it is damaged (names the file and how to rebuild it).
    """
    p = Path(path)
    if p.is_dir():
        for name in ("results.parquet", "results.csv"):
            if (p / name).exists():
                p = p / name
                break
    if not p.is_file():
        raise ZooError(f"{path}: no results.parquet or results.csv here; pass a run folder written by `zoo bench`")
    try:
        df = pd.read_parquet(p) if p.suffix == ".parquet" else read_csv(p)
        missing = {"setting", "value", "metric", "method", "status"} - set(df.columns)
        if missing:
            raise ValueError(f"missing column(s) {sorted(missing)}")
    except Exception as exc:
        raise ZooError(
            f"{p}: damaged or not a results table ({type(exc).__name__}: {' '.join(str(exc).split())[:200]}). If it "
            f"belongs to a run folder, re-run `zoo bench SUITE -o {p.parent}`: the report is rebuilt from the stored "
            f"units in parts/ without recomputing them"
        ) from exc
    for col in ("fingerprint", "error", "attributes"):  # an empty text cell of a CSV reads as NaN, and NaN != NaN
        if col in df.columns:
            df[col] = df[col].astype(object).where(df[col].notna(), "")
    df["setting"] = df["setting"].astype(str)
    df["value"] = pd.to_numeric(df["value"], errors="coerce").astype(np.float64)
    return df
