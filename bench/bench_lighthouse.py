"""What the widget costs the expert's own page, as Google measures it: Lighthouse 12.2.3 (mobile preset:
a Moto G Power screen, 4x slower CPU and a slow 4G link, simulated) on an article of another origin,
with and without the widget, today's code (bench/baseline.py) beside the new, medians of 3 runs.

Targets (issue #19): Cumulative Layout Shift at most 0.05 with the widget; Total Blocking Time at
most 150 ms more than the same page without it.

- "first screen": an article whose first screen holds the widget (a direct service link) with text
  under it, the snippet as the README gives it (its box reserved with ``min-height``);
- "below the fold": the same widget after a long article;
- "without": the same articles without the snippet (no Kairos code at all, so one figure serves both
  versions).

Chrome on Android isolates only the sites people sign in to: there a cross-origin widget shares the
article's main thread, and its boot blocks the article. Lighthouse runs on a desktop Chrome, which
gives each site its own process (and the article would not see the widget's work at all), so this
bench turns site isolation off by default (``--site-isolation`` keeps it, as desktop Chrome does).

Each version is served by gunicorn (4 workers, its own SQLite database, the demo expert) on
127.0.0.1; the host pages by a static server on localhost: two origins. Lighthouse comes from the npm
registry into bench/.lighthouse (gitignored) on first use; Chromium from CHROME_PATH, else
/usr/bin/chromium.

Run from the repository root:  .venv/bin/python bench/bench_lighthouse.py [--runs 3] [--site-isolation]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.baseline import baseline_root  # noqa: E402
from e2e.conftest import HostSite  # noqa: E402
from tests.live import GunicornApp  # noqa: E402

LIGHTHOUSE = "lighthouse@12.2.3"
CACHE = ROOT / "bench" / ".lighthouse"
CLI = CACHE / "node_modules" / "lighthouse" / "cli" / "index.js"
CLS_TARGET = 0.05
TBT_BUDGET_MS = 150

PARAGRAPH = ("<p>Changing fields is less about courage than about evidence: a portfolio, two people who "
             "will vouch for you, and a first project you can talk about for ten minutes. Most people "
             "who manage it start with one small paid piece of work in the new field while they still "
             "have the old job, and they keep a written record of what they learned from it.</p>")


def article(title: str, widget: str, filler: int) -> str:
    """An ordinary article page of the expert's own site (its own fonts and styles, no framework)."""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<meta name="description" content="Career coaching for people changing fields.">
<style>
body {{ margin: 0; font: 18px/1.6 Georgia, "Times New Roman", serif; color: #222; background: #faf7f2; }}
header {{ padding: 12px 16px; background: #1f3a56; color: #fff; }}
main {{ max-width: 720px; margin: 0 auto; padding: 8px 16px 40px; }}
h1 {{ font-size: 28px; line-height: 1.2; margin: 16px 0 8px; }}
</style></head>
<body><header>Maya Lindqvist · Career coaching</header>
<main><h1>{title}</h1><p>Three questions to ask before you jump, and a free call if you want to talk them through.</p>
{PARAGRAPH * filler}{widget}
<h2>What to do this week</h2>{PARAGRAPH * 8}</main></body></html>"""


def snippet(server_url: str) -> str:
    """The README's snippet for a direct service link."""
    return (f'<div data-kairos-expert="demo" data-kairos-service="intro-call" style="min-height:720px"></div>'
            f'<script src="{server_url}/embed.js" async></script>')


PAGES = (("first screen", 0), ("below the fold", 25))


def ensure_lighthouse() -> None:
    if CLI.exists():
        return
    CACHE.mkdir(parents=True, exist_ok=True)
    print(f"installing {LIGHTHOUSE} into {CACHE.relative_to(ROOT)} …", flush=True)
    subprocess.run(["npm", "install", "--prefix", str(CACHE), "--no-audit", "--no-fund", "--loglevel=error",
                    LIGHTHOUSE], check=True)


def lighthouse(url: str, out: Path, isolation: bool) -> dict[str, float]:
    """One Lighthouse run (mobile preset, performance only); the three figures."""
    flags = ["--headless=new", "--no-sandbox", "--disable-gpu"]
    if not isolation:
        flags += ["--disable-site-isolation-trials", "--disable-features=IsolateOrigins,site-per-process"]
    env = {**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")}
    subprocess.run(["node", str(CLI), url, "--quiet", "--only-categories=performance", "--output=json",
                    f"--output-path={out}", f"--chrome-flags={' '.join(flags)}", "--max-wait-for-load=60000"],
                   env=env, check=True, timeout=300)
    audits = json.loads(out.read_text())["audits"]
    return {"cls": audits["cumulative-layout-shift"]["numericValue"],
            "tbt": audits["total-blocking-time"]["numericValue"],
            "lcp": audits["largest-contentful-paint"]["numericValue"]}


def medians(urls: dict[str, str], runs: int, tmp: Path, isolation: bool) -> dict[str, dict[str, float]]:
    """Medians per label; the labels take turns run by run, so a busy spell of the shared machine hits all."""
    results: dict[str, list] = {label: [] for label in urls}
    for i in range(runs):
        for label, url in urls.items():
            results[label].append(lighthouse(url, tmp / f"lh-{label}-{i}.json", isolation))
    return {label: {k: statistics.median(r[k] for r in got) for k in ("cls", "tbt", "lcp")}
            for label, got in results.items()}


def start(root: Path, instance: Path) -> GunicornApp:
    instance.mkdir()
    app = GunicornApp(f"sqlite:///{instance / 'kairos.db'}", instance, workers=4, root=root).start()
    app.kairos("demo")
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--site-isolation", action="store_true",
                        help="keep desktop Chrome's site isolation (the widget's work then runs in its own process)")
    args = parser.parse_args()
    ensure_lighthouse()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "host").mkdir()
        host = HostSite(tmp / "host")
        apps = {}
        try:
            apps["baseline"] = start(baseline_root(), tmp / "baseline")
            apps["new"] = start(ROOT, tmp / "new")
            mode = "site isolation on (desktop Chrome)" if args.site_isolation else \
                "site isolation off (Chrome on Android: the widget shares the article's main thread)"
            print(f"Lighthouse 12.2.3, mobile preset, medians of {args.runs}; {mode}")
            print(f"{'page':<16} {'widget':<12} {'CLS':>6} {'TBT ms':>8} {'+TBT ms':>8} {'LCP ms':>8}   verdict")
            for name, filler in PAGES:
                slug = name.replace(" ", "-")
                urls = {"without": host.page(f"{slug}-without.html", article("Changing careers at forty", "", filler))}
                for version in ("baseline", "new"):
                    urls[version] = host.page(f"{slug}-{version}.html", article("Changing careers at forty",
                                                                                snippet(apps[version].url), filler))
                figures = medians(urls, args.runs, tmp, args.site_isolation)
                without = figures["without"]
                print(f"{name:<16} {'without':<12} {without['cls']:>6.3f} {without['tbt']:>8.0f} {'':>8} "
                      f"{without['lcp']:>8.0f}", flush=True)
                for version in ("baseline", "new"):
                    got = figures[version]
                    extra = got["tbt"] - without["tbt"]
                    ok = got["cls"] <= CLS_TARGET and extra <= TBT_BUDGET_MS
                    print(f"{name:<16} {version:<12} {got['cls']:>6.3f} {got['tbt']:>8.0f} {extra:>+8.0f} "
                          f"{got['lcp']:>8.0f}   {'ok' if ok else 'over target'}", flush=True)
            print(f"targets with the widget: CLS ≤ {CLS_TARGET}, TBT ≤ {TBT_BUDGET_MS} ms more than without")
        finally:
            for app in apps.values():
                app.stop()
            host.stop()


if __name__ == "__main__":
    main()
