"""Plots: rate-distortion curves for compression, sample grids (input / methods / reference).

Trade-off figures are written twice: a PNG, and an SVG beside it (text kept as text, each
point carrying a ``<title>`` with its values, which a browser shows on hover) that the
HTML report inlines."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from zoo.results import safe_name  # noqa: E402


def rd_plots(df: pd.DataFrame, out: Path) -> list[Path]:
    """bpp vs each distortion metric, one curve per method, per benchmark of ``df`` (compression rows)."""
    from zoo.report.ranking import lossless_rows

    per_item = df[(df.status == "ok") & (df.item != "*")]
    if "bpp" not in set(per_item.metric):
        return []
    # lossless points (8-13 bpp, PSNR inf) would squash every lossy curve into the left edge: left out, named in a note
    lossless = {(b, m, s) for b, rows in lossless_rows(per_item).items() for m, s in rows}
    keep = [(b, m, s) not in lossless for b, m, s in zip(per_item.benchmark, per_item.method, per_item.setting)]
    notes = {b: "lossless, not drawn: " + ", ".join(sorted({m for bb, m, _ in lossless if bb == b})) for b, *_ in lossless}
    per_item = per_item[keep]
    metrics = [m for m in dict.fromkeys(per_item.metric) if m != "bpp"]
    return [p for m in metrics for p in tradeoff_plots(per_item, out, "bpp", m, "rd", title="rate–distortion",
                                                        suffix=f"-{safe_name(m)}", annotate=False, notes=notes)]


def tradeoff_plots(df: pd.DataFrame, out: Path, x: str, y: str, kind: str, group_by_method: bool = True,
                   title: str | None = None, suffix: str = "", annotate: bool = True,
                   notes: dict[str, str] | None = None) -> list[Path]:
    """Per benchmark: metric ``y`` against metric ``x``, one point per method and operating point
    (their means over items; infinite values, such as a lossless codec's PSNR, left out); with
    ``group_by_method`` a method's points are joined in order of ``x`` (operating points of one
    knob); ``annotate`` labels points with their setting. Files: ``plots/{kind}-{bench}{suffix}.png``."""
    paths = []
    ok = df[(df.status == "ok") & df.metric.isin([x, y])]
    if ok.empty:
        return paths
    means = ok.groupby(["benchmark", "method", "setting", "metric"]).value.mean().unstack("metric").reset_index()
    if x not in means or y not in means:
        return paths
    for bench, g in means.groupby("benchmark"):
        g = g.dropna(subset=[x, y])
        g = g[(g[x].abs() < float("inf")) & (g[y].abs() < float("inf"))]
        if g.empty:
            continue
        fig, ax = plt.subplots(figsize=(5.6, 4))
        tips: dict[str, str] = {}
        for method, mg in g.groupby("method", sort=False):
            mg = mg.sort_values(x)
            line, = ax.plot(mg[x], mg[y], marker="o", label=method, linestyle="-" if group_by_method and len(mg) > 1 else "")
            for _, r in mg.iterrows():  # invisible twins of the markers, one per point, for hover values
                gid = f"zoo-pt-{len(tips)}"
                ax.plot([r[x]], [r[y]], marker="o", markersize=9, alpha=0, color=line.get_color(), gid=gid)
                tips[gid] = f"{method} {_short_setting(r.setting) or r.setting}\n{x} = {r[x]:.4g}\n{y} = {r[y]:.4g}"
            if annotate and (len(mg) > 1 or not group_by_method):
                for _, r in mg.iterrows():
                    ax.annotate(_short_setting(r.setting), (r[x], r[y]), fontsize=5, alpha=0.7)
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        note = (notes or {}).get(bench)
        ax.set_title(f"{bench}: {title or f'{y} against {x}'}" + (f"\n({note})" if note else ""), fontsize=10 if note else None)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
        fig.tight_layout()
        path = out / "plots" / f"{kind}-{safe_name(bench)}{suffix}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
        save_svg(fig, path.with_suffix(".svg"), tips)
        plt.close(fig)
        paths.append(path)
    return paths


def save_svg(fig, path: Path, tips: dict[str, str] | None = None) -> Path:
    """Write ``fig`` as SVG with its text as text; the element with id ``gid`` in ``tips`` gets
    a ``<title>`` (the browser's hover text). Titles go through an XML serialiser, so a method
    name cannot become markup."""
    import io
    import xml.etree.ElementTree as ET

    buf = io.StringIO()
    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": "imagezoo"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    ET.register_namespace("", "http://www.w3.org/2000/svg")
    ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    root = ET.fromstring(buf.getvalue())
    for el in root.iter():
        gid = el.get("id")
        if tips and gid in tips:
            title = ET.Element("{http://www.w3.org/2000/svg}title")
            title.text = tips[gid]
            el.insert(0, title)
    path.write_text(ET.tostring(root, encoding="unicode"))
    return path


def _short_setting(setting: str) -> str:
    import json

    try:
        d = json.loads(setting)
    except ValueError:
        return setting
    return ",".join(f"{k}={v}" for k, v in d.items() if k in ("space", "ratio", "alpha", "iterations", "steps"))


def sample_grids(out: Path, max_methods: int = 8) -> list[Path]:
    """One grid per benchmark and item: input, each method's output, reference."""
    from PIL import Image

    paths = []
    root = out / "samples"
    if not root.is_dir():
        return paths
    for bench_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        items = sorted({p.stem.split("--")[-1] for p in bench_dir.glob("_reference--*.png")})
        for item in items:
            tiles = [("input", bench_dir / f"_input--{item}.png")]
            tiles += [(p.stem.split("--")[0][1:], p) for p in sorted(bench_dir.glob(f"_*--{item}.png"))
                      if p.stem.split("--")[0] not in ("_input", "_reference")]  # shown extras (the style image)
            outs = sorted(p for p in bench_dir.glob(f"*--{item}.png") if not p.name.startswith("_"))
            tiles += [(p.stem.rsplit("--", 1)[0], p) for p in outs[:max_methods]]
            tiles.append(("reference", bench_dir / f"_reference--{item}.png"))
            tiles = [(label, p) for label, p in tiles if p.exists()]
            n = len(tiles)
            fig, axes = plt.subplots(1, n, figsize=(2.4 * n, 2.8), squeeze=False)
            for ax, (label, p) in zip(axes[0], tiles):
                ax.imshow(Image.open(p))
                ax.set_title(label.replace("--", "\n"), fontsize=6)
                ax.axis("off")
            fig.tight_layout()
            path = out / "plots" / f"samples-{bench_dir.name}-{item}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(path, dpi=100)
            plt.close(fig)
            paths.append(path)
    return paths
