"""The slots endpoint with and without the expert's own calendars (target: at most 20 % slower with them).

Same scenario as bench_slots.py (2,000 bookings, a 62-day range, in process), for two experts with
the same bookings in one process, timed alternately: one without calendars, one with three ICS sources of 500 events each (a tenth of them
weekly recurring, some all-day, some transparent, spread over two years as a real calendar is) have been synced through the real path (an HTTP
feed on loopback, ``POST …/calendars/{id}/sync``). Slots never fetch a calendar; they read the cached
intervals in the same query as bookings, which is what this measures.

Run from the repository root:  .venv/bin/python bench/bench_calendars.py [--runs 30]
"""
from __future__ import annotations

import argparse
import logging
import os
import random
import statistics
import sys
import tempfile
import threading
from datetime import date, datetime, time, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from time import perf_counter
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scenario import ZONE, seed  # noqa: E402

SOURCES, EVENTS, BOOKINGS, TARGET = 3, 500, 2000, 1.20


def feed(events: int, rng: random.Random) -> bytes:
    """An iCalendar feed of ``events`` events from a year ago to a year ahead, in the expert's zone, as a
    real calendar holds them: only the bookable horizon (120 days here) is expanded and cached."""
    tz = ZoneInfo(ZONE)
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Bench//EN"]
    today = date.today()
    for i in range(events):
        day = today + timedelta(days=rng.randrange(-365, 365))
        start = datetime.combine(day, time(7), tz) + timedelta(minutes=15 * rng.randrange(52))
        lines += ["BEGIN:VEVENT", f"UID:bench-{rng.random()}-{i}", "DTSTAMP:20261201T000000Z"]
        if i % 50 == 0:  # all-day
            lines += [f"DTSTART;VALUE=DATE:{day:%Y%m%d}", f"DTEND;VALUE=DATE:{day + timedelta(days=1):%Y%m%d}"]
        else:
            end = start + timedelta(minutes=rng.choice([30, 45, 60, 90]))
            lines += [f"DTSTART;TZID={ZONE}:{start:%Y%m%dT%H%M%S}", f"DTEND;TZID={ZONE}:{end:%Y%m%dT%H%M%S}"]
        if i % 10 == 0:
            lines.append("RRULE:FREQ=WEEKLY;COUNT=12")
        if i % 17 == 0:
            lines.append("TRANSP:TRANSPARENT")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


def serve(files: dict[str, bytes]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = files[self.path]
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def interleaved_medians(a, b, runs: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """Median (and p90) ms of ``a`` and of ``b``, timed alternately so that the machine's load (other
    processes on a shared box) weighs on both alike."""
    a(), b()  # warm-up
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        for fn, out in ((a, samples[0]), (b, samples[1])):
            t0 = perf_counter()
            fn()
            out.append((perf_counter() - t0) * 1000)
    return tuple((statistics.median(s), sorted(s)[int(len(s) * 0.9) - 1]) for s in samples)  # type: ignore[return-value]


def make_app(tmp: str, name: str):
    from flask_migrate import upgrade

    from backend.app import create_app
    env = {"KAIROS_DATABASE_URL": f"sqlite:///{tmp}/{name}.db", "KAIROS_INSTANCE_DIR": tmp,
           "KAIROS_SECRET_KEY": "bench-secret-key-0123456789", "KAIROS_CALENDAR_ALLOW_PRIVATE": "1"}
    app = create_app(env)
    for handler in logging.getLogger("kairos").handlers:
        handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 (lives as long as the bench)
    with app.app_context():
        upgrade()
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    from sqlalchemy import func, select

    from backend.extensions import db
    from backend.models import CalendarBusy

    start = date.today() + timedelta(days=1)
    path = f"/api/v1/experts/bench/services/call/slots?start={start}&end={start + timedelta(days=61)}&timezone=Europe/Paris"
    with tempfile.TemporaryDirectory() as tmp:
        # Two databases with the same seeded bookings; only the second expert connects calendars.
        plain, busy = make_app(tmp, "plain"), make_app(tmp, "calendars")
        seed(plain, BOOKINGS)
        token = seed(busy, BOOKINGS)
        rng = random.Random(16)
        server = serve({f"/cal{i}.ics": feed(EVENTS, rng) for i in range(SOURCES)})
        client = busy.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        for i in range(SOURCES):
            url = f"http://127.0.0.1:{server.server_address[1]}/cal{i}.ics"
            made = client.post("/api/v1/admin/calendars", headers=headers, json={"type": "ics", "url": url})
            synced = client.post(f"/api/v1/admin/calendars/{made.get_json()['calendar']['id']}/sync", headers=headers)
            assert synced.get_json()["calendar"]["status"] == "ok", synced.get_json()
        server.shutdown()
        with busy.app_context():
            intervals = db.session.scalar(select(func.count()).select_from(CalendarBusy))
        plain_client = plain.test_client()
        counts = len(plain_client.get(path).get_json()["slots"]), len(client.get(path).get_json()["slots"])
        without, with_calendars = interleaved_medians(lambda: plain_client.get(path), lambda: client.get(path),
                                                      args.runs)

    ratio = with_calendars[0] / without[0]
    print(f"slots endpoint, 62-day range, {BOOKINGS} bookings, in process, median of {args.runs} (p90), SQLite,")
    print("the two experts timed alternately in one process")
    print(f"without calendars: {without[0]:7.2f} ms ({without[1]:.2f})  {counts[0]} slots")
    print(f"with {SOURCES} x {EVENTS} events ({intervals} cached busy intervals): "
          f"{with_calendars[0]:7.2f} ms ({with_calendars[1]:.2f})  {counts[1]} slots")
    verdict = "meets" if ratio <= TARGET else "MISSES"
    print(f"{ratio:.2f}x the time — target ≤ {TARGET:.2f}x: {verdict} the target")


if __name__ == "__main__":
    main()
