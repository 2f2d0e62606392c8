"""The widget's weight and speed, against the budgets of the widget issue:

- embed.js gzipped, budget 3 KB;
- everything the widget's first screen loads (HTML, CSS, JS, JSON; Stripe.js aside), as the bytes
  Chromium actually received (encoded body sizes), budget 30 KB, for the service list
  (/widget/{expert}) and for a direct service link (/widget/{expert}/{service});
- the time from inserting the snippet into a host page to the first slot buttons on screen,
  median and p90 of 10 in headless Chromium, with a cold cache (a fresh browser context each run),
  a cold cache in a settled browser (one context whose HTTP cache is emptied before each run) and a
  warm one (embed.js and the widget's files cached, as for a returning visitor). Why the settled line:
  a fresh context opens a new window, and headless Chromium loads that window's omnibox popup
  (chrome://omnibox-popup.top-chrome, about 150 WebUI files) while the snippet loads, taking one of a
  small machine's cores for the first 300 ms or so; a visitor's browser did that when its window
  opened, so the settled line is the widget's own path (the fresh-context line stays the budget's);
- where that time goes (cold): the medians, from the insertion, of embed.js arriving, the widget's
  page, its styles and modules, the profile and slots requests, and the first slots painted.

Today's code (bench/baseline.py) and the new are each served by gunicorn (4 workers, its own SQLite
database, the demo expert) on 127.0.0.1, side by side in the same run; a static host site on
localhost serves the host page: two origins, as on a real expert's site.

Run from the repository root:  .venv/bin/python bench/bench_widget.py [--runs 10]
"""
from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from bench.baseline import baseline_root  # noqa: E402
from e2e.conftest import HostSite, _browser_path  # noqa: E402
from tests.live import GunicornApp  # noqa: E402

EMBED_BUDGET = 3 * 1024
FIRST_SCREEN_BUDGET = 30 * 1024
FIRST_SLOTS_BUDGET_MS = 300
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--no-first-run", "--disable-sync"]

# Runs in every frame before its own scripts: inside the widget, note when the first slot button
# has been laid out and is about to be painted (on the clock every document of the browser shares:
# timeOrigin + now(), comparable with the host page's).
FIRST_SLOT_PROBE = """
if (location.pathname.startsWith('/widget/')) {
  new MutationObserver(function (_, obs) {
    if (document.querySelector('button.time, button.sess-btn')) {
      obs.disconnect();
      requestAnimationFrame(function () { window.__firstSlotAt = performance.timeOrigin + performance.now(); });
    }
  }).observe(document, {childList: true, subtree: true});
}
"""

INSERT_SNIPPET = """([src, expert, service]) => {
  window.__insertedAt = performance.timeOrigin + performance.now();
  const div = document.createElement('div');
  div.dataset.kairosExpert = expert;
  div.dataset.kairosService = service;
  document.body.append(div);
  const s = document.createElement('script');
  s.src = src;
  s.async = true;
  document.body.append(s);
}"""


# Inside the widget's frame once its first slots are painted: when each of its requests started and
# ended, on the shared clock.
WATERFALL = """() => {
  const o = performance.timeOrigin, nav = performance.getEntriesByType('navigation')[0];
  return {page: [o + nav.startTime, o + nav.responseEnd], slots: window.__firstSlotAt,
          resources: performance.getEntriesByType('resource').map(e => [e.name, o + e.startTime, o + e.responseEnd])};
}"""

MILESTONES = ("embed.js arrived", "widget page asked", "widget page arrived", "styles and modules arrived",
              "profile answered", "slots asked", "slots answered", "first slots painted")


def milestones(page, frame) -> dict[str, float]:
    """One cold run's waterfall: each milestone in ms after the snippet was inserted."""
    t0 = page.evaluate("window.__insertedAt")
    embed = page.evaluate("performance.timeOrigin + performance.getEntriesByType('resource')"
                          ".filter(e => e.name.endsWith('/embed.js'))[0].responseEnd")
    w = frame.evaluate(WATERFALL)
    res = w["resources"]
    # The widget's files: /assets/<version>/… since they are versioned, /widget-assets/… before.
    assets = [end for name, _, end in res if urlparse(name).path.startswith(("/assets/", "/widget-assets/"))]
    profile = [end for name, _, end in res if urlparse(name).path.rstrip("/").endswith("/experts/demo")]
    slots = [(start, end) for name, start, end in res if "/slots?" in name]  # not /widget-assets/slots.js
    got = {"embed.js arrived": embed, "widget page asked": w["page"][0], "widget page arrived": w["page"][1],
           "styles and modules arrived": max(assets) if assets else None,
           "profile answered": min(profile) if profile else None,
           "slots asked": slots[0][0] if slots else None, "slots answered": slots[0][1] if slots else None,
           "first slots painted": w["slots"]}
    return {k: v - t0 for k, v in got.items() if v is not None}


def kb(n: float) -> str:
    return f"{n / 1024:.1f} KB"


def verdict(ok: bool) -> str:
    return "ok" if ok else "OVER BUDGET"


def embed_size(label: str, root: Path, server: GunicornApp) -> None:
    source = (root / "embed" / "embed.js").read_bytes()
    gz9 = len(gzip.compress(source, 9, mtime=0))
    req = urllib.request.Request(server.url + "/embed.js", headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(req) as res:
        served = len(res.read())
        encoding = res.headers.get("Content-Encoding")
    print(f"  {label:<9} source {len(source):>6} B   gzip -9 {gz9:>5} B   served ({encoding}) {served:>5} B   "
          f"budget {EMBED_BUDGET} B: {verdict(max(gz9, served) <= EMBED_BUDGET and encoding == 'gzip')}")


def first_screen(browser, server: GunicornApp, host: HostSite, path: str, ready: str) -> tuple[int, list]:
    """Load the widget at ``path`` in an iframe on a host page; sum what its first screen received."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US",
                                  timezone_id="America/New_York")
    page = context.new_page()
    got: list[tuple[str, str, int]] = []
    pending: set = set()
    page.on("request", lambda r: pending.add(r) if r.url.startswith(server.url) else None)

    def finished(request) -> None:
        pending.discard(request)
        if not request.url.startswith(server.url) or request.url.endswith("/embed.js"):
            return
        response = request.response()
        size = request.sizes()["responseBodySize"]
        got.append((urlparse(request.url).path + ("?…" if urlparse(request.url).query else ""),
                    (response.headers.get("content-encoding") or "identity") if response else "-", size))

    page.on("requestfinished", finished)
    page.on("requestfailed", lambda r: pending.discard(r))
    url = host.page("bench-first-screen.html", f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>bench</title></head><body><iframe title="Booking" src="{server.url}{path}?origin={host.origin}&wid=bench"
style="width:100%;height:900px;border:0"></iframe></body></html>""")
    page.goto(url)
    page.frame_locator("iframe").locator(ready).first.wait_for(state="visible", timeout=15000)
    # Let whatever the first screen still asks for arrive (and nothing is hovered or focused, so the
    # later steps, loaded on intent, stay out of it).
    quiet_since = time.time()
    while time.time() - quiet_since < 0.5:
        if pending:
            quiet_since = time.time()
        page.wait_for_timeout(50)
    context.close()
    return sum(size for _, _, size in got), got


def time_to_slots(browser, server: GunicornApp, host: HostSite, runs: int, warm: bool,
                  waterfall: list | None = None, settled: dict | None = None) -> list[float]:
    """Insert the snippet ``runs`` times; ms to the first slots painted. Cold runs add their waterfall.

    ``settled``: keep one context (and its window) in this dict across calls and empty its HTTP cache
    before each run, instead of a fresh context per run."""
    url = host.page("bench-host.html", """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>An expert's site</title></head>
<body><h1>Book a session</h1></body></html>""")
    samples = []
    context = None
    for i in range(runs + (1 if warm else 0)):
        if settled is not None:
            if "context" not in settled:
                settled["context"] = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US",
                                                         timezone_id="America/New_York")
                settled["context"].add_init_script(FIRST_SLOT_PROBE)
                settled["page"] = settled["context"].new_page()
                settled["cdp"] = settled["context"].new_cdp_session(settled["page"])
            settled["cdp"].send("Network.clearBrowserCache")
            page = settled["page"]
        elif context is None or not warm:
            if context:
                context.close()
            context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US",
                                          timezone_id="America/New_York")
            context.add_init_script(FIRST_SLOT_PROBE)
        if settled is None:
            page = context.new_page()
        page.goto(url)
        page.evaluate(INSERT_SNIPPET, [f"{server.url}/embed.js", "demo", "intro-call"])
        frame_locator = page.frame_locator("iframe")
        frame_locator.locator("button.time").first.wait_for(state="visible", timeout=15000)
        frame = next(f for f in page.frames if "/widget/" in f.url)
        frame.wait_for_function("window.__firstSlotAt !== undefined")
        elapsed = frame.evaluate("window.__firstSlotAt") - page.evaluate("window.__insertedAt")
        if waterfall is not None and not warm:
            waterfall.append(milestones(page, frame))
        if settled is None:
            page.close()
        if warm and i == 0:
            continue  # the first visit fills the cache
        samples.append(float(elapsed))
    if context:
        context.close()
    return samples


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[max(0, int(round(len(ordered) * 0.9)) - 1)]
    return (f"median {statistics.median(ordered):6.0f} ms   p90 {p90:6.0f} ms   "
            f"(min {ordered[0]:.0f}, max {ordered[-1]:.0f}, n={len(ordered)})")


def start(root: Path, instance: Path) -> GunicornApp:
    """gunicorn serving the code at ``root`` on its own SQLite database, with the demo expert."""
    instance.mkdir()
    app = GunicornApp(f"sqlite:///{instance / 'kairos.db'}", instance, workers=4, root=root).start()
    app.kairos("demo")
    return app


def print_waterfall(waterfalls: dict[str, list[dict[str, float]]]) -> None:
    labels = list(waterfalls)
    print(f"  {'ms after the snippet was inserted (medians)':<44}" + "".join(f"{label:>10}" for label in labels))
    for name in MILESTONES:
        cells = []
        for label in labels:
            values = [run[name] for run in waterfalls[label] if name in run]
            cells.append(f"{statistics.median(values):>10.0f}" if values else f"{'-':>10}")
        print(f"  {name:<44}" + "".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        host_root = Path(tmp) / "host"
        host_root.mkdir()
        host = HostSite(host_root)
        roots = {"baseline": baseline_root(), "new": ROOT}
        servers: dict[str, GunicornApp] = {}
        try:
            for label, root in roots.items():
                servers[label] = start(root, Path(tmp) / label)
            print("embed.js")
            for label, server in servers.items():
                embed_size(label, roots[label], server)
            with sync_playwright() as p:
                launch = {"args": LAUNCH_ARGS}
                if _browser_path():
                    launch["executable_path"] = _browser_path()
                browser = p.chromium.launch(**launch)
                print("\nwidget first screen (bytes received by Chromium, encoded; embed.js not counted)")
                for label, server in servers.items():
                    for kind, path, ready in (("service list", "/widget/demo", "button.svc-btn"),
                                              ("direct service link", "/widget/demo/intro-call", "button.time")):
                        total, items = first_screen(browser, server, host, path, ready)
                        print(f"  {label:<9} {kind} ({path}): {total} B = {kb(total)}   "
                              f"budget {kb(FIRST_SCREEN_BUDGET)}: {verdict(total <= FIRST_SCREEN_BUDGET)}")
                        for name, encoding, size in sorted(items, key=lambda x: -x[2]):
                            print(f"      {size:>6} B  {encoding:<8} {name}")
                print("\ninserting the snippet → first slot buttons on screen (headless Chromium, loopback)")
                waterfalls: dict[str, list] = {}
                settled_waterfalls: dict[str, list] = {}
                cold, settled_cold = {}, {}
                windows: dict[str, dict] = {label: {} for label in servers}
                # Alternate the versions run by run, so a busy spell of the shared machine hits both.
                for label in servers:
                    cold[label], waterfalls[label], settled_cold[label], settled_waterfalls[label] = [], [], [], []
                for _ in range(args.runs):
                    for label, server in servers.items():
                        cold[label] += time_to_slots(browser, server, host, 1, warm=False, waterfall=waterfalls[label])
                        settled_cold[label] += time_to_slots(browser, server, host, 1, warm=False,
                                                             waterfall=settled_waterfalls[label],
                                                             settled=windows[label])
                for window in windows.values():
                    window["context"].close()
                for label in servers:
                    ok = statistics.median(cold[label]) <= FIRST_SLOTS_BUDGET_MS
                    print(f"  {label:<9} cold cache: {summary(cold[label])}   budget {FIRST_SLOTS_BUDGET_MS} ms: "
                          f"{verdict(ok)}")
                for label in servers:
                    print(f"  {label:<9} cold cache, settled browser: {summary(settled_cold[label])}")
                for label, server in servers.items():
                    print(f"  {label:<9} warm cache: {summary(time_to_slots(browser, server, host, args.runs, warm=True))}")
                ratio = statistics.median(cold["baseline"]) / statistics.median(cold["new"])
                settled_ratio = statistics.median(settled_cold["baseline"]) / statistics.median(settled_cold["new"])
                print(f"  cold median, baseline / new: {ratio:.2f}× (settled browser {settled_ratio:.2f}×)")
                print("\nwhere the cold time goes (a fresh context)")
                print_waterfall(waterfalls)
                print("\nwhere the cold time goes (a settled browser)")
                print_waterfall(settled_waterfalls)
                browser.close()
        finally:
            host.stop()
            for server in servers.values():
                server.stop()


if __name__ == "__main__":
    main()
