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
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from zoo.report.board import BenchBoard, build_board, fmt
from zoo.report.cards import metadata_html, method_cards
from zoo.report.diff import baseline_diff, diff_html
from zoo.report.markup import esc, frame_table, json_for_script
from zoo.report.summary import summarize
from zoo.report.svg import figure_bench, figure_html, inside, sanitize_svg
from zoo.report.viewer import viewer_data
from zoo.results import pretty_setting, safe_name, sample_file

__all__ = ["write_site", "save_sections", "load_sections", "esc", "json_for_script", "sanitize_svg", "safe_name",
           "sample_file", "pretty_setting", "baseline_diff"]

ASSETS = Path(__file__).with_name("site")
SECTIONS_FILE = ".sections.json"


# -- tables (rendered from the leaderboard model, zoo.report.board) ---------------------------

def _num_attr(v: float | None) -> str:
    """A sort key for ``data-v``: infinities as +-1e308, nothing for a missing value."""
    if v is None:
        return ""
    return "1e308" if v == math.inf else "-1e308" if v == -math.inf else repr(v)


def _bench_table(b: BenchBoard, cards: dict[str, str]) -> str:
    """The leaderboard of one benchmark: sortable columns, best marked, statuses with reasons."""
    head = ['<th data-sort=text>method</th>', '<th data-sort=text>setting</th>', '<th data-sort=num data-dir=1>n</th>']
    for c in b.columns:
        d = c.higher_is_better
        title = f"{c.metric}: {'higher' if d else 'lower'} is better" if d is not None else c.metric
        if c.fingerprint:
            title += f" — {c.fingerprint}"
        head.append(f'<th data-sort=num data-dir={1 if d else -1} data-metric="{esc(c.metric)}" class="{"cost" if c.cost else "metric"}"'
                    f' title="{esc(title)}">{esc(c.metric)} <span class=arrow>{c.arrow}</span></th>')
    rows = []
    for r in b.rows:
        n = "" if r.n is None else str(r.n)
        link = f'<a href="#card-{cards[r.method]}">{esc(r.method)}</a>' if r.method in cards else esc(r.method)
        if r.below:
            link += f' <span class=below>below baseline {esc(r.below)}</span>'
        shown = pretty_setting(r.setting)
        cells = [f'<td class=method data-v="{esc(r.method)}">{link}</td>',
                 f'<td class=setting data-v="{esc(shown)}" title="{esc(r.setting)}">{esc(shown)}</td>', f'<td data-v="{esc(n)}">{esc(n)}</td>']
        for c, col in zip(r.cells, b.columns):
            cls = "cost" if col.cost else "metric"
            word = c.shown_status
            if word == "":
                cells.append(f'<td class={cls} data-v=""></td>')
                continue
            if word is not None:
                cells.append(f'<td class="{cls} st-{esc(word)}" data-v="" title="{esc(c.note)}">{esc(word)}</td>')
                continue
            mean = fmt(c.value, col.metric)
            ci = f"[{fmt(c.ci[0])}, {fmt(c.ci[1])}]" if c.ci is not None else ""
            title = f"n = {c.n}" + (f"; 95% bootstrap CI {ci}" if ci else "") + (f"; {c.note}" if c.note else "")
            klass = f"{cls}{' best' if c.best else ''}{' partial' if c.status == 'partial' else ''}"
            cells.append(f'<td class="{klass}" data-v="{_num_attr(c.value)}" title="{esc(title)}"><span class=mean>{esc(mean)}'
                         f'{"†" if c.flagged else ""}{" ★" if c.best else ""}</span>' + (f' <span class=ci>{esc(ci)}</span>' if ci else "") + "</td>")
        rows.append(f'<tr data-method="{esc(r.method)}" data-setting="{esc(shown + " " + r.setting)}" data-status="{esc(r.status)}">'
                    + "".join(cells) + "</tr>")
    return ('<div class=tablewrap><table class="board sortable"><thead><tr>' + "".join(head) + "</tr></thead><tbody>"
            + "\n".join(rows) + "</tbody></table></div>" + _comparability_html(b))


def _comparability_html(b: BenchBoard) -> str:
    """Under a table: why it has no ★ (rate–distortion), the lossless rows apart, the baseline rule."""
    parts = []
    if b.rates:
        parts.append(f"<p class=muted>No ★ in this table: each row is an operating point at its own rate "
                     f"({esc(', '.join(b.rates))}); compare codecs by BD-rate and the rate–distortion plot.</p>")
    if b.lossless:
        body = []
        for r in b.lossless:
            cells = [esc(r.method), esc(pretty_setting(r.setting)), esc("" if r.n is None else str(r.n))]
            for c, col in zip(r.cells, b.lossless_columns):
                mean = "" if c.value is None else fmt(c.value, col)
                ci = f"[{fmt(c.ci[0])}, {fmt(c.ci[1])}]" if c.ci else ""
                cells.append(f"{esc(mean)} <span class=ci>{esc(ci)}</span>" if ci else esc(mean))
            body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        parts.append("<p>Lossless (every item reproduced exactly; their distortion columns are not comparable with "
                     "the lossy rows):</p><div class=tablewrap><table class=board><thead><tr><th>method</th><th>setting</th>"
                     "<th>n</th>" + "".join(f"<th>{esc(c)} ↓</th>" for c in b.lossless_columns) + "</tr></thead><tbody>"
                     + "".join(body) + "</tbody></table></div>")
    if b.baselines:
        parts.append(f"<p class=muted>Trivial baselines: {esc(', '.join(b.baselines['methods']))}; a method worse than one "
                     f"on {esc(b.baselines['judged_on'])} is marked “below baseline” and gets no ★.</p>")
    return "".join(parts)


def _bench_notes(b: BenchBoard) -> str:
    """Unavailable metrics, failed units and flagged values of a benchmark, with their reasons."""
    items = []
    for n in b.notes:
        if n.kind == "unavailable":
            who = f"<code>{esc(n.method)}</code>" if n.metric is None else esc(n.metric)
            items.append(f'<li class=st-unavailable>{who}: <b>unavailable</b> — {esc(n.text)}</li>')
        elif n.kind == "flagged":
            items.append(f"<li>{esc(n.metric)}†: {esc(n.text)}</li>")
        else:
            what = "" if n.metric is None else f" {esc(n.metric)}"
            items.append(f'<li class=st-{esc(n.kind)}><code>{esc(n.method)}</code>{what}: <b>{esc(n.kind)}</b> — {esc(n.text)}</li>')
    return f"<ul class=notes>{''.join(items)}</ul>" if items else ""


def _summary_tables(b: BenchBoard) -> str:
    """Per-unit summary figures (``alias:stat`` rows, e.g. a fairness probe's per-group gaps)."""
    parts = []
    for t in b.summaries:
        def cell(v: Any) -> str:
            if v is None:
                return "<td data-v=''></td>"
            if isinstance(v, str):  # "insufficient n (2 of 6 people)" instead of a number
                return f"<td data-v='' class=muted>{esc(v)}</td>"
            value, ci = v
            ci_html = f" <span class=ci>[{esc(fmt(ci[0]))}, {esc(fmt(ci[1]))}]</span>" if ci is not None else ""
            return f"<td data-v='{value if math.isfinite(value) else ''}'>{esc(fmt(value))}{ci_html}</td>"

        head = "".join(f"<th data-sort=num>{esc(c)}</th>" for c in t.stats)
        body = ""
        for m, st, group, cells in t.rows:
            plain = "" if st == "{}" else st
            body += (f'<tr data-method="{esc(m)}" data-setting="{esc(plain)}"><td data-v="{esc(m)}">{esc(m)}</td>'
                     + (f'<td data-v="{esc(st)}"><code>{esc(plain)}</code></td><td data-v="{esc(group)}">{esc(group)}</td>'
                        if t.grouped else f'<td data-v="{esc(st)}">{esc(pretty_setting(st))}</td>')
                     + "".join(cell(v) for v in cells) + "</tr>")
        group_head = "<th data-sort=text>group</th>" if t.grouped else ""
        parts.append(f"<h4>{esc(t.title)}</h4><table class='summary sortable'><thead><tr><th data-sort=text>method</th>"
                     f"<th data-sort=text>setting</th>{group_head}{head}</tr></thead><tbody>{body}</tbody></table>")
    return "".join(parts)


# -- the page --------------------------------------------------------------------------------

def write_site(out: Path, df: pd.DataFrame, meta: dict, summary: pd.DataFrame | None = None,
               sections: list[tuple[str, pd.DataFrame]] = (), figures: list[Path] = (), diff: dict | None = None) -> Path:
    """Write ``out/index.html`` for the run whose long-form results are ``df``.

    Args:
        summary: :func:`zoo.report.summary.summarize` of ``df`` (computed when None).
        sections: extra (title, table) pairs the task specs add (BD-rate tables).
        figures: figure files under ``out``; an SVG twin beside a PNG is inlined, figures
            outside ``out`` and sample grids (the viewer shows those images) are left out.
        diff: :func:`baseline_diff` of this run against a baseline (``--against``).
    """
    out = Path(out)
    if summary is None:
        summary = summarize(df, meta, seed=meta.get("seed", 0))
    board = build_board(summary, meta)
    cards = {m: str(i) for i, m in enumerate(dict.fromkeys(m for m in df.method.astype(str) if m != "*"))}
    benches = [b.bench for b in board.benches]
    figs = [Path(f) for f in figures if inside(out, Path(f)) and not Path(f).name.startswith("samples-")]
    by_bench: dict[str | None, list[Path]] = {}
    for f in figs:
        by_bench.setdefault(figure_bench(f, benches), []).append(f)
    viewers, body, nav = [], [], []
    seen: dict[str, str] = {}  # sample files by content: each distinct image is loaded once
    datasets = []
    for task, task_benches in board.tasks().items():
        nav.append(f'<a href="#task-{esc(safe_name(task))}">{esc(task)}</a>')
        body.append(f'<section class=task id="task-{esc(safe_name(task))}"><h2>{esc(task)}</h2>')
        for b in task_benches:
            bench, ds = b.bench, b.dataset
            rows_ds = df.loc[df.benchmark == bench, "dataset"].astype(str)
            dname = str(ds.get("name") or (rows_ds.iloc[0] if len(rows_ds) else ""))
            datasets.append(dname)
            body.append(f'<section class=bench data-dataset="{esc(dname)}" id="bench-{esc(safe_name(bench))}">'
                        f"<h3>{esc(bench)} <span class=muted>— {esc(dname)}"
                        + (f" ({esc(ds.get('items'))} images)" if ds.get("items") is not None else "") + "</span></h3>")
            body.append(_bench_table(b, cards))
            body.append(_bench_notes(b))
            body.append(_summary_tables(b))
            if by_bench.get(bench):
                body.append("<div class=figs>" + "".join(figure_html(out, f) for f in by_bench[bench]) + "</div>")
            v = viewer_data(out, df, bench, meta, seen)
            if v is not None:
                body.append(f'<details class=viewer-box open><summary>images: {len(v["items"])} item(s), {v["saved"]} with saved '
                            f'images</summary><div class=viewer data-viewer="{len(viewers)}" tabindex=0></div></details>')
                viewers.append(v)
            body.append("</section>")
        for title, table in sections:
            if any(title.endswith(f"({tb.bench})") for tb in task_benches):
                body.append(f"<section class=extra><h3>{esc(title)}</h3>{frame_table(table)}</section>")
        body.append("</section>")
    placed = {t for t, _ in sections if any(t.endswith(f"({name})") for name in benches)}
    for title, table in sections:
        if title not in placed:
            body.append(f"<section class=extra><h3>{esc(title)}</h3>{frame_table(table)}</section>")
    if by_bench.get(None):
        body.append("<section><h2>figures</h2><div class=figs>" + "".join(figure_html(out, f) for f in by_bench[None]) + "</div></section>")
    if not board.benches:
        body.append("<p class=muted>(no results)</p>")
    if diff is not None:
        nav.append('<a href="#diff">diff</a>')
        body.append(f"<section id=diff><h2>diff against the baseline</h2>{diff_html(diff)}</section>")
    nav += ['<a href="#cards">methods</a>', '<a href="#meta">run metadata</a>']
    body.append(f"<section id=cards><h2>methods</h2>{method_cards(df, meta, cards)}</section>")
    body.append(f"<section id=meta><h2>run metadata</h2>{metadata_html(meta)}</section>")
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
