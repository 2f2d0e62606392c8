"""Median time of the slots endpoint for a 62-day range: in process and over HTTP, at 500, 2,000
and 10,000 bookings (target: ≤ 10 ms in process at 2,000; growth no faster than linear).

Run from the repository root:  .venv/bin/python bench/bench_slots.py [--runs 30]
"""
from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scenario import seed  # noqa: E402


def median_ms(fn, runs: int) -> tuple[float, float]:
    fn()  # warm-up: imports, caches, the first query plan
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.9) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    from flask_migrate import upgrade

    from backend.app import create_app
    start = date.today() + timedelta(days=1)
    query = f"start={start}&end={start + timedelta(days=61)}&timezone=Europe/Paris"
    path = f"/api/v1/experts/bench/services/call/slots?{query}"
    print(f"slots endpoint, 62-day range, median of {args.runs} (p90), SQLite")
    print(f"{'bookings':>9} {'slots':>6} {'in process ms':>14} {'over HTTP ms':>13}")
    rows = []
    for n in (500, 2000, 10000):
        with tempfile.TemporaryDirectory() as tmp:
            env = {"KAIROS_DATABASE_URL": f"sqlite:///{tmp}/bench.db", "KAIROS_INSTANCE_DIR": tmp,
                   "KAIROS_SECRET_KEY": "bench-secret-key-0123456789"}
            app = create_app(env)
            # Request logs are still formatted (they are part of the cost) but not printed over the figures.
            for handler in logging.getLogger("kairos").handlers:
                handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 (lives as long as the bench)
            with app.app_context():
                upgrade()
            seed(app, n)
            client = app.test_client()
            count = len(client.get(path).get_json()["slots"])
            in_process = median_ms(lambda: client.get(path), args.runs)
            port = 5600 + n % 97
            server = subprocess.Popen([sys.executable, "-m", "backend", "serve", "--port", str(port)],
                                      env={**os.environ, **env}, cwd=ROOT, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)
            try:
                url = f"http://127.0.0.1:{port}{path}"
                for _ in range(100):
                    try:
                        urllib.request.urlopen(url, timeout=2).read()
                        break
                    except OSError:
                        time.sleep(0.1)
                http = median_ms(lambda: urllib.request.urlopen(url, timeout=10).read(), args.runs)
            finally:
                server.terminate()
                server.wait()
            rows.append((n, count, in_process, http))
            print(f"{n:>9} {count:>6} {in_process[0]:>8.2f} ({in_process[1]:.2f}) {http[0]:>7.2f} ({http[1]:.2f})")
    base = rows[0]
    for n, count, ip, _ in rows[1:]:
        print(f"{n:>6} vs {base[0]} bookings: {ip[0] / base[2][0]:.2f}x the time for {n / base[0]:.0f}x the bookings")
    verdict = "meets" if rows[1][2][0] <= 10 else "MISSES"
    print(f"target ≤ 10 ms in process at 2,000 bookings: {rows[1][2][0]:.2f} ms — {verdict} the target")


if __name__ == "__main__":
    main()
