"""The report page's method cards (catalog entry, licence, weights of each method run) and run metadata."""

from __future__ import annotations

import json
import re
import urllib.parse
from typing import Any

import pandas as pd

from zoo.report.markup import esc
from zoo.results import pretty_setting

__all__ = ["method_cards", "metadata_html"]


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


def method_cards(df: pd.DataFrame, meta: dict, cards: dict[str, str]) -> str:
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


def metadata_html(meta: dict) -> str:
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
    execution = {k: v for k, v in (meta.get("execution") or {}).items() if k != "units" and v is not None}
    if execution:
        head["execution"] = execution
    placed = "".join(
        f"<tr><td>{esc(u.get('benchmark'))}</td><td>{esc(u.get('method'))}</td><td><code>{esc(u.get('setting'))}</code></td>"
        f"<td>{esc(u.get('host'))}</td><td><code>{esc((u.get('node') or '')[:12])}</code></td><td>{esc(u.get('worker'))}</td>"
        f"<td>{esc(u.get('wall_s'))}</td><td>{esc(u.get('retries'))}</td><td>{esc(u.get('timeout_s'))}</td>"
        f"<td>{esc(u.get('status'))}{': ' + esc('; '.join(u.get('causes') or [])) if u.get('causes') else ''}</td></tr>"
        for u in (meta.get("execution") or {}).get("units", []))
    where = ("<h3>where units ran</h3><table class=sortable><thead><tr><th data-sort=text>benchmark</th><th data-sort=text>method</th>"
             "<th data-sort=text>setting</th><th data-sort=text>host</th><th data-sort=text>node</th><th data-sort=text>worker</th>"
             "<th data-sort=num>wall s</th><th data-sort=num>retries</th><th data-sort=num>timeout s</th><th data-sort=text>status</th>"
             f"</tr></thead><tbody>{placed}</tbody></table>") if placed else ""
    return (_kv(head)
            + f"<h3>plugins</h3><table class=sortable><thead><tr><th data-sort=text>plugin</th><th data-sort=text>version</th><th data-sort=text>error</th></tr></thead><tbody>{plugins}</tbody></table>"
            + f"<h3>datasets</h3><table class=sortable><thead><tr><th data-sort=text>benchmark</th><th data-sort=text>dataset</th><th data-sort=num>items</th><th data-sort=text>content sha256</th><th data-sort=text>options</th></tr></thead><tbody>{datasets}</tbody></table>"
            + f"<h3>metrics</h3><table class=sortable><thead><tr><th data-sort=text>benchmark/metric</th><th data-sort=text>fingerprint</th><th data-sort=text>better</th></tr></thead><tbody>{metrics}</tbody></table>"
            + (f"<h3>unavailable metrics</h3><table><tbody>{unavailable}</tbody></table>" if unavailable else "")
            + where)
