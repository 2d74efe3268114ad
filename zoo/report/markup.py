"""Escaping and small building blocks of the report's HTML (shared by its page parts)."""

from __future__ import annotations

import html
import json
import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["esc", "json_for_script", "num", "frame_table"]


def esc(value: Any) -> str:
    """Text for HTML content or a quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def json_for_script(data: Any) -> str:
    """JSON safe inside ``<script type=application/json>``: no ``</script>``, no ``<!--``."""
    text = json.dumps(data, ensure_ascii=False, default=str, allow_nan=False)
    for ch, rep in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, rep)
    return text


def num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def frame_table(df: pd.DataFrame, cls: str = "sortable") -> str:
    """A plain sortable table of a frame (extra report sections such as BD-rate)."""
    if df is None or not len(df):
        return "<p class=muted>(not enough points)</p>"
    head = "".join(f"<th data-sort={'num' if pd.api.types.is_numeric_dtype(df[c]) else 'text'}>{esc(c)}</th>" for c in df.columns)
    body = []
    for _, r in df.iterrows():
        tds = []
        for c in df.columns:
            v = r[c]
            if isinstance(v, (float, np.floating)):
                f = num(v)
                tds.append(f"<td data-v='{'' if f is None else f}'>{'–' if f is None else esc(f'{f:.3f}')}</td>")
            else:
                tds.append(f'<td data-v="{esc(v)}">{esc(v)}</td>')
        method = r["method"] if "method" in df.columns else ""
        body.append(f'<tr data-method="{esc(method)}">' + "".join(tds) + "</tr>")
    return f"<table class='{cls}'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
