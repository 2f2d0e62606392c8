"""The widget's weight and speed, against the budgets of the widget issue:

- embed.js gzipped, budget 3 KB;
- everything the widget's first screen loads (HTML, CSS, JS, JSON; Stripe.js aside), as the bytes
  Chromium actually received (encoded body sizes), budget 30 KB, for the service list
  (/widget/{expert}) and for a direct service link (/widget/{expert}/{service});
- the time from inserting the snippet into a host page to the first slot buttons on screen,
  median and p90 of 10 in headless Chromium, with a cold cache (a fresh browser context each run)
  and a warm one (embed.js and the widget's files cached, as for a returning visitor).

A live `kairos serve` (its own SQLite database, demo expert) serves the widget on 127.0.0.1 and a
static host site on localhost serves the host page: two origins, as on a real expert's site. A second
server runs the baseline commit's code (bench/baseline.py), so every figure is printed beside today's
in the same run (the machine is shared: only side-by-side figures compare).

Run from the repository root:  .venv/bin/python bench/bench_widget.py [--runs 10]
"""
from __future__ import annotations

import argparse
import gzip
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from bench.baseline import BASELINE_REF, baseline_root  # noqa: E402
from e2e.conftest import KAIROS, HostSite, LiveServer, _browser_path  # noqa: E402

EMBED_BUDGET = 3 * 1024
FIRST_SCREEN_BUDGET = 30 * 1024
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--no-first-run", "--disable-sync"]

# Runs in every frame before its own scripts: inside the widget, note when the first slot button
# has been laid out and is about to be painted (Date.now(), comparable with the host page's).
FIRST_SLOT_PROBE = """
if (location.pathname.startsWith('/widget/')) {
  new MutationObserver(function (_, obs) {
    if (document.querySelector('button.time, button.sess-btn')) {
      obs.disconnect();
      requestAnimationFrame(function () { window.__firstSlotAt = Date.now(); });
    }
  }).observe(document, {childList: true, subtree: true});
}
"""

INSERT_SNIPPET = """([src, expert, service]) => {
  window.__insertedAt = Date.now();
  const div = document.createElement('div');
  div.dataset.kairosExpert = expert;
  div.dataset.kairosService = service;
  document.body.append(div);
  const s = document.createElement('script');
  s.src = src;
  s.async = true;
  document.body.append(s);
}"""


class BaselineServer(LiveServer):
    """`kairos serve` run from the baseline commit's tree (its backend and its widget files)."""

    def __init__(self, tmp: Path, root: Path) -> None:
        super().__init__(tmp)
        self.root = root

    def kairos(self, *args: str) -> str:
        result = subprocess.run([*KAIROS, *args], env=self.env, cwd=self.root, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, result.stderr + result.stdout
        return result.stdout

    def start(self) -> BaselineServer:
        self.kairos("migrate")
        self.proc = subprocess.Popen([*KAIROS, "serve", "--port", str(self.port)], env=self.env, cwd=self.root,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/api/openapi.json", timeout=1)
                return self
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("baseline server exited") from None
                time.sleep(0.1)
        raise RuntimeError("baseline server did not start")


def kb(n: float) -> str:
    return f"{n / 1024:.1f} KB"


def verdict(ok: bool) -> str:
    return "ok" if ok else "OVER BUDGET"


def embed_size(server: LiveServer) -> None:
    source = (ROOT / "embed" / "embed.js").read_bytes()
    gz9 = len(gzip.compress(source, 9, mtime=0))
    req = urllib.request.Request(server.url + "/embed.js", headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(req) as res:
        served = len(res.read())
        encoding = res.headers.get("Content-Encoding")
    print("embed.js")
    print(f"  source {len(source):>6} B   gzip -9 {gz9:>5} B   served ({encoding}) {served:>5} B   "
          f"budget {EMBED_BUDGET} B: {verdict(max(gz9, served) <= EMBED_BUDGET and encoding == 'gzip')}")


def first_screen(browser, server: LiveServer, host: HostSite, path: str, ready: str) -> tuple[int, list]:
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


def time_to_slots(browser, server: LiveServer, host: HostSite, runs: int, warm: bool) -> list[float]:
    url = host.page("bench-host.html", """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>An expert's site</title></head>
<body><h1>Book a session</h1></body></html>""")
    samples = []
    context = None
    for i in range(runs + (1 if warm else 0)):
        if context is None or not warm:
            if context:
                context.close()
            context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US",
                                          timezone_id="America/New_York")
            context.add_init_script(FIRST_SLOT_PROBE)
        page = context.new_page()
        page.goto(url)
        page.evaluate(INSERT_SNIPPET, [f"{server.url}/embed.js", "demo", "intro-call"])
        frame_locator = page.frame_locator("iframe")
        frame_locator.locator("button.time").first.wait_for(state="visible", timeout=15000)
        frame = next(f for f in page.frames if "/widget/" in f.url)
        frame.wait_for_function("window.__firstSlotAt !== undefined")
        elapsed = frame.evaluate("window.__firstSlotAt") - page.evaluate("window.__insertedAt")
        page.close()
        if warm and i == 0:
            continue  # the first visit fills the cache
        samples.append(float(elapsed))
    context.close()
    return samples


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[max(0, int(round(len(ordered) * 0.9)) - 1)]
    return (f"median {statistics.median(ordered):6.0f} ms   p90 {p90:6.0f} ms   "
            f"(min {ordered[0]:.0f}, max {ordered[-1]:.0f}, n={len(ordered)})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "new").mkdir()
        (Path(tmp) / "old").mkdir()
        server = LiveServer(Path(tmp) / "new").start()
        baseline = BaselineServer(Path(tmp) / "old", baseline_root()).start()
        host_root = Path(tmp) / "host"
        host_root.mkdir()
        host = HostSite(host_root)
        servers = ((f"baseline {BASELINE_REF}", baseline), ("this tree", server))
        try:
            for _, s in servers:
                s.kairos("demo")
            embed_size(server)
            with sync_playwright() as p:
                launch = {"args": LAUNCH_ARGS}
                if _browser_path():
                    launch["executable_path"] = _browser_path()
                browser = p.chromium.launch(**launch)
                print("\nwidget first screen (bytes received by Chromium, encoded; embed.js not counted)")
                for label, path, ready in (("service list", "/widget/demo", "button.svc-btn"),
                                           ("direct service link", "/widget/demo/intro-call", "button.time")):
                    for name, s in servers:
                        total, items = first_screen(browser, s, host, path, ready)
                        print(f"  {label} ({path}), {name}: {total} B = {kb(total)}   "
                              f"budget {kb(FIRST_SCREEN_BUDGET)}: {verdict(total <= FIRST_SCREEN_BUDGET)}")
                        for item, encoding, size in sorted(items, key=lambda x: -x[2]):
                            print(f"      {size:>6} B  {encoding:<8} {item}")
                print("\ninserting the snippet → first slot buttons on screen (headless Chromium, loopback)")
                for warm in (False, True):
                    # Alternating rounds, so a busy spell of the shared machine falls on both.
                    samples: dict[str, list[float]] = {name: [] for name, _ in servers}
                    for _ in range(args.runs):
                        for name, s in servers:
                            samples[name] += time_to_slots(browser, s, host, 1, warm=warm)
                    for name, _ in servers:
                        print(f"  {'warm' if warm else 'cold'} cache, {name}: {summary(samples[name])}")
                    ratio = statistics.median(samples["this tree"]) / statistics.median(samples[servers[0][0]])
                    print(f"  {'warm' if warm else 'cold'} cache: this tree / baseline = {ratio:.2f}x (medians)")
                browser.close()
        finally:
            host.stop()
            for _, s in servers:
                s.stop()

if __name__ == "__main__":
    main()
