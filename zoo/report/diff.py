"""A run against a baseline, for the report page: every mean in both, the change, the tolerance,
and how many values drifted (the gate itself is :mod:`zoo.report.compare`)."""

from __future__ import annotations

import math

import pandas as pd

from zoo.report.markup import esc, frame_table

__all__ = ["baseline_diff", "diff_html"]


def baseline_diff(current: pd.DataFrame, baseline: pd.DataFrame, source: str, tolerances=None,
                  subset: bool = False) -> dict:
    """What moved against a baseline: every (benchmark, method, setting, metric) mean in both, the
    change, the tolerance, how many values drifted and why (:func:`zoo.report.compare.mean_changes`,
    the rows the terminal's gate summarises)."""
    from zoo.report.compare import KEY, as_tolerances, compare, mean_changes

    tols = as_tolerances(tolerances)
    drifts = compare(current, baseline, tols, subset=subset)
    means = mean_changes(current, baseline, tols, subset=subset, drifts=drifts)
    _to_float = lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)  # noqa: E731
    rows = [{**{k: r[k] for k in ("benchmark", "method", "setting", "metric", "tolerance", "reason", "state")},
             "baseline": _to_float(r["baseline"]), "run": _to_float(r["run"]), "delta": _to_float(r["delta"]), "drifted": int(r["drifted"])}
            for r in means.to_dict("records")]
    return {"source": source, "tolerances": dict(tols.items()), "subset": subset, "drifts": int(len(drifts)),
            "rows": rows, "detail": drifts.head(500)[KEY + ["baseline", "run", "tolerance", "rule", "reason"]].to_dict("records")}


def diff_html(diff: dict) -> str:
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
               + (", the first 500" if diff["drifts"] > 500 else "") + f")</summary>{frame_table(pd.DataFrame(diff['detail']))}</details>"
               if diff["detail"] else ""))
