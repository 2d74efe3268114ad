"""The report site: ``index.html`` in a run folder, the page people read.

It opens from disk with no network access: the style sheet, the script, the figures (SVG)
and the data are inline; only the sample images stay beside it (``samples/``, written by
the harness) and are loaded when the viewer shows them. A Content-Security-Policy in the
page forbids every request that is not to the run folder itself, and allows only the one
inline script the report ships (by its hash).

Everything a plugin, a suite, a dataset or a file name can put into the page is escaped
here: markup goes through :func:`html.escape`, the data the script reads is JSON with
``<``, ``>`` and ``&`` written as ``\\u003c`` ..., and the script only ever sets
``textContent``. File names are reduced to a safe character set (:func:`safe_name`) and
figures are read only from inside the run folder.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
import re
import urllib.parse
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from zoo.results import pretty_setting, safe_name, sample_file  # noqa: F401 (safe_name re-exported)

ASSETS = Path(__file__).with_name("site")
SECTIONS_FILE = ".sections.json"


def esc(value: Any) -> str:
    """Text for HTML content or a quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def json_for_script(data: Any) -> str:
    """JSON safe inside ``<script type=application/json>``: no ``</script>``, no ``<!--``."""
    text = json.dumps(data, ensure_ascii=False, default=str, allow_nan=False)
    for ch, rep in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, rep)
    return text


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


# -- SVG figures -----------------------------------------------------------------------------

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


def _figure_html(out: Path, path: Path) -> str:
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


def _inside(out: Path, p: Path) -> bool:
    try:
        p.resolve().relative_to(out.resolve())
    except ValueError:
        return False
    return p.is_file()


def _figure_bench(path: Path, benches: list[str]) -> str | None:
    """The benchmark a figure belongs to, from its file name (``{kind}-{bench}[-{suffix}]``)."""
    stem = path.stem
    hits = [b for b in benches if re.search(rf"(^|-){re.escape(safe_name(b))}($|-)", stem)]
    return max(hits, key=len) if hits else None


# -- tables ----------------------------------------------------------------------------------

def _cell_text(mean: float, lo: float, hi: float, metric: str) -> tuple[str, str]:
    from zoo.report.leaderboard import _fmt

    ci = f"[{_fmt(lo)}, {_fmt(hi)}]" if np.isfinite(lo) else ""
    return _fmt(mean, metric), ci


def _bench_table(bg: pd.DataFrame, meta: dict, bench: str, cards: dict[str, str]) -> str:
    """The leaderboard of one benchmark: sortable columns, best marked, statuses with reasons."""
    from zoo.report.leaderboard import COST, _direction, best_means, table_metrics

    metrics = table_metrics(bg)
    best = best_means(bg, meta, bench, metrics)
    head = ['<th data-sort=text>method</th>', '<th data-sort=text>setting</th>', '<th data-sort=num data-dir=1>n</th>']
    for m in metrics:
        d = _direction(meta, bench, m)
        arrow = "↑" if d else "↓" if d is False else ""
        info = meta.get("metrics", {}).get(f"{bench}/{m}", {})
        title = f"{m}: {'higher' if d else 'lower'} is better" if d is not None else m
        if info.get("fingerprint"):
            title += f" — {info['fingerprint']}"
        head.append(f'<th data-sort=num data-dir={1 if d else -1} data-metric="{esc(m)}" class="{"cost" if m in COST else "metric"}"'
                    f' title="{esc(title)}">{esc(m)} <span class=arrow>{arrow}</span></th>')
    from zoo.report.ranking import below_baseline, is_lossless

    below = below_baseline(bg, meta, bench)
    rows, lossless = [], []
    for (method, setting), g in bg.groupby(["method", "setting"], sort=False):
        if is_lossless(meta, bench, method, setting):
            lossless.append((method, setting, g))
            continue
        by_metric: dict[str, Any] = {}
        for r in g.itertuples(index=False):
            by_metric.setdefault(r.metric, r)
        ns = [r.n for r in g.itertuples(index=False) if r.metric not in COST]
        n = str(int(max(ns))) if ns else ""
        whole = [r for r in g.itertuples(index=False) if r.metric == "*" and r.status in ("unavailable", "failed")]
        status = whole[0].status if whole else "ok"
        link = f'<a href="#card-{cards[method]}">{esc(method)}</a>' if method in cards else esc(method)
        if (method, setting) in below:
            link += f' <span class=below>below baseline {esc(below[(method, setting)])}</span>'
        shown = pretty_setting(setting)
        cells = [f'<td class=method data-v="{esc(method)}">{link}</td>',
                 f'<td class=setting data-v="{esc(shown)}" title="{esc(setting)}">{esc(shown)}</td>', f'<td data-v="{esc(n)}">{esc(n)}</td>']
        for m in metrics:
            r = by_metric.get(m)
            cls = "cost" if m in COST else "metric"
            if r is None:
                if whole and m not in COST:
                    cells.append(f'<td class="{cls} st-{esc(status)}" data-v="" title="{esc(whole[0].note)}">{esc(status)}</td>')
                else:
                    cells.append(f'<td class={cls} data-v=""></td>')
                continue
            if r.status in ("unavailable", "failed") and not np.isfinite(r.mean):
                cells.append(f'<td class="{cls} st-{esc(r.status)}" data-v="" title="{esc(r.note)}">{esc(r.status)}</td>')
                continue
            mean, ci = _cell_text(r.mean, r.ci_low, r.ci_high, m)
            v = _num(r.mean)
            sort_v = "1e308" if r.mean == np.inf else "-1e308" if r.mean == -np.inf else "" if v is None else repr(v)
            note = "" if pd.isna(r.note) else str(r.note)
            title = f"n = {int(r.n)}" + (f"; 95% bootstrap CI {ci}" if ci else "") + (f"; {note}" if note else "")
            is_best = m in best and r.mean == best[m]
            mark = " ★" if is_best else ""
            dagger = "†" if note and r.status == "ok" else ""
            klass = f"{cls}{' best' if is_best else ''}{' partial' if r.status == 'partial' else ''}"
            cells.append(f'<td class="{klass}" data-v="{sort_v}" title="{esc(title)}"><span class=mean>{esc(mean)}{dagger}{mark}</span>'
                         + (f' <span class=ci>{esc(ci)}</span>' if ci else "") + "</td>")
        rows.append(f'<tr data-method="{esc(method)}" data-setting="{esc(shown + " " + setting)}" data-status="{esc(status)}">'
                    + "".join(cells) + "</tr>")
    return ('<div class=tablewrap><table class="board sortable"><thead><tr>' + "".join(head) + "</tr></thead><tbody>"
            + "\n".join(rows) + "</tbody></table></div>" + _comparability_html(meta, bench, below, lossless))


def _comparability_html(meta: dict, bench: str, below: dict, lossless: list) -> str:
    """Under a table: why it has no ★ (rate–distortion), the lossless rows apart, the baseline rule."""
    from zoo.report.leaderboard import COST
    from zoo.report.ranking import rate_columns

    parts = []
    rates = sorted(rate_columns(meta, bench))
    if rates:
        parts.append(f"<p class=muted>No ★ in this table: each row is an operating point at its own rate "
                     f"({esc(', '.join(rates))}); compare codecs by BD-rate and the rate–distortion plot.</p>")
    if lossless:
        cols = rates or ["bpp"]
        body = []
        for method, setting, g in lossless:
            n = g[~g.metric.isin(COST)].n
            cells = [esc(method), esc(pretty_setting(setting)), esc(str(int(n.max())) if len(n) else "")]
            for c in cols:
                r = g[g.metric == c]
                mean, ci = ("", "") if r.empty else _cell_text(r["mean"].iloc[0], r.ci_low.iloc[0], r.ci_high.iloc[0], c)
                cells.append(f"{esc(mean)} <span class=ci>{esc(ci)}</span>" if ci else esc(mean))
            body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        parts.append("<p>Lossless (every item reproduced exactly; their distortion columns are not comparable with "
                     "the lossy rows):</p><div class=tablewrap><table class=board><thead><tr><th>method</th><th>setting</th>"
                     "<th>n</th>" + "".join(f"<th>{esc(c)} ↓</th>" for c in cols) + "</tr></thead><tbody>"
                     + "".join(body) + "</tbody></table></div>")
    spec = meta.get("baselines", {}).get(bench)
    if spec:
        parts.append(f"<p class=muted>Trivial baselines: {esc(', '.join(spec['methods']))}; a method worse than one on "
                     f"{esc(spec['judged_on'])} is marked “below baseline” and gets no ★.</p>")
    return "".join(parts)


def _bench_notes(bg: pd.DataFrame) -> str:
    """Unavailable metrics, failed units and flagged values of a benchmark, with their reasons."""
    unavailable = bg[bg.status == "unavailable"]
    unavailable = pd.concat([unavailable[unavailable.metric != "*"].drop_duplicates(["metric"]),
                             unavailable[unavailable.metric == "*"].drop_duplicates(["method", "note"])])
    items = []
    for _, r in unavailable.iterrows():
        who = f"<code>{esc(r.method)}</code>" if r.metric == "*" else esc(r.metric)
        items.append(f'<li class=st-unavailable>{who}: <b>unavailable</b> — {esc(r.note)}</li>')
    for _, r in bg[bg.status.isin(["failed", "partial"])].drop_duplicates(["method", "metric", "note"]).iterrows():
        what = "" if r.metric == "*" else f" {esc(r.metric)}"
        items.append(f'<li class=st-{esc(r.status)}><code>{esc(r.method)}</code>{what}: <b>{esc(r.status)}</b> — {esc(r.note)}</li>')
    for _, r in bg[(bg.status == "ok") & (bg.note.astype(str) != "")].drop_duplicates(["metric", "note"]).iterrows():
        items.append(f"<li>{esc(r.metric)}†: {esc(r.note)}</li>")
    return f"<ul class=notes>{''.join(items)}</ul>" if items else ""


def _summary_tables(bg: pd.DataFrame) -> str:
    """Per-unit summary figures (``alias:key`` rows, e.g. a fairness probe's per-group gaps)."""
    from zoo.report.leaderboard import _fmt, _insufficient

    agg = bg[bg.metric.astype(str).str.contains(":", regex=False) & (bg["mean"].notna() | _insufficient(bg))]
    parts = []
    for alias in dict.fromkeys(m.split(":", 1)[0] for m in agg.metric):
        a = agg[agg.metric.str.startswith(alias + ":")]
        vals = {(r.method, r.setting, r.metric.split(":", 1)[1]): r["mean"] if np.isfinite(r["mean"]) else str(r.note)
                for _, r in a.iterrows()}
        keys = list(dict.fromkeys(k for (_, _, k) in vals))
        is_bound = lambda k: k.split("[", 1)[0].endswith(("_lo", "_hi"))  # noqa: E731
        overall = [k for k in keys if "[" not in k and not is_bound(k)]
        grouped = [k for k in keys if "[" in k and not is_bound(k)]
        units = list(dict.fromkeys((m, st) for (m, st, _) in vals))

        def cell(m: str, st: str, k: str) -> str:
            v = vals.get((m, st, k))
            if v is None:
                return "<td data-v=''></td>"
            if isinstance(v, str):  # "insufficient n (2 of 6 people)" instead of a number
                return f"<td data-v='' class=muted>{esc(v)}</td>"
            lo_k = k.replace("[", "_lo[", 1) if "[" in k else k + "_lo"
            hi_k = k.replace("[", "_hi[", 1) if "[" in k else k + "_hi"
            lo, hi = vals.get((m, st, lo_k)), vals.get((m, st, hi_k))
            ci = f" <span class=ci>[{esc(_fmt(lo))}, {esc(_fmt(hi))}]</span>" if lo is not None and hi is not None and np.isfinite(lo) else ""
            return f"<td data-v='{_num(v) if _num(v) is not None else ''}'>{esc(_fmt(v))}{ci}</td>"

        def head(cols: list[str]) -> str:
            return "".join(f"<th data-sort=num>{esc(c)}</th>" for c in cols)

        if overall:
            body = "".join(f'<tr data-method="{esc(m)}" data-setting="{esc("" if st == "{}" else st)}"><td data-v="{esc(m)}">{esc(m)}</td>'
                           f'<td data-v="{esc(st)}">{esc(pretty_setting(st))}</td>'
                           + "".join(cell(m, st, k) for k in overall) + "</tr>" for m, st in units)
            parts.append(f"<h4>{esc(alias)} — summary</h4><table class='summary sortable'><thead><tr><th data-sort=text>method</th>"
                         f"<th data-sort=text>setting</th>{head(overall)}</tr></thead><tbody>{body}</tbody></table>")
        if grouped:
            stats = list(dict.fromkeys(k.split("[", 1)[0] for k in grouped))
            groups = list(dict.fromkeys(k.split("[", 1)[1].rstrip("]") for k in grouped))
            body = ""
            for m, st in units:
                for grp in groups:
                    cells = [cell(m, st, f"{s}[{grp}]") for s in stats]
                    if any("data-v=''" not in c for c in cells):
                        body += (f'<tr data-method="{esc(m)}" data-setting="{esc("" if st == "{}" else st)}"><td data-v="{esc(m)}">{esc(m)}</td>'
                                 f'<td data-v="{esc(st)}"><code>{esc("" if st == "{}" else st)}</code></td><td data-v="{esc(grp)}">{esc(grp)}</td>'
                                 + "".join(cells) + "</tr>")
            parts.append(f"<h4>{esc(alias)} — per group</h4><table class='summary sortable'><thead><tr><th data-sort=text>method</th>"
                         f"<th data-sort=text>setting</th><th data-sort=text>group</th>{head(stats)}</tr></thead><tbody>{body}</tbody></table>")
    return "".join(parts)


def _frame_table(df: pd.DataFrame, cls: str = "sortable") -> str:
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
                f = _num(v)
                tds.append(f"<td data-v='{'' if f is None else f}'>{'–' if f is None else esc(f'{f:.3f}')}</td>")
            else:
                tds.append(f'<td data-v="{esc(v)}">{esc(v)}</td>')
        method = r["method"] if "method" in df.columns else ""
        body.append(f'<tr data-method="{esc(method)}">' + "".join(tds) + "</tr>")
    return f"<table class='{cls}'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


# -- viewer data -----------------------------------------------------------------------------

def _viewer(out: Path, df: pd.DataFrame, bench: str, meta: dict, seen: dict[str, str] | None = None) -> dict | None:
    """What the comparison viewer shows for one benchmark: every item, the images the harness
    saved for it (input, reference, each method at each operating point) and its per-item values.
    Identical files (a lossless codec's output and the reference) are loaded once: ``seen``
    maps a file's sha256 to the first path with those bytes."""
    seen = {} if seen is None else seen

    def canonical(rel: str) -> str:
        digest = hashlib.sha256((out / rel).read_bytes()).hexdigest()
        return urllib.parse.quote(seen.setdefault(digest, rel))

    from zoo.report.leaderboard import COST, _direction

    bd = df[(df.benchmark == bench) & (df.item != "*")]
    if bd.empty:
        return None
    items = list(dict.fromkeys(bd.item.astype(str)))
    units = list(dict.fromkeys(zip(bd.method, bd.setting)))
    labels = {u: u[0] + ("" if u[1] == "{}" else f" ({pretty_setting(u[1])})") for u in units}
    sampled = meta.get("datasets", {}).get(bench, {}).get("samples")
    sampled = set(map(str, sampled)) if sampled is not None else None  # older runs: whatever is on disk
    images: dict[str, dict[str, str]] = {}
    for item in items:
        found = {}
        if sampled is not None and item not in sampled:  # a file left by an earlier run with other items
            images[item] = found
            continue
        for key, who in (("input", "_input"), ("reference", "_reference")):
            rel = sample_file(bench, who, "", item)
            if (out / rel).is_file():
                found[key] = canonical(rel)
        for key in ("style",):  # the image extras a task spec shows (TaskSpec.shown_extras)
            rel = sample_file(bench, f"_{key}", "", item)
            if (out / rel).is_file():
                found[key] = canonical(rel)
        for u in units:
            rel = sample_file(bench, u[0], u[1], item)
            if (out / rel).is_file():
                found[labels[u]] = canonical(rel)
        images[item] = found
    if not any(images.values()):
        return None
    ok = bd[(bd.status == "ok") & ~bd.metric.isin(COST)]
    values: dict[str, dict[str, dict[str, float | None]]] = {}
    for (method, setting, item), g in ok.groupby(["method", "setting", "item"], sort=False):
        values.setdefault(labels[(method, setting)], {})[str(item)] = {str(r.metric): _num(r.value) for r in g.itertuples()}
    failed = bd[bd.status == "failed"]
    errors: dict[str, dict[str, str]] = {}
    for r in failed.itertuples():
        errors.setdefault(labels[(r.method, r.setting)], {})[str(r.item)] = str(r.error)
    metrics = list(dict.fromkeys(ok.metric.astype(str)))
    dirs = {m: _direction(meta, bench, m) for m in metrics}
    return {"bench": bench, "items": items, "labels": [labels[u] for u in units], "images": images,
            "values": values, "errors": errors, "metrics": metrics, "dirs": dirs,
            "saved": sum(1 for v in images.values() if v)}


# -- method cards, metadata, diff ------------------------------------------------------------

def _paper_link(paper: str | None) -> str:
    if not paper:
        return "<span class=muted>—</span>"
    m = re.fullmatch(r"arXiv:(\d{4}\.\d{4,5})(v\d+)?", paper.strip())
    url = f"https://arxiv.org/abs/{m.group(1)}" if m else paper if re.match(r"https?://[^\s\"'<>]+$", paper) else None
    if paper.lower().startswith("doi:"):
        url = "https://doi.org/" + urllib.parse.quote(paper[4:].strip(), safe="/.-_;()")
    return f'<a rel="noopener noreferrer" href="{esc(url)}">{esc(paper)}</a>' if url else esc(paper)


def _kv(d: dict) -> str:
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{_value_html(v)}</td></tr>" for k, v in d.items())
    return f"<table class=kv>{rows}</table>"


def _value_html(v: Any) -> str:
    if isinstance(v, dict):
        return _kv(v) if v else "<span class=muted>{}</span>"
    if isinstance(v, (list, tuple)):
        if v and all(isinstance(x, dict) for x in v):
            return "".join(_kv(x) for x in v)
        return "<code>" + esc(json.dumps(v, default=str)) + "</code>" if v else "<span class=muted>[]</span>"
    return "<code>" + esc(v) + "</code>" if v is not None else "<span class=muted>—</span>"


def _method_cards(df: pd.DataFrame, meta: dict, cards: dict[str, str]) -> str:
    plugins = {p.get("name"): p.get("version") for p in meta.get("plugins", [])}
    out = []
    for method, idx in cards.items():
        settings = "; ".join(pretty_setting(st) or "default" for st in sorted(set(df[df.method == method].setting.astype(str))))
        try:
            from zoo.catalog import get_card

            card = get_card(method).to_dict()
        except Exception as exc:  # not in this environment's catalog (plugin gone, or a failed id)
            card = {"id": method, "note": f"not in this environment's catalog: {exc}"}
            card.update(meta.get("methods", {}).get(method, {}))
        origin = str(card.get("origin") or meta.get("methods", {}).get(method, {}).get("origin") or "")
        plugin = origin.split(" ", 1)[1] if origin.startswith("plugin ") else origin
        version = plugins.get(plugin)
        fields = {"task": card.get("task"), "description": card.get("description"), "licence": card.get("license"),
                  "plugin": f"{plugin} {version}" if version else plugin or None, "factory": card.get("factory"),
                  "params": card.get("params"), "settings run": settings}
        if card.get("note"):
            fields["note"] = card["note"]
        weights = card.get("weights") or []
        if not weights and meta.get("methods", {}).get(method, {}).get("weights_sha256"):
            weights = [{"sha256": s} for s in meta["methods"][method]["weights_sha256"]]
        rows = "".join(f"<tr><th>{esc(k)}</th><td>{_value_html(v)}</td></tr>" for k, v in fields.items() if v not in (None, "", {}))
        paper = f"<tr><th>paper</th><td>{_paper_link(card.get('paper'))}</td></tr>"
        w = _value_html(weights) if weights else "<span class=muted>no weights (classical method or bundled code)</span>"
        out.append(f'<article class=card id="card-{idx}" data-method="{esc(method)}"><h3>{esc(method)}</h3>'
                   f"<table class=kv>{paper}{rows}<tr><th>weights</th><td>{w}</td></tr></table></article>")
    return "".join(out)


def _metadata(meta: dict) -> str:
    keys = ("run", "suite", "suite_file", "seed", "round_outputs", "created", "host", "versions", "units", "timing")
    head = {k: meta[k] for k in keys if k in meta}
    plugins = "".join(f"<tr><td>{esc(p.get('name'))}</td><td>{esc(p.get('version'))}</td><td>{esc(p.get('error') or '')}</td></tr>"
                      for p in meta.get("plugins", []))
    datasets = "".join(
        f"<tr><td>{esc(b)}</td><td>{esc(d.get('name'))}</td><td>{esc(d.get('items'))}</td><td><code>{esc(d.get('content_sha256'))}</code></td>"
        f"<td><code>{esc(json.dumps(d.get('options'), default=str))}</code></td></tr>" for b, d in meta.get("datasets", {}).items())
    metrics = "".join(f"<tr><td>{esc(k)}</td><td><code>{esc(v.get('fingerprint'))}</code></td><td>{'↑' if v.get('higher_is_better') else '↓'}</td></tr>"
                      for k, v in meta.get("metrics", {}).items())
    unavailable = "".join(f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in meta.get("unavailable", {}).items())
    return (_kv(head)
            + f"<h3>plugins</h3><table class=sortable><thead><tr><th data-sort=text>plugin</th><th data-sort=text>version</th><th data-sort=text>error</th></tr></thead><tbody>{plugins}</tbody></table>"
            + f"<h3>datasets</h3><table class=sortable><thead><tr><th data-sort=text>benchmark</th><th data-sort=text>dataset</th><th data-sort=num>items</th><th data-sort=text>content sha256</th><th data-sort=text>options</th></tr></thead><tbody>{datasets}</tbody></table>"
            + f"<h3>metrics</h3><table class=sortable><thead><tr><th data-sort=text>benchmark/metric</th><th data-sort=text>fingerprint</th><th data-sort=text>better</th></tr></thead><tbody>{metrics}</tbody></table>"
            + (f"<h3>unavailable metrics</h3><table><tbody>{unavailable}</tbody></table>" if unavailable else ""))


def baseline_diff(current: pd.DataFrame, baseline: pd.DataFrame, source: str, tolerances=None,
                  subset: bool = False) -> dict:
    """What moved against a baseline: every (benchmark, method, setting, metric) mean in both, the
    change, the tolerance, how many values drifted and why (:func:`zoo.report.compare.mean_changes`,
    the rows the terminal's gate summarises)."""
    from zoo.report.compare import KEY, as_tolerances, compare, mean_changes

    tols = as_tolerances(tolerances)
    drifts = compare(current, baseline, tols, subset=subset)
    means = mean_changes(current, baseline, tols, subset=subset, drifts=drifts)
    num = lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)  # noqa: E731
    rows = [{**{k: r[k] for k in ("benchmark", "method", "setting", "metric", "tolerance", "reason", "state")},
             "baseline": num(r["baseline"]), "run": num(r["run"]), "delta": num(r["delta"]), "drifted": int(r["drifted"])}
            for r in means.to_dict("records")]
    return {"source": source, "tolerances": dict(tols.items()), "subset": subset, "drifts": int(len(drifts)),
            "rows": rows, "detail": drifts.head(500)[KEY + ["baseline", "run", "tolerance", "rule", "reason"]].to_dict("records")}


def _diff_html(diff: dict) -> str:
    rows = []
    states = {"drift": 0, "within": 0, "same": 0, "new": 0}
    for r in diff["rows"]:
        state = r.get("state") or ("drift" if r["drifted"] or r["reason"] else "within")
        states[state] = states.get(state, 0) + 1
        if state == "same":
            continue  # counted, not listed: a quick-suite diff of unchanged means would double the page
        klass = {"drift": "moved drift", "new": "moved new"}.get(state, "moved within")
        fmt = lambda v: "–" if v is None else f"{v:.6g}"  # noqa: E731
        rows.append(f'<tr class="{klass}" data-method="{esc(r["method"])}" data-setting="{esc(r["setting"])}">'
                    + "".join(f'<td data-v="{esc(r[k])}">{esc(r[k])}</td>' for k in ("benchmark", "method", "setting", "metric"))
                    + "".join(f'<td data-v="{"" if r[k] is None else r[k]}">{esc(fmt(r[k]))}</td>' for k in ("baseline", "run", "delta"))
                    + f'<td data-v="{esc(r["tolerance"])}">{esc(r["tolerance"])}</td><td data-v="{r["drifted"]}">{r["drifted"]}</td>'
                    + f'<td data-v="{esc(r["reason"])}">{esc(r["reason"])}</td></tr>')
    tol = ", ".join(f"{k}={v}" for k, v in diff["tolerances"].items()) or "none given"
    head = "".join(f"<th data-sort={t}>{esc(n)}</th>" for n, t in (("benchmark", "text"), ("method", "text"), ("setting", "text"),
                   ("metric", "text"), ("baseline mean", "num"), ("run mean", "num"), ("Δ", "num"), ("tolerance", "text"),
                   ("values drifted", "num"), ("reason", "text")))
    # the verdict counts exactly the rows of the table below it: drifted, within tolerance, new; unchanged ones are not listed
    verdict = (f"<b class=bad>{diff['drifts']} value(s) drifted in {states['drift']} mean(s)</b>" if diff["drifts"]
               else "<b class=good>no drift</b>")
    verdict += f"; {states['within']} mean(s) moved within tolerance" if states["within"] else "; no other mean moved"
    if states["new"]:
        verdict += f"; {states['new']} mean(s) new in this run"
    return (f"<p>Against <code>{esc(diff['source'])}</code>{' (methods of this run only)' if diff['subset'] else ''}: {verdict}. "
            "A value drifts when |run − baseline| exceeds its tolerance (absolute, or % of the baseline value; from "
            f"--tolerance or the suite ({esc(tol)}), else the metric's own, else 1e-4), its fingerprint changed, or it turned "
            "from ok to failed; timings are not compared. Means are over items; red rows drifted, yellow rows moved within "
            f"tolerance; {states['same']} unchanged mean(s) are not listed.</p>"
            f"<table class='diff sortable'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
            + (f"<details><summary>every value that drifted ({diff['drifts']}"
               + (", the first 500" if diff["drifts"] > 500 else "") + f")</summary>{_frame_table(pd.DataFrame(diff['detail']))}</details>"
               if diff["detail"] else ""))


# -- the page --------------------------------------------------------------------------------

def write_site(out: Path, df: pd.DataFrame, meta: dict, summary: pd.DataFrame | None = None,
               sections: list[tuple[str, pd.DataFrame]] = (), figures: list[Path] = (), diff: dict | None = None) -> Path:
    """Write ``out/index.html`` for the run whose long-form results are ``df``.

    Args:
        summary: :func:`zoo.report.leaderboard.summarize` of ``df`` (computed when None).
        sections: extra (title, table) pairs the task specs add (BD-rate tables).
        figures: figure files under ``out``; an SVG twin beside a PNG is inlined, figures
            outside ``out`` and sample grids (the viewer shows those images) are left out.
        diff: :func:`baseline_diff` of this run against a baseline (``--against``).
    """
    from zoo.report.leaderboard import summarize

    out = Path(out)
    if summary is None:
        summary = summarize(df, meta, seed=meta.get("seed", 0))
    cards = {m: str(i) for i, m in enumerate(dict.fromkeys(m for m in df.method.astype(str) if m != "*"))}
    benches = list(dict.fromkeys(summary.benchmark)) if len(summary) else []
    figs = [Path(f) for f in figures if _inside(out, Path(f)) and not Path(f).name.startswith("samples-")]
    by_bench: dict[str | None, list[Path]] = {}
    for f in figs:
        by_bench.setdefault(_figure_bench(f, benches), []).append(f)
    viewers, body, nav = [], [], []
    seen: dict[str, str] = {}  # sample files by content: each distinct image is loaded once
    datasets = []
    for task, tg in summary.groupby("task", sort=False) if len(summary) else []:
        nav.append(f'<a href="#task-{esc(safe_name(task))}">{esc(task)}</a>')
        body.append(f'<section class=task id="task-{esc(safe_name(task))}"><h2>{esc(task)}</h2>')
        for bench, bg in tg.groupby("benchmark", sort=False):
            ds = meta.get("datasets", {}).get(bench, {})
            rows_ds = df.loc[df.benchmark == bench, "dataset"].astype(str)
            dname = str(ds.get("name") or (rows_ds.iloc[0] if len(rows_ds) else ""))
            datasets.append(dname)
            body.append(f'<section class=bench data-dataset="{esc(dname)}" id="bench-{esc(safe_name(bench))}">'
                        f"<h3>{esc(bench)} <span class=muted>— {esc(dname)}"
                        + (f" ({esc(ds.get('items'))} images)" if ds.get("items") is not None else "") + "</span></h3>")
            body.append(_bench_table(bg, meta, bench, cards))
            body.append(_bench_notes(bg))
            body.append(_summary_tables(bg))
            if by_bench.get(bench):
                body.append("<div class=figs>" + "".join(_figure_html(out, f) for f in by_bench[bench]) + "</div>")
            v = _viewer(out, df, bench, meta, seen)
            if v is not None:
                body.append(f'<details class=viewer-box open><summary>images: {len(v["items"])} item(s), {v["saved"]} with saved '
                            f'images</summary><div class=viewer data-viewer="{len(viewers)}" tabindex=0></div></details>')
                viewers.append(v)
            body.append("</section>")
        for title, table in sections:
            if any(title.endswith(f"({b})") for b in tg.benchmark.unique()):
                body.append(f"<section class=extra><h3>{esc(title)}</h3>{_frame_table(table)}</section>")
        body.append("</section>")
    placed = {t for t, _ in sections if any(t.endswith(f"({b})") for b in benches)}
    for title, table in sections:
        if title not in placed:
            body.append(f"<section class=extra><h3>{esc(title)}</h3>{_frame_table(table)}</section>")
    if by_bench.get(None):
        body.append("<section><h2>figures</h2><div class=figs>" + "".join(_figure_html(out, f) for f in by_bench[None]) + "</div></section>")
    if not len(summary):
        body.append("<p class=muted>(no results)</p>")
    if diff is not None:
        nav.append('<a href="#diff">diff</a>')
        body.append(f"<section id=diff><h2>diff against the baseline</h2>{_diff_html(diff)}</section>")
    nav += ['<a href="#cards">methods</a>', '<a href="#meta">run metadata</a>']
    body.append(f"<section id=cards><h2>methods</h2>{_method_cards(df, meta, cards)}</section>")
    body.append(f"<section id=meta><h2>run metadata</h2>{_metadata(meta)}</section>")
    filters = ("<div class=filters><label>dataset <select id=f-dataset><option value=''>all</option>"
               + "".join(f'<option value="{esc(d)}">{esc(d)}</option>' for d in dict.fromkeys(datasets))
               + "</select></label> <label>method <input id=f-method type=search placeholder=substring></label>"
               " <label>setting <input id=f-setting type=search placeholder=substring></label>"
               " <label><input id=f-cost type=checkbox checked> cost columns</label></div>")
    versions = meta.get("versions", {})
    intro = (f"<p class=muted>imagezoo {esc(versions.get('imagezoo', '?'))}, torch {esc(versions.get('torch', '?'))}, seed "
             f"{esc(meta.get('seed'))}, outputs rounded to uint8: {esc(meta.get('round_outputs'))}; created {esc(meta.get('created'))} "
             f"on {esc(meta.get('host', {}).get('platform'))}. Cells: mean with its 95% bootstrap CI; n = items; ↑ higher is better, "
             "↓ lower is better; ★ best of the column; † see the notes under the table. Click a column to sort.</p>")
    data = json_for_script({"viewers": viewers})
    script = (ASSETS / "site.js").read_text()
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    csp = (f"default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; script-src 'sha256-{digest}'; "
           "base-uri 'none'; form-action 'none'")
    title = f"imagezoo — {meta.get('suite', '')} / {meta.get('run', '')}"
    page = ("<!doctype html><html lang=en><head><meta charset=utf-8>"
            f'<meta http-equiv="Content-Security-Policy" content="{esc(csp)}">'
            '<meta name=viewport content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{(ASSETS / 'site.css').read_text()}</style></head><body>"
            f"<header><h1>{esc(title)}</h1><nav>{' · '.join(nav)}</nav>{filters}</header><main>{intro}"
            + "\n".join(body) + "</main>"
            f'<script type="application/json" id=zoo-data>{data}</script><script>{script}</script></body></html>')
    path = out / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


def save_sections(out: Path, sections: list[tuple[str, pd.DataFrame]]) -> None:
    """Keep the task specs' extra sections beside the results, so the site can be rebuilt from the folder."""
    payload = [{"title": t, "table": json.loads(df.to_json(orient="split", index=False))} for t, df in sections]
    (Path(out) / SECTIONS_FILE).write_text(json.dumps(payload))


def load_sections(out: Path) -> list[tuple[str, pd.DataFrame]]:
    """The extra sections :func:`save_sections` kept (none for an older run folder)."""
    try:
        payload = json.loads((out / SECTIONS_FILE).read_text())
    except (OSError, ValueError):
        return []
    return [(p["title"], pd.DataFrame(p["table"]["data"], columns=p["table"]["columns"])) for p in payload]
