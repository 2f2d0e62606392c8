"""Waitlist offers and coupon uses under real concurrency: four gunicorn workers, SQLite and PostgreSQL.

20 people wait for a full 3-seat class; 3 seats free up at once while 30 strangers try to book:
exactly 3 offers stand at any time and the class is never oversold. A 5-use coupon raced by 30
clients is used exactly 5 times.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.live import call, live_app, weekdays_ahead

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def live(request, tmp_path_factory):
    with live_app(request.param, tmp_path_factory, "promo") as app:
        assert app.admin("POST", "/services", {"slug": "class", "name": "Class", "kind": "group",
                                              "duration_minutes": 60, "capacity": 3, "hold_minutes": 30})[0] == 201
        assert app.admin("POST", "/services", {
            "slug": "talk", "name": "Talk", "kind": "group", "duration_minutes": 60, "capacity": 100,
            "price": {"amount": 2000, "currency": "eur"}, "payment_options": ["outside"]})[0] == 201
        yield app


@pytest.fixture(scope="module")
def local(live):
    """The same database opened in this process: the worker's sweep runs here, as `kairos worker` would."""
    from backend.app import create_app
    keys = ("KAIROS_DATABASE_URL", "KAIROS_INSTANCE_DIR", "KAIROS_BASE_URL", "KAIROS_SECRET_KEY")
    app = create_app({k: live.env[k] for k in keys})
    yield app
    from backend.extensions import db
    with app.app_context():
        db.engine.dispose()


def fire(requests: list) -> list:
    with ThreadPoolExecutor(max_workers=40) as pool:
        return list(pool.map(lambda f: f(), requests))


def session_of(live, service: str, day, capacity: int) -> str:
    status, body = live.admin("POST", f"/services/{service}/sessions", {
        "start": f"{day}T18:00:00+01:00", "end": f"{day}T19:00:00+01:00", "capacity": capacity})
    assert status == 201, body
    return body["session"]["id"]


def book(live, service: str, session: str, email: str, **extra: Any) -> tuple[int, dict]:
    return call("POST", f"{live.url}/api/v1/experts/race/services/{service}/bookings", {
        "session": session, "timezone": "Europe/Paris", "client": {"name": email.split("@")[0], "email": email},
        **extra})


def queue(local, session: str) -> dict[str, list[str]]:
    from backend.extensions import db
    from backend.models import WaitlistEntry
    with local.app_context():
        rows = db.session.execute(select(WaitlistEntry.status, WaitlistEntry.id).where(
            WaitlistEntry.session_id == session).order_by(WaitlistEntry.created_at, WaitlistEntry.id)).all()
        db.session.rollback()
    out: dict[str, list[str]] = {}
    for status, entry_id in rows:
        out.setdefault(status, []).append(entry_id)
    return out


def seats_held(live, local, session: str) -> int:
    """Confirmed seats plus seats held by open offers: never more than the capacity."""
    from backend.extensions import db
    from backend.models import Booking, WaitlistEntry
    with local.app_context():
        booked = db.session.scalar(select(func.count()).select_from(Booking).where(
            Booking.session_id == session, Booking.status == "confirmed"))
        offered = db.session.scalar(select(func.count()).select_from(WaitlistEntry).where(
            WaitlistEntry.session_id == session, WaitlistEntry.status == "offered"))
        db.session.rollback()
    return booked + offered


def sweep(local, now: datetime) -> int:
    from backend import worker
    return worker.sweep_waitlists(local, now)


def offer_token(local, entry_id: str) -> str:
    from backend.extensions import db
    from backend.links import links_for
    from backend.models import WaitlistEntry
    with local.app_context():
        entry = db.session.get(WaitlistEntry, entry_id)
        token = links_for(local.config["KAIROS"]).waitlist_token(entry.id, entry.offer_nonce)
        db.session.rollback()
    return token


def test_twenty_waiting_three_freed_seats_three_offers_at_a_time_never_oversold(live, local):
    day = weekdays_ahead(2)[1]
    session = session_of(live, "class", day, 3)
    members = [book(live, "class", session, f"member{n}@example.com") for n in range(3)]
    assert [s for s, _ in members] == [201] * 3
    joined = fire([lambda n=n: call("POST", f"{live.url}/api/v1/experts/race/services/class/waitlist", {
        "session": session, "timezone": "Europe/Paris",
        "client": {"name": f"W{n}", "email": f"wait{n}@example.com"}}) for n in range(20)])
    assert [s for s, _ in joined] == [201] * 20, [b for s, b in joined if s != 201][:2]

    # Three seats free up at once, while 30 strangers try to book and workers sweep.
    cancels = [lambda b=b: live.admin("POST", f"/bookings/{b['booking']['id']}/cancel", {"reason": "ill"})
               for _, b in members]
    strangers = [lambda n=n: book(live, "class", session, f"stranger{n}@example.com") for n in range(30)]
    sweeps = [lambda: sweep(local, datetime.now(timezone.utc)) for _ in range(4)]
    results = fire(cancels + strangers + sweeps)
    assert [s for s, _ in results[:3]] == [200] * 3
    assert {s for s, _ in results[3:33]} == {409}, "a stranger took a seat freed for the waitlist"
    waiting = queue(local, session)
    assert len(waiting["offered"]) == 3 and len(waiting["waiting"]) == 17
    assert seats_held(live, local, session) == 3

    # The three offers lapse; parallel sweeps offer the next three, once.
    later = datetime.now(timezone.utc) + timedelta(minutes=31)
    made = fire([lambda: sweep(local, later) for _ in range(6)])
    assert sum(made) == 3
    after = queue(local, session)
    assert after["lapsed"] == waiting["offered"] and len(after["offered"]) == 3 and len(after["waiting"]) == 14
    assert after["offered"] == waiting["waiting"][:3]  # first come, first offered

    # The three book with their links while ten strangers race them: the class fills exactly.
    holders = [lambda e=e, n=n: book(live, "class", session, f"holder{n}@example.com", waitlist=offer_token(local, e))
               for n, e in enumerate(after["offered"])]
    late = [lambda n=n: book(live, "class", session, f"late{n}@example.com") for n in range(10)]
    results = fire(holders + late)
    assert [s for s, _ in results[:3]] == [201] * 3, [b for s, b in results[:3] if s != 201]
    assert {s for s, _ in results[3:]} == {409}
    assert seats_held(live, local, session) == 3
    assert len(queue(local, session)["booked"]) == 3


def test_a_five_use_coupon_raced_by_thirty_clients_is_used_exactly_five_times(live, local):
    from backend.extensions import db
    from backend.models import Coupon
    day = weekdays_ahead(3)[2]
    session = session_of(live, "talk", day, 100)
    assert live.admin("POST", "/coupons", {"code": "FIVE", "percent_off": 50, "max_uses": 5})[0] == 201
    results = fire([lambda n=n: book(live, "talk", session, f"c{n}@example.com", coupon="five",
                                     payment_option="outside") for n in range(30)])
    statuses = [s for s, _ in results]
    assert statuses.count(201) == 5 and statuses.count(422) == 25, statuses
    assert all(b["error"]["fields"]["coupon"] == ["This code has been used up."] for s, b in results if s == 422)
    assert all(b["booking"]["payment"]["amount"] == 1000 for s, b in results if s == 201)
    with local.app_context():
        assert db.session.scalar(select(Coupon.uses).where(Coupon.code == "FIVE")) == 5
        db.session.rollback()
    status, body = live.admin("GET", "/coupons")
    assert [(c["code"], c["uses"]) for c in body["coupons"]] == [("FIVE", 5)]
