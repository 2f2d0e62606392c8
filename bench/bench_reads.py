"""Slots reads per second over HTTP, today's code (bench/baseline.py) beside the new, in one run.

Gunicorn with 4 workers on PostgreSQL; the expert of bench/scenario.py (2,000 bookings over 90 days,
50 date overrides, a 30-minute service every 15 minutes with buffers); 16 client threads (in 4
processes) each asking
for the same 7-day window again and again, as page views of one expert's site do (gzip accepted,
like a browser). Reported per code and store: requests/s (median of the rounds), p50/p95 latency, and
the 304 path (the same read with If-None-Match, new code only: the baseline has no ETag). The target
of issue #19 is at least 10 times the baseline's requests/s for cached reads.

Run from the repository root:  .venv/bin/python bench/bench_reads.py [--seconds 8] [--rounds 3]
"""
from __future__ import annotations

import argparse
import http.client
import multiprocessing
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.baseline import BASELINE_REF, baseline_root  # noqa: E402
from bench.scenario import seed  # noqa: E402
from tests import pg  # noqa: E402
from tests.live import GunicornApp  # noqa: E402

THREADS = 16
PROCESSES = 4
REDIS_URL = "redis://127.0.0.1:6379/0"


def _client(port: int, request: bytes, stop: float, out) -> None:
    """One reader: a fresh connection per request (gunicorn's sync workers close each one), the status
    read from the first line and the rest of the answer drained. Raw sockets: http.client's header
    parsing would cost the client more CPU than the cached answer costs the server."""
    latencies, statuses = [], {}
    while time.time() < stop:
        t0 = time.perf_counter()
        with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
            conn.sendall(request)
            chunks = []
            while chunk := conn.recv(65536):
                chunks.append(chunk)
        status = int(b"".join(chunks[:1])[9:12])
        latencies.append((time.perf_counter() - t0) * 1000)
        statuses[status] = statuses.get(status, 0) + 1
    out.append((latencies, statuses))


def _process(port: int, request: bytes, stop: float, threads: int, queue) -> None:
    out: list = []
    workers = [threading.Thread(target=_client, args=(port, request, stop, out)) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    queue.put(out)


def load(port: int, path: str, seconds: float, headers: dict[str, str]) -> tuple[int, list[float], dict[int, int]]:
    """``THREADS`` readers (in ``PROCESSES`` processes, so the client is not held by one GIL) asking for
    ``path`` for ``seconds``: (requests per second, latencies in ms, statuses)."""
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close",
             *(f"{k}: {v}" for k, v in headers.items())]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    t0 = time.time()
    stop = t0 + seconds
    procs = [context.Process(target=_process, args=(port, request, stop, THREADS // PROCESSES, queue))
             for _ in range(PROCESSES)]
    for proc in procs:
        proc.start()
    results = [queue.get() for _ in procs]
    for proc in procs:
        proc.join()
    elapsed = time.time() - t0
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    for out in results:
        for lat, seen in out:
            latencies.extend(lat)
            for status, n in seen.items():
                statuses[status] = statuses.get(status, 0) + n
    return int(len(latencies) / elapsed), sorted(latencies), statuses


def serve(label: str, root: Path, redis_url: str | None, tmp: Path) -> tuple[GunicornApp, str]:
    url = pg.create_database(f"kairos_bench_reads_{uuid.uuid4().hex[:8]}")
    app = GunicornApp(url, tmp / label, workers=4, root=root)
    (tmp / label).mkdir()
    if redis_url:
        app.env["KAIROS_REDIS_URL"] = redis_url
    app.start()
    from backend import create_app
    seed(create_app({"KAIROS_DATABASE_URL": url, "KAIROS_INSTANCE_DIR": str(tmp / label),
                     "KAIROS_SECRET_KEY": "bench-secret-key-0123456789"}), 2000)
    return app, url


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    reason = pg.unreachable_reason()
    if reason:
        print(f"PostgreSQL skipped: {reason}")
        return
    start = date.today() + timedelta(days=1)
    path = (f"/api/v1/experts/bench/services/call/slots?start={start}&end={start + timedelta(days=6)}"
            "&timezone=Europe/Paris&include_full=true")
    browser = {"Accept": "application/json", "Accept-Encoding": "gzip, deflate, br"}
    print(f"slots reads, 7-day window, gunicorn 4 workers, PostgreSQL, {THREADS} client threads, "
          f"{args.seconds:g} s x {args.rounds} rounds; baseline {BASELINE_REF}")
    variants = [("baseline", baseline_root(), None), ("new", ROOT, None), ("new+redis", ROOT, REDIS_URL)]
    results: dict[str, list[int]] = {label: [] for label, _, _ in variants}
    latencies: dict[str, list[float]] = {label: [] for label, _, _ in variants}
    not_modified: list[int] = []
    with tempfile.TemporaryDirectory() as tmp:
        servers = []
        try:
            for label, root, redis_url in variants:
                servers.append((label, *serve(label, root, redis_url, Path(tmp))))
            for _ in range(args.rounds):  # interleaved: the machine's noise falls on every variant alike
                for label, app, _ in servers:
                    load(app.port, path, 1, browser)  # warm-up: connections, query plans, the cache
                    rate, lat, statuses = load(app.port, path, args.seconds, browser)
                    assert set(statuses) == {200}, statuses
                    results[label].append(rate)
                    latencies[label].extend(lat)
                new_app = next(app for label, app, _ in servers if label == "new")
                conn = http.client.HTTPConnection("127.0.0.1", new_app.port, timeout=30)
                conn.request("GET", path, headers=browser)
                etag = conn.getresponse().getheader("ETag")
                conn.close()
                rate, lat, statuses = load(new_app.port, path, args.seconds, {**browser, "If-None-Match": etag})
                assert set(statuses) <= {200, 304}, statuses
                not_modified.append(rate)
                latencies["304"] = latencies.get("304", []) + lat
        finally:
            for _, app, url in servers:
                app.stop()
                pg.drop_database(url)

    def pct(values: list[float], q: float) -> float:
        return values[min(len(values) - 1, int(len(values) * q))] if values else float("nan")

    base = statistics.median(results["baseline"])
    print(f"{'code':<12} {'req/s (median)':>15} {'rounds':>24} {'p50 ms':>7} {'p95 ms':>7} {'vs baseline':>12}")
    rows = [(label, results[label]) for label, _, _ in variants] + [("new 304", not_modified)]
    for label, rates in rows:
        lat = sorted(latencies["304" if label == "new 304" else label])
        median = statistics.median(rates)
        print(f"{label:<12} {median:>15.0f} {str(rates):>24} {pct(lat, .5):>7.1f} {pct(lat, .95):>7.1f} "
              f"{median / base:>11.1f}x")
    ratio = statistics.median(results["new"]) / base
    print(f"target: cached reads >= 10x the baseline's requests/s: {ratio:.1f}x — "
          f"{'meets' if ratio >= 10 else 'MISSES'} the target")


if __name__ == "__main__":
    main()
