"""Bookings per second under gunicorn (4 workers, loopback), on SQLite and PostgreSQL, with a check
that no two confirmed bookings overlap.

Each round sends N booking requests from 32 client threads for random starts over the next two
weeks (so some collide and get 409). Reported: created bookings per second (201s / wall time),
all requests per second, the 409 share, and double bookings found (must be 0).

Run from the repository root:  .venv/bin/python bench/bench_booking.py [--requests 600]
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests import pg  # noqa: E402
from tests.live import GunicornApp, call, weekdays_ahead  # noqa: E402


def run(database_url: str, label: str, requests: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = GunicornApp(database_url, Path(tmp)).start()
        try:
            weekly = {d: [["08:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
            app.admin("PUT", "/availability", {"timezone": "Europe/Paris", "weekly": weekly})
            app.admin("POST", "/services", {"slug": "s", "name": "S", "duration_minutes": 30,
                                            "slot_interval_minutes": 15, "max_advance_days": 60})
            starts = []
            for day in weekdays_ahead(10):
                status, body = call("GET", f"{app.url}/api/v1/experts/race/services/s/slots?start={day}&end={day}"
                                           "&timezone=Europe/Paris")
                starts += [s["start"] for s in body["slots"]]
            rng = random.Random(3)
            url = f"{app.url}/api/v1/experts/race/services/s/bookings"

            def one(n: int):
                return call("POST", url, {"start": rng.choice(starts), "timezone": "Europe/Paris",
                                          "client": {"name": "C", "email": f"c{n}@example.com"}},
                            {"Idempotency-Key": uuid.uuid4().hex})

            t0 = time.perf_counter()
            with ThreadPoolExecutor(32) as pool:
                results = list(pool.map(one, range(requests)))
            elapsed = time.perf_counter() - t0
            created = sum(1 for s, _ in results if s == 201)
            conflicts = sum(1 for s, _ in results if s == 409)
            errors = [s for s, _ in results if s not in (201, 409)]
            _, body = app.admin("GET", "/bookings?status=confirmed")
            spans = sorted((datetime.fromisoformat(b["start"]), datetime.fromisoformat(b["end"])) for b in body["bookings"])
            doubles = sum(1 for (_, e1), (s2, _) in zip(spans, spans[1:]) if s2 < e1)
            print(f"{label:<10} {requests:>5} req {elapsed:6.2f} s  {created / elapsed:7.1f} bookings/s  "
                  f"{requests / elapsed:7.1f} req/s  409s {conflicts / requests:5.1%}  errors {len(errors)}  "
                  f"double bookings {doubles}")
            assert doubles == 0 and not errors
        finally:
            app.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=600)
    args = parser.parse_args()
    print("booking throughput, gunicorn 4 workers, 32 concurrent clients, loopback")
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{tmp}/bench.db", "SQLite", args.requests)
    reason = pg.unreachable_reason()
    if reason:
        print(f"PostgreSQL skipped: {reason}")
        return
    url = pg.create_database(f"kairos_bench_{uuid.uuid4().hex[:8]}")
    try:
        run(url, "PostgreSQL", args.requests)
    finally:
        pg.drop_database(url)


if __name__ == "__main__":
    main()
