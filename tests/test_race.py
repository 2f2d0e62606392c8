"""No double booking, ever: many clients, four gunicorn workers, one calendar.

Runs on SQLite and on PostgreSQL. Every request gets 201 or 409, never a 500, and the
database ends with exactly the allowed number of bookings.
"""
from __future__ import annotations

import random
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest

from tests.live import call, live_app, weekdays_ahead

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def live(request, tmp_path_factory):
    with live_app(request.param, tmp_path_factory, "race") as app:
        weekly = {d: [["08:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
        assert app.admin("PUT", "/availability", {"timezone": "Europe/Paris", "weekly": weekly})[0] == 200
        assert app.admin("POST", "/services", {"slug": "hour", "name": "One hour", "duration_minutes": 60,
                                              "slot_interval_minutes": 30, "max_advance_days": 60})[0] == 201
        assert app.admin("POST", "/services", {"slug": "workshop", "name": "Workshop", "kind": "group",
                                              "duration_minutes": 120, "capacity": 3})[0] == 201
        yield app


def slots(app, day):
    status, body = call("GET", f"{app.url}/api/v1/experts/race/services/hour/slots?start={day}&end={day}"
                               f"&timezone=Europe/Paris")
    assert status == 200
    return [s["start"] for s in body["slots"]]


def book(app, service, n, **when):
    return call("POST", f"{app.url}/api/v1/experts/race/services/{service}/bookings", {
        **when, "timezone": "Europe/Paris", "client": {"name": f"Client {n}", "email": f"c{n}@example.com"}})


def bookings(app):
    status, body = app.admin("GET", "/bookings?status=confirmed")
    assert status == 200
    return body["bookings"]


def fire(requests):
    with ThreadPoolExecutor(max_workers=50) as pool:
        return list(pool.map(lambda f: f(), requests))


def test_fifty_clients_one_slot_one_winner(live):
    day = weekdays_ahead(1)[0]
    start = slots(live, day)[0]
    results = fire([lambda n=n: book(live, "hour", n, start=start) for n in range(50)])
    statuses = sorted(s for s, _ in results)
    assert statuses.count(201) == 1, statuses
    assert statuses.count(409) == 49, statuses
    assert all(b["error"]["code"] == "slot_unavailable" for s, b in results if s == 409)
    assert [b["start"] for b in bookings(live) if b["start"][:10] == day.isoformat()] == [start]


def test_two_hundred_clients_on_overlapping_hours_never_overlap(live):
    day = weekdays_ahead(2)[1]
    starts = slots(live, day)
    rng = random.Random(7)
    results = fire([lambda n=n: book(live, "hour", 1000 + n, start=rng.choice(starts)) for n in range(200)])
    assert {s for s, _ in results} <= {201, 409}, [b for s, b in results if s not in (201, 409)][:3]
    won = sorted((datetime.fromisoformat(b["booking"]["start"]), datetime.fromisoformat(b["booking"]["end"]))
                 for s, b in results if s == 201)
    stored = [b for b in bookings(live) if b["start"][:10] == day.isoformat()]
    assert len(stored) == len(won) >= 6  # a 12-hour day fits at least six one-hour sessions
    for (s1, e1), (s2, e2) in zip(won, won[1:]):
        assert e1 <= s2, f"overlap: {s1}-{e1} and {s2}-{e2}"


def test_thirty_clients_three_seats(live):
    day = weekdays_ahead(3)[2]
    status, body = live.admin("POST", "/services/workshop/sessions", {
        "start": f"{day}T14:00:00+01:00", "end": f"{day}T16:00:00+01:00", "capacity": 3})
    assert status == 201, body
    session = body["session"]["id"]
    results = fire([lambda n=n: book(live, "workshop", 2000 + n, session=session) for n in range(30)])
    statuses = [s for s, _ in results]
    assert statuses.count(201) == 3 and statuses.count(409) == 27, statuses


def test_parallel_retries_with_one_key_make_one_booking(live):
    day = weekdays_ahead(4)[3]
    start = slots(live, day)[0]
    key = uuid.uuid4().hex
    body = {"start": start, "timezone": "Europe/Paris", "client": {"name": "Retry", "email": "retry@example.com"}}
    url = f"{live.url}/api/v1/experts/race/services/hour/bookings"
    results = fire([lambda: call("POST", url, body, {"Idempotency-Key": key}) for _ in range(20)])
    assert {s for s, _ in results} == {201}
    assert len({b["booking"]["id"] for _, b in results}) == 1
