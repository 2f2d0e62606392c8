"""PostgreSQL restarts while clients view pages and book (issue 19, faults).

Twenty experts' pages are being viewed and booked by a dozen visitors against gunicorn (4 workers)
when the database stops. While it is down, every answer is a clear 503 ``service_unavailable`` in
the one error envelope with ``Retry-After`` (a browser opening a booking page gets the same message
as a page), never a 500 or a traceback, and ``/healthz`` says the database is unreachable. When it
is back, the same worker processes serve again without a restart, and a client who retries a
booking that failed (same ``Idempotency-Key``) gets it once. Afterwards the database holds exactly
the bookings clients were told about, each whole: confirmed, its history, its two emails in the
outbox, its idempotency record; no row of a booking that was rolled back, no overlap.

The database is a private cluster (``tests/pg_cluster.py``): the shared one serves other suites.
"""
from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests import pg, pg_cluster
from tests.live import GunicornApp
from tests.load import EXPECTED, SERVICE, ZONE, Visitors, overlapping_bookings, seed_experts

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture
def cluster():
    reason = pg_cluster.unavailable_reason()
    if reason:
        if os.environ.get("KAIROS_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    server = pg_cluster.PrivateCluster()
    try:
        server.create()
        yield server
    finally:
        server.destroy()


@pytest.fixture
def served(cluster, tmp_path):
    app = GunicornApp(cluster.url, tmp_path, workers=4).start()
    try:
        yield app
    finally:
        app.stop()


def answer(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None
           ) -> tuple[int, dict[str, str], str]:
    """One HTTP request: (status, headers, body text), whatever the status."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"waited {seconds:g} s for {what}"
        time.sleep(0.1)


def worker_pids(app: GunicornApp) -> set[int]:
    """The gunicorn master's worker processes (a worker that crashed or was restarted changes this)."""
    assert app.proc is not None
    children = Path(f"/proc/{app.proc.pid}/task/{app.proc.pid}/children").read_text()
    return {int(pid) for pid in children.split()}


def health(app: GunicornApp) -> tuple[int, dict[str, Any]]:
    status, _, text = answer("GET", f"{app.url}/healthz")
    return status, json.loads(text)


def assert_unavailable(status: int, headers: dict[str, str], text: str) -> None:
    """A clear 503 in the one envelope, saying when to try again."""
    assert status == 503, text
    assert headers.get("Retry-After", "").isdigit(), headers
    error = json.loads(text)["error"]
    assert error["code"] == "service_unavailable" and "try again" in error["message"], error


def created_since(visitors: Visitors, since: float) -> int:
    return sum(1 for b in list(visitors.bookings) if b.status == 201 and b.started >= since)


def answered_since(visitors: Visitors, kind: str, status: int, since: float) -> bool:
    return any(s.kind == kind and s.status == status and s.started >= since for s in list(visitors.samples))


def test_postgresql_restarted_during_the_load_fails_clearly_recovers_and_half_writes_nothing(cluster, served):
    app = served
    slugs = seed_experts(app, 20)
    # A quiet expert's time that a client will try to book while the database is down.
    quiet = slugs[-1]
    day = Visitors(app.url, slugs).first_day
    status, _, text = answer("GET", f"{app.url}/api/v1/experts/{quiet}/services/{SERVICE}/slots?"
                                    f"start={day}&end={day}&timezone={ZONE}")
    assert status == 200, text
    late_start = json.loads(text)["slots"][-1]["start"]
    # Every second visit books, so bookings are under way when the database goes.
    visitors = Visitors(app.url, slugs, users=12, views_per_booking=2, seed=7)
    stop = threading.Event()
    thread = threading.Thread(target=visitors.run_until, args=(stop.is_set,), daemon=True)
    thread.start()
    try:
        wait_for(lambda: created_since(visitors, 0) >= 20, "twenty bookings before the outage")
        workers = worker_pids(app)
        assert len(workers) == 4
        status, report = health(app)
        assert status == 200 and report["database"] == "ok", report

        down_at = time.monotonic()
        cluster.stop("fast")  # every session ends at once; transactions under way roll back
        assert_unavailable(*answer("GET", f"{app.url}/api/v1/experts/{quiet}"))
        late = {"start": late_start, "timezone": ZONE, "client": {"name": "Late Client", "email": "late@example.com"}}
        late_key = uuid.uuid4().hex
        booking_url = f"{app.url}/api/v1/experts/{quiet}/services/{SERVICE}/bookings"
        assert_unavailable(*answer("POST", booking_url, late, {"Idempotency-Key": late_key}))
        status, headers, page = answer("GET", f"{app.url}/book/{quiet}", headers={"Accept": "text/html"})
        assert status == 503 and headers["Content-Type"].startswith("text/html") and "try again" in page, page
        assert "Traceback" not in page and "sqlalchemy" not in page.lower() and "Retry-After" in headers
        status, report = health(app)
        assert status == 503 and report["database"].startswith("unreachable"), report
        wait_for(lambda: all(answered_since(visitors, kind, 503, down_at) for kind in ("expert page", "slots (7 days)")),
                 "the visitors to be told too")

        cluster.start()
        up_at = time.monotonic()
        wait_for(lambda: health(app)[0] == 200, "/healthz to say the database is back")
        status, report = health(app)
        assert report["database"] == "ok" and report["migrations"] == "current", report
        wait_for(lambda: created_since(visitors, up_at) >= 20, "twenty bookings after the restart")
        assert answered_since(visitors, "expert page", 200, up_at) and answered_since(visitors, "slots (7 days)", 200, up_at)
    finally:
        stop.set()
        thread.join(120)
    assert not thread.is_alive()
    assert worker_pids(app) == workers, "the same worker processes recovered: none crashed or was restarted"

    # Every answer was what a healthy run gives, or the clear 503 (no 500, no traceback, no silence).
    odd = [s for s in visitors.samples
           if s.status not in EXPECTED[s.kind] and not (s.status == 503 and s.code == "service_unavailable")]
    assert not odd, odd[:5]

    # Clients retry what failed with the same key, as the widget does: each gets its booking once.
    told = {b.booking_id for b in visitors.bookings if b.status == 201}
    retries = [(b.url, b.key, b.body) for b in visitors.bookings if b.status == 503]
    retries.append((booking_url, late_key, late))
    for url, key, body in retries:
        status, _, text = answer("POST", url, body, {"Idempotency-Key": key})
        assert status in (201, 409), text
        if status == 201:
            told.add(json.loads(text)["booking"]["id"])
        else:
            assert json.loads(text)["error"]["code"] == "slot_unavailable", text
    assert len(told) >= 40

    with pg.connect(cluster.url) as conn:
        rows = {r[0]: r[1:] for r in conn.execute("""
            SELECT b.id, b.status,
              (SELECT count(*) FROM booking_event e WHERE e.booking_id = b.id AND e.type = 'created'),
              (SELECT count(*) FROM outbox o WHERE o.payload->>'booking_id' = b.id AND o.topic = 'booking_confirmed'),
              (SELECT count(*) FROM outbox o WHERE o.payload->>'booking_id' = b.id
                                               AND o.topic = 'expert_booking_created'),
              (SELECT count(*) FROM idempotency_record r WHERE r.response->'booking'->>'id' = b.id)
            FROM booking b""")}
        orphans = conn.execute("""
            SELECT
              (SELECT count(*) FROM outbox o WHERE o.payload->>'booking_id' IS NOT NULL
                 AND NOT EXISTS (SELECT 1 FROM booking b WHERE b.id = o.payload->>'booking_id')),
              (SELECT count(*) FROM client c WHERE NOT EXISTS (SELECT 1 FROM booking b WHERE b.client_id = c.id)),
              (SELECT count(*) FROM "lead" l WHERE NOT EXISTS (SELECT 1 FROM booking b
                 WHERE b.client_id = l.client_id AND b.service_id = l.service_id)),
              (SELECT count(*) FROM idempotency_record r WHERE NOT EXISTS (SELECT 1 FROM booking b
                 WHERE b.id = r.response->'booking'->>'id'))""").fetchone()
    assert set(rows) == told, ("bookings no client was told about", set(rows) - told,
                               "bookings a client was told about but missing", told - set(rows))
    whole = ("confirmed", 1, 1, 1, 1)
    assert {booking: row for booking, row in rows.items() if tuple(row) != whole} == {}, \
        "each booking: confirmed, one 'created' in its history, its two emails, its idempotency record"
    assert tuple(orphans) == (0, 0, 0, 0), "outbox rows, clients, leads, idempotency records without a booking"
    assert overlapping_bookings(cluster.url) == []
