"""The report site (index.html): escaping, sample images, baseline diff, `zoo report --open`,
and an end-to-end check in headless Chromium (skipped, with the reason, where no browser is)."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

import zoo
from zoo import plugins
from zoo.harness.runner import Runner
from zoo.harness.suite import load_suite
from zoo.report import rebuild_site
from zoo.report.html import json_for_script, sanitize_svg, write_site
from zoo.tasks import SuperResolver

PAYLOAD = "<img src=x onerror=alert(1)>"
ERROR_PAYLOAD = "<script>alert(2)</script>"
METRIC_PAYLOAD = "<svg onload=alert(4)>"
RAW = (PAYLOAD, ERROR_PAYLOAD, METRIC_PAYLOAD)


class Bilinear(SuperResolver):
    """A real (bilinear) super-resolver registered under an id that is markup."""

    scale = 4

    def _upscale(self, lr):
        return F.interpolate(lr, scale_factor=4, mode="bilinear", align_corners=False).clamp(0, 1)


class Broken(SuperResolver):
    scale = 4

    def _upscale(self, lr):
        raise RuntimeError(f"failed on purpose {ERROR_PAYLOAD}")


class InjectingPlugin:
    @zoo.hookimpl
    def register_methods(self, register):
        register("site-bilinear", Bilinear, task="super-resolution")
        register("site-broken", Broken, task="super-resolution")

    @zoo.hookimpl
    def register_catalog(self, register):
        # ids are checked by the registry (markup is refused); the free-text fields are not
        register("bilinear.site", {"task": "super-resolution", "factory": "site-bilinear", "license": PAYLOAD,
                                   "paper": "javascript:alert(3)", "description": PAYLOAD})
        register("broken.site", {"task": "super-resolution", "factory": "site-broken"})


def _suite(data: Path) -> str:
    return f"""
name: site
seed: 0
samples_per_benchmark: 2
benchmarks:
  - name: sr
    task: super-resolution
    dataset: {{name: folder, path: {json.dumps(str(data))}}}
    degradation: {{bicubic: 4}}
    methods:
      - bilinear.site
      - {{id: nearest.classical, settings: [{{scale: 4}}]}}
      - {{id: bicubic.classical, settings: [{{scale: 4}}]}}
      - broken.site
    metrics: [psnr, ssim, {{name: psnr, as: {json.dumps(METRIC_PAYLOAD)}, channel: y}}]
  - name: codec
    task: compression
    dataset: {{name: folder, path: {json.dumps(str(data))}, limit: 2}}
    methods: [{{id: jpeg.pil, settings: [{{quality: 20}}, {{quality: 60}}, {{quality: 90}}]}}, png.pil]
    metrics: [bpp, psnr]
"""


def _images(folder: Path) -> Path:
    """Three 64 x 64 photographs (crops of the embedded samples), one of them named as markup."""
    from zoo.datasets import build_dataset

    folder.mkdir(parents=True)
    ds = build_dataset("samples", split="heldout", crop=64)
    for name, i in ((PAYLOAD, 0), ("b", 1), ("c", 2)):
        arr = (ds[i].image.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        Image.fromarray(arr).save(folder / f"{name}.png")
    return folder


@pytest.fixture(scope="module")
def site_run(tmp_path_factory):
    """A small run whose method id (an unknown one in the suite: a failed row), item (file) name,
    dataset (folder) name, metric alias, card fields and error message are all markup."""
    tmp = tmp_path_factory.mktemp("site")
    data = _images(tmp / PAYLOAD)
    suite = tmp / "site.yaml"
    suite.write_text(_suite(data))
    plugins.reset()
    plugins.register_plugin(InjectingPlugin(), "site-injecting")
    try:
        torch.set_num_threads(1)
        run = zoo.bench(str(suite), out=tmp / "run", progress=False)
    finally:
        plugins.unregister_plugin("site-injecting")
        plugins.reset()
    # A suite naming an unknown method is refused before anything runs, so the markup method id
    # enters as results from elsewhere do (a submission, a hand-edited file): a failed unit.
    results = pd.read_parquet(run.path / "results.parquet")
    failed = results[results.method == "broken.site"].assign(method=PAYLOAD, error=f"Unknown method {PAYLOAD}")
    pd.concat([results, failed], ignore_index=True).to_parquet(run.path / "results.parquet", index=False)
    (run.path / "summary.csv").unlink()  # summarised again from the results
    rebuild_site(run.path)
    return run


def test_site_escapes_everything_injected(site_run):
    page = (Path(site_run.path) / "index.html").read_text()
    for raw in RAW:
        assert raw not in page, raw
    assert html_escaped(PAYLOAD) in page and html_escaped(METRIC_PAYLOAD) in page
    assert 'href="javascript:' not in page  # a paper field is linked only when it is arXiv, a DOI or http(s)
    data = json.loads(re.search(r'<script type="application/json" id=zoo-data>(.*?)</script>', page, re.S).group(1))
    viewer = data["viewers"][0]
    assert PAYLOAD in viewer["items"] and "bilinear.site" in viewer["labels"]  # real names in the data: JS shows them as text
    assert "<" not in page.split("id=zoo-data>")[1].split("</script>")[0]


def html_escaped(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def test_json_for_script_cannot_close_the_script():
    text = json_for_script({"a": "</script><script>alert(1)</script>", "b": "<!--", "c": "\u2028"})
    assert "</script>" not in text and "<!--" not in text and "\u2028" not in text
    assert json.loads(text)["a"] == "</script><script>alert(1)</script>"


def test_sanitize_svg_keeps_drawing_drops_active_content():
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="10pt" onload="alert(1)">'
           '<script>alert(2)</script><foreignObject><p>x</p></foreignObject><a href="https://example.com"><text>t</text></a>'
           '<path d="M0 0L1 1" style="fill: url(https://example.com/x)"/><use xlink:href="#p1"/><use xlink:href="https://e.com/s.svg#a"/>'
           '<image href="https://example.com/i.png"/><g id="p1"><rect width="1" height="1" onclick="alert(3)"/></g>'
           '<style>@import "https://example.com/a.css";</style><style>*{stroke-linejoin: round}</style>'
           '<rect style="fill: url(#g); stroke: url( \'https://example.com/s\')" width="2" height="2"/>'
           '<rect style="fill: url(#g)" width="3" height="3"/></svg>')
    clean = sanitize_svg(svg)
    for bad in ("alert", "script", "foreignObject", "example.com", "e.com", "<image"):
        assert bad not in clean, bad
    assert "<rect" in clean and "#p1" in clean and 'd="M0 0L1 1"' in clean and "stroke-linejoin" in clean
    assert 'style="fill: url(#g)"' in clean  # references inside the figure stay
    with pytest.raises(ValueError, match="not an SVG"):
        sanitize_svg("<html/>")


def test_figures_are_inline_svg_with_hover_values_and_escaped_names(tmp_path):
    from zoo.report.plots import tradeoff_plots

    rows = [dict(benchmark="b", task="compression", dataset="d", item="i", method=m, setting=json.dumps({"q": q}),
                 metric=k, value=v, status="ok", error="", fingerprint="", run="r", suite="s", attributes="")
            for m, off in ((PAYLOAD, 0.0), ("jpeg", 1.0)) for q in (1, 2) for k, v in (("bpp", q * 0.5), ("psnr", 20 + q + off))]
    df = pd.DataFrame(rows)
    run = tmp_path / "run"
    [png] = tradeoff_plots(df, run, "bpp", "psnr", "rd")
    svg = png.with_suffix(".svg").read_text()
    assert svg.count("<title>") == 4 and "psnr = 21" in svg and PAYLOAD not in svg  # text nodes are XML-escaped
    page = write_site(run, df, {"run": "r", "suite": "s"}, figures=[png]).read_text()
    assert "<svg" in page and "<title>" in page and PAYLOAD not in page
    outside = tmp_path / "elsewhere.png"
    shutil.copy(png, outside)
    shutil.copy(png.with_suffix(".svg"), outside.with_suffix(".svg"))
    page = write_site(run, df, {"run": "r"}, figures=[outside, run / ".." / "elsewhere.png"]).read_text()
    assert "<svg" not in page.split("<main>")[1].split("id=cards")[0]  # nothing from outside the run folder


def test_samples_are_full_resolution_and_listed_in_the_viewer(site_run):
    out = Path(site_run.path)
    saved = sorted(p.name for p in (out / "samples" / "sr").glob("*.png"))
    # 2 of the 3 items (samples_per_benchmark: 2): input, reference and every method that ran
    assert len([s for s in saved if s.startswith("_input--")]) == 2
    ref = Image.open(next((out / "samples" / "sr").glob("_reference--*.png")))
    out_img = Image.open(next((out / "samples" / "sr").glob("bicubic.classical--*.png")))
    assert ref.size == out_img.size == (64, 64)
    page = (out / "index.html").read_text()
    data = json.loads(re.search(r"id=zoo-data>(.*?)</script>", page, re.S).group(1))
    sr = data["viewers"][0]
    assert sr["bench"] == "sr" and len(sr["items"]) == 3 and sum(1 for i in sr["items"] if sr["images"][i]) == 2
    first = sr["images"][sr["items"][0]]
    assert {"input", "reference", "bilinear.site", 'bicubic.classical (scale=4)'} <= set(first)
    from urllib.parse import unquote

    assert all((out / unquote(v)).is_file() for v in first.values())
    assert sr["values"]['bicubic.classical (scale=4)'][sr["items"][0]]["psnr"] > 20
    assert ERROR_PAYLOAD in json.dumps(sr["errors"])  # the failure's reason is shown per item (as text)


def test_sample_count_is_not_part_of_the_unit_key(tmp_path):
    text = "name: k\nsamples_per_benchmark: {n}\nbenchmarks:\n  - {{name: a, task: translation, dataset: {{name: samples, limit: 2}}, methods: [grayscale.example], metrics: [psnr]}}\n"
    keys = []
    for n in (0, 1, 5):
        p = tmp_path / f"k{n}.yaml"
        p.write_text(text.format(n=n))
        keys.append([u.key for plan in Runner(load_suite(str(p)), tmp_path / f"o{n}").plan() for u in plan.units])
    assert keys[0] == keys[1] == keys[2] and keys[0]


def test_site_shows_statuses_cards_and_metadata(site_run):
    page = (Path(site_run.path) / "index.html").read_text()
    assert "st-failed" in page and html_escaped(f"failed on purpose {ERROR_PAYLOAD}") in page
    assert "class=\"metric best\"" in page  # best of a column marked
    assert "psnr <span class=arrow>↑</span>" in page
    assert 'id="card-' in page and "weights" in page and "plugin" in page
    assert "content sha256" in page and site_run.meta["datasets"]["sr"]["content_sha256"] in page
    assert "Content-Security-Policy" in page and "default-src &#x27;none&#x27;" in page


def test_baseline_diff_and_zoo_report_open(site_run, tmp_path, monkeypatch):
    from zoo.cli import main

    out = Path(site_run.path)
    base = site_run.results.copy()
    hit = (base.benchmark == "sr") & (base.method == "bicubic.classical") & (base.metric == "psnr")
    base.loc[hit, "value"] = base.loc[hit, "value"] - 0.5
    base.to_csv(tmp_path / "baseline.csv", index=False)
    opened = []
    monkeypatch.setattr("webbrowser.open", lambda url: opened.append(url) or True)
    assert main(["report", str(out), "--against", str(tmp_path / "baseline.csv"), "--tolerance", "psnr=0.1", "--open"]) == 0
    assert opened == [(out / "index.html").resolve().as_uri()]
    page = (out / "index.html").read_text()
    assert "id=diff" in page and "value(s) drifted" in page and "psnr=0.1" in page
    moved = re.findall(r'<tr class="moved drift"[^>]*data-method="bicubic.classical"[^>]*>(.*?)</tr>', page)
    assert moved and any(">psnr<" in m and "0.5" in m for m in moved)
    assert "every value that drifted (3)" in page  # the three items' psnr, each listed with its reason
    assert re.search(r"; [1-9]\d* unchanged mean\(s\) are not listed", page)  # counted, not listed
    assert 'data-method="nearest.classical"' not in page.split("id=diff")[1].split("</table>")[0]
    rebuild_site(out)  # without --against: no diff section
    assert "id=diff" not in (out / "index.html").read_text()


# -- the browser -----------------------------------------------------------------------------

def _browser_or_skip():
    from zoo.report.browser import unavailable_reason

    reason = unavailable_reason()
    if reason:
        pytest.skip(f"no headless browser: {reason}")


def test_site_in_headless_chromium(site_run, tmp_path):
    """Sorting, the viewer, no request leaving the page, injected names shown as text."""
    _browser_or_skip()
    from playwright.sync_api import sync_playwright

    from zoo.report.browser import launch

    out = Path(site_run.path).resolve()
    artefacts = Path(os.environ.get("ZOO_TEST_ARTEFACTS", tmp_path))
    artefacts.mkdir(parents=True, exist_ok=True)
    requests, dialogs, errors = [], [], []
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("request", lambda r: requests.append(r.url))
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto((out / "index.html").as_uri())
            page.wait_for_selector("html[data-ready='1']")
            page.screenshot(path=str(artefacts / "site-top.png"))

            # sorting a column changes the order: best first (psnr is higher-is-better), then reversed
            table = page.locator("#bench-sr table.board")
            methods = lambda: table.locator("tbody tr td.method").all_inner_texts()  # noqa: E731
            psnr = lambda: [float(v) if v else None for v in table.locator("tbody tr td:nth-child(4)").evaluate_all("tds => tds.map(t => t.dataset.v)")]  # noqa: E731
            ranked = lambda: list(zip(methods(), psnr()))  # noqa: E731
            before = methods()
            header = table.locator("thead th[data-metric='psnr']")
            header.click()
            first = ranked()
            measured = [v for _, v in first if v is not None]
            assert len(measured) == 3 and measured == sorted(measured, reverse=True)  # best first: psnr is ↑
            assert [v for _, v in first[len(measured):]] == [None, None]  # failed units (two) sort last
            assert [m for m, _ in first] != before  # the order changed
            header.click()
            second = ranked()
            assert [m for m, v in second if v is not None] == [m for m, v in first if v is not None][::-1]
            assert header.get_attribute("aria-sort") == "ascending"

            # the injected method id is shown as text, and nothing it contains ran or loaded
            assert PAYLOAD in methods()
            assert page.locator(f"text={PAYLOAD}").count() > 0
            assert page.evaluate("document.querySelectorAll('img[src=\"x\"], svg[onload], script:not([type])').length") == 1  # the report's own script
            page.locator("#f-method").fill("nearest")
            assert table.locator("tbody tr:visible").count() == 1

            # the viewer: switch methods and items, keyboard and selects, per-item values beside
            page.locator("#f-method").fill("")
            viewer = page.locator("#bench-sr .viewer")
            viewer.scroll_into_view_if_needed()
            item0 = viewer.get_attribute("data-item")
            right0 = viewer.get_attribute("data-right")
            src0 = viewer.locator(".v-pane").nth(1).locator("img").get_attribute("src")
            viewer.focus()
            page.keyboard.press("ArrowDown")
            assert viewer.get_attribute("data-right") != right0
            assert viewer.locator(".v-pane").nth(1).locator("img").get_attribute("src") != src0
            viewer.locator("select.v-right").select_option(label='bicubic.classical (scale=4)')
            right_img = viewer.locator(".v-pane").nth(1).locator("img")
            assert "bicubic.classical" in right_img.get_attribute("src")
            page.wait_for_function("img => img.complete && img.naturalWidth === 64", arg=right_img.element_handle())
            viewer.focus()
            page.keyboard.press("ArrowRight")
            assert viewer.get_attribute("data-item") != item0
            assert viewer.locator(".v-vals thead th").first.inner_text() == viewer.get_attribute("data-item")
            assert viewer.locator(".v-vals tbody tr").count() >= 2  # psnr, ssim and the aliased psnr-y
            df = site_run.results
            want = df[(df.benchmark == "sr") & (df.method == "bicubic.classical") & (df.metric == "psnr")
                      & (df["item"] == viewer.get_attribute("data-item"))].value.iloc[0]
            shown = viewer.locator(".v-vals tbody tr", has_text="psnr ↑").first.locator("td").last.inner_text()
            assert shown == f"{want:.2f}"  # the item's own value, beside its image
            viewer.locator("select.v-right").select_option(label="bilinear.site")
            assert viewer.locator(".v-pane").nth(1).locator(".v-caption").inner_text() == "bilinear.site"
            viewer.locator("select.v-item").select_option(label=PAYLOAD)  # the file named as markup
            assert viewer.get_attribute("data-item") == PAYLOAD
            assert viewer.locator(".v-vals thead th").first.inner_text() == PAYLOAD
            # synchronised zoom: both panes carry the same transform
            viewer.focus()
            page.keyboard.press("+")
            transforms = viewer.locator(".v-side img").evaluate_all("imgs => imgs.map(i => i.style.transform)")
            assert len(set(transforms)) == 1 and "scale(1.5)" in transforms[0]
            page.keyboard.press("s")  # before/after slider
            assert viewer.get_attribute("data-mode") == "slider"
            viewer.locator(".v-range").fill("30")
            assert "30%" in viewer.locator(".v-over").evaluate("i => i.style.clipPath")
            viewer.screenshot(path=str(artefacts / "site-viewer.png"))
            page.screenshot(path=str(artefacts / "site-full.png"), full_page=True)
        finally:
            browser.close()
    assert not dialogs, dialogs
    assert not errors, errors
    leaving = [u for u in requests if not u.startswith(out.as_uri())]
    assert not leaving, leaving  # every request stays inside the run folder (file://), none to the network
    assert any("/samples/" in u for u in requests)  # the log did see the viewer's images
