"""Bookings per second under gunicorn (4 workers, loopback) on PostgreSQL, today's code beside the
baseline's (bench/baseline.py) in the same run, with a check that no expert is ever double-booked.

1. In process (Flask's test client, no HTTP): milliseconds and SQL statements per booking
   (bench/booking_cost.py, SQLite and PostgreSQL), NEW and BASELINE.
2. Over HTTP: 32 client threads send booking requests, each to a random expert's free personal
   service at a random start over the next two weeks (so some collide and get 409), across 100
   experts and then all to 1 expert. Reported: created bookings per second (201s / wall time),
   p50/p95 latency, the 409 share, errors, and double bookings (overlapping confirmed bookings of
   one expert, read from the database: must be 0).

Run from the repository root:  .venv/bin/python bench/bench_booking.py [--requests 2000] [--skip-baseline]
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text  # noqa: E402

from bench.baseline import baseline_root  # noqa: E402
from tests import pg  # noqa: E402
from tests.live import ROOT, GunicornApp, call, weekdays_ahead  # noqa: E402

HERE = Path(__file__).resolve().parent


def in_process(root: Path, database_url: str, bookings: int) -> dict:
    """bench/booking_cost.py's figures for the code at ``root``."""
    result = subprocess.run([sys.executable, str(HERE / "booking_cost.py"), database_url, "--bookings", str(bookings)],
                            cwd=root, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=1200)
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def double_bookings(database_url: str) -> int:
    """Pairs of one expert's confirmed bookings that overlap (the promise says none)."""
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        rows = conn.execute(text('SELECT expert_id, start, "end" FROM booking WHERE status = \'confirmed\' '
                                 'ORDER BY expert_id, start')).all()
    engine.dispose()
    return sum(1 for a, b in zip(rows, rows[1:], strict=False) if a[0] == b[0] and b[1] < a[2])


def load(app: GunicornApp, experts: list[str], starts: list[str], requests: int, seed: int) -> dict:
    """``requests`` bookings from 32 threads, each to a random one of ``experts``."""
    rng = random.Random(seed)
    plan = [(rng.choice(experts), rng.choice(starts)) for _ in range(requests)]

    def one(n: int) -> tuple[int, float]:
        expert, start = plan[n]
        t0 = time.perf_counter()
        status, _ = call("POST", f"{app.url}/api/v1/experts/{expert}/services/s/bookings",
                         {"start": start, "timezone": "Europe/Paris",
                          "client": {"name": "C", "email": f"c{n % 500}@example.com"}},
                         {"Idempotency-Key": uuid.uuid4().hex})
        return status, time.perf_counter() - t0

    t0 = time.perf_counter()
    with ThreadPoolExecutor(32) as pool:
        results = list(pool.map(one, range(requests)))
    elapsed = time.perf_counter() - t0
    latencies = sorted(t for _, t in results)
    created = sum(1 for s, _ in results if s == 201)
    return {"created_per_s": created / elapsed, "p50_ms": 1000 * statistics.median(latencies),
            "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))],
            "conflicts": sum(1 for s, _ in results if s == 409) / requests,
            "errors": sum(1 for s, _ in results if s not in (201, 409)), "created": created}


def over_http(root: Path, label: str, requests: int) -> list[tuple[str, dict]]:
    """The 100-expert and the 1-expert figures of the code at ``root``, each on a fresh database."""
    rows = []
    for n_experts, n_requests in ((100, requests), (1, max(300, requests // 3))):
        url = pg.create_database(f"kairos_bench_{uuid.uuid4().hex[:8]}")
        try:
            with tempfile.TemporaryDirectory() as tmp:
                app = GunicornApp(url, Path(tmp), root=root).start()
                try:
                    subprocess.run([sys.executable, str(HERE / "seed_experts.py"), str(n_experts)], env=app.env,
                                   cwd=root, check=True, capture_output=True, timeout=1200)
                    starts = []
                    for day in weekdays_ahead(10):
                        _, body = call("GET", f"{app.url}/api/v1/experts/e0/services/s/slots?start={day}&end={day}"
                                              "&timezone=Europe/Paris")
                        starts += [s["start"] for s in body["slots"]]
                    figures = load(app, [f"e{i}" for i in range(n_experts)], starts, n_requests, seed=n_experts)
                finally:
                    app.stop()
            figures["double_bookings"] = double_bookings(url)
        finally:
            pg.drop_database(url)
        rows.append((f"{label} {n_experts:>3} expert{'s' if n_experts > 1 else ' '}", figures))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000, help="booking requests across 100 experts")
    parser.add_argument("--in-process", type=int, default=300, help="bookings measured in process")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--skip-http", action="store_true", help="only the in-process figures")
    args = parser.parse_args()
    reason = pg.unreachable_reason()
    if reason:
        print(f"PostgreSQL skipped: {reason}")
        return
    roots = [("NEW", ROOT)] + ([] if args.skip_baseline else [("BASELINE", baseline_root())])

    print("one booking in process (Flask test client; free personal service, new and returning clients alternately)")
    cost: dict[str, dict] = {}
    for label, root in roots:
        for db_label in ("SQLite", "PostgreSQL"):
            with tempfile.TemporaryDirectory() as tmp:
                if db_label == "SQLite":
                    figures = in_process(root, f"sqlite:///{tmp}/cost.db", args.in_process)
                else:
                    url = pg.create_database(f"kairos_cost_{uuid.uuid4().hex[:8]}")
                    try:
                        figures = in_process(root, url, args.in_process)
                    finally:
                        pg.drop_database(url)
            cost[f"{label} {db_label}"] = figures
            print(f"  {label:<9} {db_label:<11} {figures['cpu_ms_per_booking']:6.2f} ms CPU/booking  "
                  f"{figures['ms_per_booking']:6.2f} ms wall  "
                  f"{figures['statements_per_booking']:5.2f} statements/booking", flush=True)

    if not args.skip_baseline:
        for db_label in ("SQLite", "PostgreSQL"):
            new, old = cost[f"NEW {db_label}"], cost[f"BASELINE {db_label}"]
            print(f"  ratio NEW/BASELINE, {db_label}: {new['cpu_ms_per_booking'] / old['cpu_ms_per_booking']:.2f}x "
                  f"CPU ms/booking, {old['statements_per_booking']:.1f} -> {new['statements_per_booking']:.1f} statements")
    if args.skip_http:
        return
    print("\nbookings over HTTP, PostgreSQL, gunicorn 4 sync workers, 32 concurrent clients, loopback")
    results: dict[str, dict] = {}
    failed = False
    for label, root in roots:
        for name, f in over_http(root, label, args.requests):
            results[name] = f
            print(f"  {name:<22} {f['created_per_s']:7.1f} bookings/s  p50 {f['p50_ms']:6.1f} ms  "
                  f"p95 {f['p95_ms']:6.1f} ms  409s {f['conflicts']:5.1%}  errors {f['errors']}  "
                  f"double bookings {f['double_bookings']}", flush=True)
            failed |= bool(f["double_bookings"] or f["errors"])
    if not args.skip_baseline:
        for n in ("100 experts", "  1 expert "):
            new, old = results[f"NEW {n}"], results[f"BASELINE {n}"]
            print(f"  ratio NEW/BASELINE, {n.strip()}: {new['created_per_s'] / old['created_per_s']:.2f}x bookings/s")
    if failed:
        raise SystemExit("double bookings or errors: see above")


if __name__ == "__main__":
    main()
