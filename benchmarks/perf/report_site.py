"""Weight and render time of a run's report page (index.html) in headless Chromium.

    uv run python benchmarks/perf/report_site.py                 # a fresh `zoo bench quick` first
    uv run python benchmarks/perf/report_site.py --run runs/quick [--screenshot docs/img/report.png]

Needs Debian's chromium (``apt-get install -y chromium``) and playwright (dev dependency).
Prints, for the page:

* weight on open: every byte the browser reads to show it (index.html plus the images the
  viewers show first), from the browser's own request log; no request may leave the folder;
* weight of everything the page can reach: index.html plus every image its viewers can load;
* render time over ``--repeat`` cold loads: first contentful paint, the page's script done
  (tables sortable, viewers built), and the load event (every image shown decoded).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse


def reachable_bytes(run: Path) -> tuple[int, int]:
    """(bytes, files) of index.html plus every image the page's viewers can load (each distinct file once)."""
    page = (run / "index.html").read_text()
    data = json.loads(re.search(r"id=zoo-data>(.*?)</script>", page, re.S).group(1))
    files = {unquote(src) for v in data["viewers"] for imgs in v["images"].values() for src in imgs.values()}
    files |= {unquote(m) for m in re.findall(r'<img loading=lazy src="([^"]+)"', page)}
    return (run / "index.html").stat().st_size + sum((run / f).stat().st_size for f in files), len(files) + 1


def measure(run: Path, repeat: int, screenshot: Path | None) -> dict:
    from playwright.sync_api import sync_playwright

    from zoo.report.browser import launch, unavailable_reason

    reason = unavailable_reason()
    if reason:
        sys.exit(f"cannot measure: {reason}")
    url = (run / "index.html").resolve().as_uri()
    loads = []
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            for i in range(repeat):
                ctx = browser.new_context(viewport={"width": 1400, "height": 900})  # cold: no cache between loads
                page = ctx.new_page()
                urls: list[str] = []
                page.on("request", lambda r, urls=urls: urls.append(r.url))
                page.goto(url, wait_until="load")
                page.wait_for_selector("html[data-ready='1']")
                t = page.evaluate("""() => {
                    const nav = performance.getEntriesByType('navigation')[0];
                    const fcp = performance.getEntriesByName('first-contentful-paint')[0];
                    return {fcp: fcp ? fcp.startTime : null, dom: nav.domContentLoadedEventEnd, load: nav.loadEventEnd};
                }""")
                leaving = [u for u in urls if not u.startswith(run.resolve().as_uri())]
                if leaving:
                    sys.exit(f"requests left the run folder: {leaving[:5]}")
                files = {Path(unquote(urlparse(u).path)) for u in urls}
                t["bytes"] = sum(f.stat().st_size for f in files if f.is_file())
                t["requests"] = len(urls)
                loads.append(t)
                if screenshot is not None and i == 0:  # the first benchmark: its table and its viewer
                    screenshot.parent.mkdir(parents=True, exist_ok=True)
                    page.set_viewport_size({"width": 1280, "height": 1040})
                    page.evaluate("document.querySelector('section.bench').scrollIntoView()")
                    page.wait_for_function("[...document.querySelectorAll('.viewer img')].every(i => i.hidden || i.complete)")
                    page.screenshot(path=str(screenshot))
                ctx.close()
        finally:
            browser.close()
    return {"loads": loads, "html": (run / "index.html").stat().st_size, "reachable": reachable_bytes(run)}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--run", help="run folder with index.html (default: a fresh `zoo bench quick` in a temporary folder)")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--screenshot", type=Path, help="save the first load's screenshot here (docs/img/report.png)")
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(a.run) if a.run else Path(tmp) / "quick"
        if not a.run:
            env = {**os.environ, "HF_HUB_OFFLINE": "1"}
            subprocess.run([sys.executable, "-m", "zoo.cli", "bench", "quick", "-o", str(run), "--no-progress"], check=True,
                           env=env, stdout=subprocess.DEVNULL)
        r = measure(run, a.repeat, a.screenshot)
    mb = lambda b: f"{b / 1e6:.2f} MB"  # noqa: E731
    first = r["loads"][0]
    print(f"index.html: {mb(r['html'])}")
    print(f"weight on open: {mb(first['bytes'])} in {first['requests']} requests, all inside the run folder")
    print(f"everything the page can load: {mb(r['reachable'][0])} in {r['reachable'][1]} files")
    for k, name in (("fcp", "first contentful paint"), ("dom", "script done (DOMContentLoaded)"), ("load", "load event")):
        vals = [x[k] for x in r["loads"] if x[k] is not None]
        print(f"{name}: median {statistics.median(vals):.0f} ms, max {max(vals):.0f} ms over {len(vals)} cold loads")


if __name__ == "__main__":
    main()
