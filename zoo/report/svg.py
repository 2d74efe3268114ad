"""Figures in the report page: SVG reduced to drawing (no scripts, no outside references), or the
image file beside the page; which benchmark a figure belongs to."""

from __future__ import annotations

import re
import urllib.parse
from pathlib import Path

from zoo.report.markup import esc
from zoo.results import safe_name

__all__ = ["sanitize_svg", "figure_html", "inside", "figure_bench"]

_SVG_NS = "http://www.w3.org/2000/svg"
_EXTERNAL = re.compile(r"@import|url\(\s*['\"]?(?!#)", re.I)  # a reference that is not to the document itself
_XLINK = "{http://www.w3.org/1999/xlink}href"


def sanitize_svg(text: str) -> str:
    """An SVG document reduced to drawing: no scripts, no foreign objects, no event handlers,
    no links other than to its own fragments (``#id``); raises ValueError on a non-SVG file."""
    import xml.etree.ElementTree as ET

    ET.register_namespace("", _SVG_NS)
    ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    root = ET.fromstring(text)
    if root.tag != f"{{{_SVG_NS}}}svg":
        raise ValueError(f"not an SVG document (root element {root.tag})")
    banned = {"script", "foreignObject", "iframe", "image", "a", "animate", "set", "animateTransform", "animateMotion", "use"}
    for parent in list(root.iter()):
        for child in list(parent):
            local = child.tag.rsplit("}", 1)[-1] if isinstance(child.tag, str) else ""
            if local in banned and not (local == "use" and _internal(child)):
                parent.remove(child)
    for parent in list(root.iter()):  # style sheets that could fetch something (@import, url(...) off the page)
        for child in list(parent):
            if isinstance(child.tag, str) and child.tag.endswith("style") and _EXTERNAL.search(child.text or ""):
                parent.remove(child)
    for el in root.iter():
        for attr in list(el.attrib):
            local = attr.rsplit("}", 1)[-1].lower()
            value = el.attrib[attr]
            if local.startswith("on") or (local == "href" and not value.startswith("#")) or _EXTERNAL.search(value):
                del el.attrib[attr]
    root.attrib.pop("width", None)  # the page sizes it
    root.attrib.pop("height", None)
    return ET.tostring(root, encoding="unicode")


def _internal(el) -> bool:
    return all(v.startswith("#") for k, v in el.attrib.items() if k.rsplit("}", 1)[-1] == "href")


def figure_html(out: Path, path: Path) -> str:
    """A figure inline (its sanitised SVG twin), else the image beside the page."""
    svg = path.with_suffix(".svg")
    caption = esc(path.stem)
    if svg.is_file():
        try:
            return f"<figure class=fig>{sanitize_svg(svg.read_text())}<figcaption>{caption}</figcaption></figure>"
        except (ValueError, SyntaxError):
            pass
    rel = urllib.parse.quote(path.relative_to(out).as_posix())
    return f'<figure class=fig><img loading=lazy src="{esc(rel)}" alt="{caption}"><figcaption>{caption}</figcaption></figure>'


def inside(out: Path, p: Path) -> bool:
    try:
        p.resolve().relative_to(out.resolve())
    except ValueError:
        return False
    return p.is_file()


def figure_bench(path: Path, benches: list[str]) -> str | None:
    """The benchmark a figure belongs to, from its file name (``{kind}-{bench}[-{suffix}]``)."""
    stem = path.stem
    hits = [b for b in benches if re.search(rf"(^|-){re.escape(safe_name(b))}($|-)", stem)]
    return max(hits, key=len) if hits else None
