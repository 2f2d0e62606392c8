"""What one booking costs inside the process: milliseconds and SQL statements per booking.

Runs against whichever ``backend`` is first on ``sys.path`` (bench_booking.py starts it once with
today's code and once with bench/baseline.py's), on a fresh migrated database, through Flask's test
client (no HTTP, no other process): N bookings of a free personal service (wall and CPU time), alternately by new and
returning clients, each with an Idempotency-Key as the widget sends. Prints one JSON line.

    PYTHONPATH=<root> python bench/booking_cost.py DATABASE_URL [--bookings 300] [--profile [--sort tottime] [--top 60]]
"""
from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("--bookings", type=int, default=300)
    parser.add_argument("--profile", action="store_true",
                        help="print the top of a cProfile of the bookings, timed in CPU (process_time), not wall time")
    parser.add_argument("--sort", default="cumulative", help="the profile's order: cumulative, tottime, ...")
    parser.add_argument("--top", type=int, default=45, help="how many of the profile's lines to print")
    args = parser.parse_args()

    from flask_migrate import upgrade
    from sqlalchemy import event

    from backend import create_app
    from backend.extensions import db
    from backend.services import experts

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"KAIROS_DATABASE_URL": args.database_url, "KAIROS_INSTANCE_DIR": tmp,
                          "KAIROS_SECRET_KEY": "bench-secret-key-0123456789", "KAIROS_BASE_URL": "http://kairos.test",
                          "KAIROS_RATE_LIMITS": "booking=0,manage=0"})
        with app.app_context():
            upgrade()
            _, token = experts.create_expert(db.session, "jane", email="jane@example.com", name="Jane",
                                             timezone="Europe/Paris")
            db.session.commit()
            engine = db.engine
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        weekly = {d: [["00:00", "23:59"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
        client.put("/api/v1/admin/availability", headers=headers, json={"timezone": "Europe/Paris", "weekly": weekly})
        client.post("/api/v1/admin/services", headers=headers, json={
            "slug": "s", "name": "S", "duration_minutes": 15, "slot_interval_minutes": 15, "max_advance_days": 365})
        # Free times far enough ahead that notice never bites: one every 15 minutes from day 3 on.
        first = date.today() + timedelta(days=3)
        starts = [f"{first + timedelta(days=i // 90)}T{(i % 90) // 4 + 1:02d}:{(i % 4) * 15:02d}:00+01:00"
                  for i in range(args.bookings + 10)]

        def book(i: int):
            email = f"c{i // 2}@example.com"  # every other booking is a returning client's
            return client.post("/api/v1/experts/jane/services/s/bookings",
                               json={"start": starts[i], "timezone": "Europe/Paris",
                                     "client": {"name": "C", "email": email}},
                               headers={"Idempotency-Key": uuid.uuid4().hex})

        for i in range(5):  # warm up: imports, caches, the first connection
            assert book(args.bookings + i).status_code == 201
        statements = []
        event.listen(engine, "before_cursor_execute", lambda *a: statements.append(1))
        profiler = cProfile.Profile(time.process_time) if args.profile else None
        created = 0
        t0, cpu0 = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        for i in range(args.bookings):
            created += book(i).status_code == 201
        if profiler:
            profiler.disable()
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        # CPU time of this process (the app, and SQLite's work; not PostgreSQL's server): what a worker spends,
        # far steadier than the wall clock on a shared machine.
        print(json.dumps({"bookings": args.bookings, "created": created, "ms_per_booking": 1000 * elapsed / args.bookings,
                          "cpu_ms_per_booking": 1000 * cpu / args.bookings,
                          "statements_per_booking": len(statements) / args.bookings}))
        if profiler:
            pstats.Stats(profiler, stream=sys.stderr).sort_stats(args.sort).print_stats(args.top)
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    sys.path.insert(0, str(Path.cwd()))
    main()
