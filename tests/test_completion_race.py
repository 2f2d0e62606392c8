"""The client completes a session while the expert confirms or cancels it: exactly one wins.

Four gunicorn workers, on SQLite and PostgreSQL. Each of several sessions gets its client's
completions and the expert's confirmations (or cancellations) at the same moment; the expert's lock
lets exactly one through, every other request is a 403 ``not_pending``, never a 500, and the
booking's history holds exactly one change.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine, text

from tests.live import call, live_app, weekdays_ahead

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def live(request, tmp_path_factory):
    with live_app(request.param, tmp_path_factory, "completion_race") as app:
        weekly = {d: [["08:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
        assert app.admin("PUT", "/availability", {"timezone": "Europe/Paris", "weekly": weekly})[0] == 200
        assert app.admin("POST", "/services", {
            "slug": "hour", "name": "One hour", "duration_minutes": 60, "slot_interval_minutes": 60,
            "max_advance_days": 60, "price": {"amount": 5000, "currency": "eur"},
            "payment_options": ["outside"]})[0] == 201
        yield app


def set_up(app, day, hour: int, n: int) -> dict:
    status, body = app.admin("POST", "/bookings", {
        "service": "hour", "start": f"{day}T{hour:02d}:00:00+01:00",
        "client": {"name": f"Client {n}", "email": f"c{n}@example.com"}})
    assert status == 201, body
    return body["booking"]


def complete(app, booking):
    token = booking["share_url"].rsplit("/manage/", 1)[1]
    return call("POST", f"{app.url}/api/v1/manage/{token}/complete", {"payment_option": "outside"})


def history(app, booking) -> list[str]:
    """The booking's history as stored (read from the database the workers share)."""
    engine = create_engine(app.env["KAIROS_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            return list(connection.scalars(text("SELECT type FROM booking_event WHERE booking_id = :b ORDER BY id"),
                                           {"b": booking["id"]}))
    finally:
        engine.dispose()


def fire(live, sessions, expert_action: str) -> list[tuple[str, str, int, dict]]:
    """Four completions and four of the expert's ``expert_action`` per session, all at once."""
    requests = []
    for booking in sessions:
        path = f"/bookings/{booking['id']}/{expert_action}"
        body = {"reason": "Busy"} if expert_action == "cancel" else None
        for _ in range(4):
            requests.append((booking["id"], "client", lambda b=booking: complete(live, b)))
            requests.append((booking["id"], "expert", lambda p=path: live.admin("POST", p, body)))
    with ThreadPoolExecutor(max_workers=48) as pool:
        return list(pool.map(lambda r: (r[0], r[1], *r[2]()), requests))


def test_completing_while_the_expert_confirms_one_winner(live):
    day = weekdays_ahead(2)[0]
    sessions = [set_up(live, day, 8 + i, i) for i in range(6)]
    results = fire(live, sessions, "confirm")
    for booking in sessions:
        mine = [(who, status, body) for bid, who, status, body in results if bid == booking["id"]]
        assert {status for _, status, _ in mine} <= {200, 403}, mine
        winners = [(who, body) for who, status, body in mine if status == 200]
        assert len(winners) == 1, mine
        assert winners[0][1]["booking"]["status"] == "confirmed"
        assert all(body["error"]["reason"] == "not_pending" for _, status, body in mine if status == 403)
        changes = [t for t in history(live, booking) if t in ("completed", "confirmed")]
        assert changes == ["completed" if winners[0][0] == "client" else "confirmed"], changes


def test_completing_while_the_expert_cancels_never_revives_it(live):
    day = weekdays_ahead(2)[1]
    sessions = [set_up(live, day, 8 + i, 100 + i) for i in range(6)]
    results = fire(live, sessions, "cancel")
    for booking in sessions:
        mine = [(who, status, body) for bid, who, status, body in results if bid == booking["id"]]
        assert {status for _, status, _ in mine} <= {200, 403}, mine
        completed = [body for who, status, body in mine if who == "client" and status == 200]
        cancelled = [body for who, status, body in mine if who == "expert" and status == 200]
        assert len(completed) <= 1 and len(cancelled) == 1, mine
        assert cancelled[0]["booking"]["status"] == "cancelled"
        # Either Ann completed first and Jane then cancelled a confirmed session, or the cancellation
        # came first and every completion was refused: never both orders, never a completed cancellation.
        changes = [t for t in history(live, booking) if t in ("completed", "cancelled")]
        assert changes == (["completed", "cancelled"] if completed else ["cancelled"]), changes
