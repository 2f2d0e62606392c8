"""Bookings per second under gunicorn (4 workers, loopback) on PostgreSQL, today's code beside the
baseline's (bench/baseline.py) in the same run, with a check that no expert is ever double-booked.

1. In process (Flask's test client, no HTTP): milliseconds and SQL statements per booking
   (bench/booking_cost.py, SQLite and PostgreSQL), NEW and BASELINE.
2. Over HTTP: both codes' servers run at once, each on its own database; 32 client threads send
   booking requests, each to a random expert's free personal service at a random start over the next
   two weeks (so some collide and get 409), across 100 experts and then all to 1 expert, in phases
   that alternate between the codes (a change in the machine's load falls on both). Reported: created
   bookings per second (201s / wall time, median of the phases), p50/p95 latency, the 409 share,
   errors, double bookings (overlapping confirmed bookings of one expert, read from the database:
   must be 0), and the CPU each request cost the server (gunicorn's processes), the database (the
   backends of its database) and the client: on a shared 2-core machine the steadier measure.

Run from the repository root:  .venv/bin/python bench/bench_booking.py [--requests 2000] [--rounds 4] [--skip-baseline]
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

from bench import cpu  # noqa: E402
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


def load(app: GunicornApp, database_url: str, plan: list[tuple[str, str]], offset: int) -> dict:
    """Send ``plan``'s bookings (expert, start) from 32 threads; figures of the phase, CPU included."""

    def one(n: int) -> tuple[int, float]:
        expert, start = plan[n]
        t0 = time.perf_counter()
        status, _ = call("POST", f"{app.url}/api/v1/experts/{expert}/services/s/bookings",
                         {"start": start, "timezone": "Europe/Paris",
                          "client": {"name": "C", "email": f"c{(offset + n) % 500}@example.com"}},
                         {"Idempotency-Key": uuid.uuid4().hex})
        return status, time.perf_counter() - t0

    server, database = cpu.server_pids(app), cpu.database_pids(database_url)
    cpu0 = (cpu.seconds(server), cpu.seconds(database), time.process_time())
    t0 = time.perf_counter()
    with ThreadPoolExecutor(32) as pool:
        results = list(pool.map(one, range(len(plan))))
    elapsed = time.perf_counter() - t0
    database |= cpu.database_pids(database_url)  # connections the workers opened during the phase
    cpu1 = (cpu.seconds(server), cpu.seconds(database), time.process_time())
    created = sum(1 for s, _ in results if s == 201)
    per = 1000 / max(len(plan), 1)
    return {"created_per_s": created / elapsed, "latencies": [t for _, t in results], "created": created,
            "conflicts": sum(1 for s, _ in results if s == 409), "requests": len(plan),
            "errors": sum(1 for s, _ in results if s not in (201, 409)),
            "cpu_ms": {"server": per * (cpu1[0] - cpu0[0]), "database": per * (cpu1[1] - cpu0[1]),
                       "client": per * (cpu1[2] - cpu0[2])}}


def summary(phases: list[dict]) -> dict:
    """One line of figures from a code's phases: the median phase rate and CPU, latencies over all."""
    latencies = sorted(t for p in phases for t in p["latencies"])
    requests = sum(p["requests"] for p in phases)
    return {"created_per_s": statistics.median(p["created_per_s"] for p in phases),
            "p50_ms": 1000 * statistics.median(latencies), "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))],
            "conflicts": sum(p["conflicts"] for p in phases) / requests,
            "errors": sum(p["errors"] for p in phases), "created": sum(p["created"] for p in phases),
            "cpu_ms": {k: statistics.median(p["cpu_ms"][k] for p in phases) for k in phases[0]["cpu_ms"]}}


def over_http(roots: list[tuple[str, Path]], requests: int, rounds: int) -> dict[str, dict]:
    """The 100-expert and the 1-expert figures of every code in ``roots``, each on its own database and
    server, all started at once; the load runs in ``rounds`` phases per code, alternating between them,
    so a change in the machine's load falls on both alike. The same booking plan goes to each code."""
    figures: dict[str, dict] = {}
    for n_experts, n_requests in ((100, requests), (1, max(300, requests // 3))):
        started: list[tuple[str, GunicornApp, str]] = []
        with tempfile.TemporaryDirectory() as tmp:
            try:
                starts: list[str] = []
                for label, root in roots:
                    url = pg.create_database(f"kairos_bench_{uuid.uuid4().hex[:8]}")
                    (Path(tmp) / label).mkdir()
                    app = GunicornApp(url, Path(tmp) / label, root=root).start()
                    started.append((label, app, url))
                    subprocess.run([sys.executable, str(HERE / "seed_experts.py"), str(n_experts)], env=app.env,
                                   cwd=root, check=True, capture_output=True, timeout=1200)
                    if not starts:
                        for day in weekdays_ahead(10):
                            _, body = call("GET", f"{app.url}/api/v1/experts/e0/services/s/slots?start={day}"
                                                  f"&end={day}&timezone=Europe/Paris")
                            starts += [s["start"] for s in body["slots"]]
                rng = random.Random(n_experts)
                plan = [(f"e{rng.randrange(n_experts)}", rng.choice(starts)) for _ in range(n_requests)]
                size = -(-n_requests // rounds)
                phases: dict[str, list[dict]] = {label: [] for label, _, _ in started}
                for r in range(rounds):
                    part = plan[r * size:(r + 1) * size]
                    for label, app, url in (started if r % 2 == 0 else started[::-1]):
                        phases[label].append(load(app, url, part, r * size))
                for label, app, url in started:
                    app.stop()
                    line = summary(phases[label])
                    line["double_bookings"] = double_bookings(url)
                    figures[f"{label} {n_experts:>3} expert{'s' if n_experts > 1 else ' '}"] = line
            finally:
                for _, app, url in started:
                    app.stop()
                    pg.drop_database(url)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000, help="booking requests across 100 experts")
    parser.add_argument("--in-process", type=int, default=300, help="bookings measured in process")
    parser.add_argument("--rounds", type=int, default=4, help="load phases per code, alternating")
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
    print(f"\nbookings over HTTP, PostgreSQL, gunicorn 4 sync workers each, 32 concurrent clients, loopback; "
          f"{args.rounds} phases per code, alternating (rate and CPU: medians of the phases)")
    results = over_http(roots, args.requests, args.rounds)
    failed = False
    for name, f in results.items():
        cpu = f["cpu_ms"]
        print(f"  {name:<22} {f['created_per_s']:7.1f} bookings/s  p50 {f['p50_ms']:6.1f} ms  "
              f"p95 {f['p95_ms']:6.1f} ms  409s {f['conflicts']:5.1%}  errors {f['errors']}  "
              f"double bookings {f['double_bookings']}  CPU ms/request: server {cpu['server']:.2f} "
              f"database {cpu['database']:.2f} client {cpu['client']:.2f}", flush=True)
        failed |= bool(f["double_bookings"] or f["errors"])
    if not args.skip_baseline:
        for n in ("100 experts", "  1 expert "):
            new, old = results[f"NEW {n}"], results[f"BASELINE {n}"]
            machine = {k: sum(f["cpu_ms"].values()) for k, f in (("new", new), ("old", old))}
            print(f"  ratio NEW/BASELINE, {n.strip()}: {new['created_per_s'] / old['created_per_s']:.2f}x bookings/s; "
                  f"CPU per request (server + database + client) {machine['old']:.1f} -> {machine['new']:.1f} ms "
                  f"({machine['old'] / machine['new']:.2f}x less)")
    if failed:
        raise SystemExit("double bookings or errors: see above")


if __name__ == "__main__":
    main()
