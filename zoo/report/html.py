"""A self-contained index.html for a run. Everything a plugin, a suite or a file name can
put into the page is escaped; file names are reduced to a safe character set."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(text: str, limit: int = 120) -> str:
    """A file-name-safe version of ``text`` (no separators, no leading dots)."""
    s = _SAFE.sub("_", str(text)).strip("._") or "_"
    return s[:limit]


def _md_table_to_html(md: str) -> str:
    out, in_table = [], False
    for line in md.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if all(set(c) <= {"-", ":"} for c in cells):
                continue
            tag = "th" if not in_table else "td"
            if not in_table:
                out.append("<table>")
                in_table = True
            out.append("<tr>" + "".join(f"<{tag}>{_inline(c)}</{tag}>" for c in cells) + "</tr>")
            continue
        if in_table:
            out.append("</table>")
            in_table = False
        if line.startswith("#"):
            level = min(len(line) - len(line.lstrip("#")), 4)
            out.append(f"<h{level}>{_inline(line.lstrip('#').strip())}</h{level}>")
        elif line.startswith("- "):
            out.append(f"<p class=note>{_inline(line[2:])}</p>")
        elif line.strip():
            out.append(f"<p>{_inline(line)}</p>")
    if in_table:
        out.append("</table>")
    return "\n".join(out)


def _inline(text: str) -> str:
    t = html.escape(text, quote=True)
    t = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", t)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", t)


def write_html(out: Path, leaderboard_md: str, images: list[Path], meta: dict) -> Path:
    body = [_md_table_to_html(leaderboard_md)]
    for img in images:
        rel = img.relative_to(out).as_posix()
        body.append(f'<figure><img src="{html.escape(rel, quote=True)}" alt="{html.escape(img.stem, quote=True)}">'
                    f"<figcaption>{html.escape(img.stem)}</figcaption></figure>")
    body.append(f"<details><summary>run metadata</summary><pre>{html.escape(json.dumps(meta, indent=2, default=str))}</pre></details>")
    page = ("<!doctype html><html><head><meta charset=utf-8><title>imagezoo report</title><style>"
            "body{font-family:sans-serif;max-width:1200px;margin:auto}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}img{max-width:100%}.note{color:#a40}"
            "</style></head><body>" + "\n".join(body) + "</body></html>")
    path = out / "index.html"
    path.write_text(page)
    return path
