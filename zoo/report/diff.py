"""A run against a baseline, for the report page: every mean in both, the change, the tolerance,
and how many values drifted (the gate itself is :mod:`zoo.report.compare`)."""

from __future__ import annotations

import pandas as pd

from zoo.report.markup import esc, frame_table, num
from zoo.results import machine_dependent

__all__ = ["baseline_diff", "diff_html"]


def baseline_diff(current: pd.DataFrame, baseline: pd.DataFrame, source: str, tolerances: dict[str, float] | None = None,
                  subset: bool = False) -> dict:
    """What moved against a baseline: every (benchmark, method, setting, metric) mean in both, the
    change, the tolerance, how many values drifted (:func:`zoo.report.compare.compare`) and why."""
    from zoo.report.compare import KEY, compare, tolerance_for

    tolerances = tolerances or {}
    drifts = compare(current, baseline, tolerances, subset=subset)
    on = ["benchmark", "method", "setting", "metric"]

    def means(df: pd.DataFrame) -> pd.DataFrame:
        ok = df[~machine_dependent(df) & (df.status == "ok")]
        return ok.groupby(on, sort=False).agg(mean=("value", "mean"), fingerprint=("fingerprint", "first")).reset_index()

    cur, base = means(current), means(baseline)
    if subset:
        present = set(zip(cur.benchmark, cur.method))
        base = base[[p in present for p in zip(base.benchmark, base.method)]]
    merged = base.merge(cur, on=on, how="outer", suffixes=("_base", "_run"))
    counts = drifts.groupby(on).size().to_dict() if len(drifts) else {}
    reasons = drifts.groupby(on).reason.first().to_dict() if len(drifts) else {}
    rows = []
    for r in merged.itertuples():
        k = (r.benchmark, r.method, r.setting, r.metric)
        b, c = num(r.mean_base), num(r.mean_run)
        rows.append({"benchmark": r.benchmark, "method": r.method, "setting": r.setting, "metric": r.metric,
                     "baseline": b, "run": c, "delta": None if b is None or c is None else c - b,
                     "tolerance": tolerance_for(r.metric, (r.fingerprint_base, r.fingerprint_run), tolerances),
                     "drifted": int(counts.get(k, 0)),
                     "reason": reasons.get(k, "" if b is not None or c is None else "new in this run")})
    return {"source": source, "tolerances": tolerances, "subset": subset, "drifts": int(len(drifts)),
            "rows": rows, "detail": drifts.head(500)[KEY + ["baseline", "run", "tolerance", "reason"]].to_dict("records")}


def diff_html(diff: dict) -> str:
    rows, same = [], 0
    for r in diff["rows"]:
        drift = r["drifted"] > 0 or bool(r["reason"])
        if not drift and r["delta"] in (None, 0.0):
            same += 1  # counted, not listed: a quick-suite diff of unchanged means would double the page
            continue
        klass = "moved drift" if drift else "moved within"
        fmt = lambda v: "–" if v is None else f"{v:.6g}"  # noqa: E731
        rows.append(f'<tr class="{klass}" data-method="{esc(r["method"])}" data-setting="{esc(r["setting"])}">'
                    + "".join(f'<td data-v="{esc(r[k])}">{esc(r[k])}</td>' for k in ("benchmark", "method", "setting", "metric"))
                    + "".join(f'<td data-v="{"" if r[k] is None else r[k]}">{esc(fmt(r[k]))}</td>' for k in ("baseline", "run", "delta"))
                    + f'<td data-v="{r["tolerance"]}">{esc(format(r["tolerance"], "g"))}</td><td data-v="{r["drifted"]}">{r["drifted"]}</td>'
                    + f'<td data-v="{esc(r["reason"])}">{esc(r["reason"])}</td></tr>')
    tol = ", ".join(f"{k}={v:g}" for k, v in diff["tolerances"].items()) or "default only"
    head = "".join(f"<th data-sort={t}>{esc(n)}</th>" for n, t in (("benchmark", "text"), ("method", "text"), ("setting", "text"),
                   ("metric", "text"), ("baseline mean", "num"), ("run mean", "num"), ("Δ", "num"), ("tolerance", "num"),
                   ("values drifted", "num"), ("reason", "text")))
    verdict = (f"<b class=bad>{diff['drifts']} value(s) drifted</b>" if diff["drifts"] else "<b class=good>no drift</b>")
    within = sum(1 for r in diff["rows"] if r["delta"] not in (None, 0.0) and not (r["drifted"] or r["reason"]))
    verdict += f"; {within} mean(s) moved within tolerance" if within else "; no mean moved"
    return (f"<p>Against <code>{esc(diff['source'])}</code>{' (methods of this run only)' if diff['subset'] else ''}: {verdict}. "
            f"A value drifts when |run − baseline| exceeds its metric's absolute tolerance ({esc(tol)}; default 1e-4), its "
            "fingerprint changed, or it turned from ok to failed; timings are not compared. Means are over items; red rows "
            f"drifted, yellow rows moved within tolerance; {same} unchanged mean(s) are not listed.</p>"
            f"<table class='diff sortable'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
            + (f"<details><summary>every value that drifted ({diff['drifts']}"
               + (", the first 500" if diff["drifts"] > 500 else "") + f")</summary>{frame_table(pd.DataFrame(diff['detail']))}</details>"
               if diff["detail"] else ""))
