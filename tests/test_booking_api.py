"""A client books through the public API; bad requests are refused with the envelope and write nothing."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import next_weekday

PARIS = ZoneInfo("Europe/Paris")


def slots_for(client, day, tz="Europe/Paris", service="intro-call"):
    response = client.get(f"/api/v1/experts/jane/services/{service}/slots",
                          query_string={"start": day.isoformat(), "end": day.isoformat(), "timezone": tz})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["slots"]


def book(client, start, *, email="ann@example.com", tz="Europe/Paris", **extra):
    body = {"start": start, "timezone": tz, "client": {"name": "Ann Lee", "email": email}, **extra}
    return client.post("/api/v1/experts/jane/services/intro-call/bookings", json=body)


def count(app, model) -> int:
    from sqlalchemy import func, select

    from backend.extensions import db
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_booking_page_lists_public_services(client, expert):
    body = client.get("/api/v1/experts/jane").get_json()
    assert body["slug"] == "jane" and body["timezone"] == "Europe/Paris"
    service = body["services"][0]
    assert service["slug"] == "intro-call" and service["kind"] == "personal"
    assert service["price"] is None and service["payment_options"] == []
    # The call link is private until a booking is confirmed.
    assert service["location"] == {"type": "video"}


def test_slots_follow_weekly_hours_in_the_callers_zone(client, expert):
    monday = next_weekday(0)
    slots = slots_for(client, monday)
    starts = [s["start"][11:16] for s in slots]
    assert starts[0] == "09:00" and starts[-1] == "16:30"
    assert "12:00" not in starts and "12:30" not in starts  # lunch
    assert len(slots) == 14
    # Tokyo sees the same instants, shown in its own offset.
    tokyo = client.get("/api/v1/experts/jane/services/intro-call/slots", query_string={
        "start": monday.isoformat(), "end": (monday + timedelta(days=1)).isoformat(), "timezone": "Asia/Tokyo"}).get_json()
    instants = {datetime.fromisoformat(s["start"]) for s in tokyo["slots"]}
    assert all(s["start"].endswith("+09:00") for s in tokyo["slots"])
    assert {datetime.fromisoformat(s["start"]) for s in slots} & instants


def test_a_client_books_and_the_slot_is_gone(app, client, expert):
    from backend.models import Booking, BookingEvent, Client, Lead, OutboxMessage
    monday = next_weekday(0)
    start = slots_for(client, monday)[0]["start"]
    response = book(client, start, message="First session")
    assert response.status_code == 201, response.get_json()
    booking = response.get_json()["booking"]
    assert booking["id"].startswith("bk_")
    assert booking["status"] == "confirmed"
    assert booking["start"] == start and booking["timezone"] == "Europe/Paris"
    assert booking["service"] == {"slug": "intro-call", "name": "Intro call", "kind": "personal"}
    assert booking["expert"] == {"slug": "jane", "name": "Jane Doe"}
    assert booking["client"] == {"name": "Ann Lee", "email": "ann@example.com"}
    assert booking["location"] == {"type": "video", "url": "https://meet.example.com/jane"}
    assert booking["manage_url"].startswith("http://kairos.test/manage/")
    assert booking["payment"] is None
    assert start not in [s["start"] for s in slots_for(client, monday)]
    assert count(app, Booking) == 1 and count(app, BookingEvent) == 1 and count(app, Lead) == 1
    assert count(app, Client) == 1
    # In the same transaction: the client's confirmation and the expert's notification.
    from sqlalchemy import select

    from backend.extensions import db
    with app.app_context():
        topics = sorted(db.session.scalars(select(OutboxMessage.topic)))
    assert len(topics) == 2 and all(t.startswith("booking_") or t.startswith("expert_") for t in topics), topics
    # The same time again is taken.
    again = book(client, start, email="bob@example.com")
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "slot_unavailable"


def test_manage_token_is_stored_hashed(app, client, expert):
    from sqlalchemy import select

    from backend.extensions import db
    from backend.models import Booking
    start = slots_for(client, next_weekday(1))[0]["start"]
    url = book(client, start).get_json()["booking"]["manage_url"]
    token = url.rsplit("/", 1)[1]
    assert len(token) >= 40
    with app.app_context():
        stored = db.session.scalar(select(Booking.manage_token_hash))
    assert token not in stored and len(stored) == 64


def test_a_returning_client_is_not_duplicated(app, client, expert):
    from backend.models import Client
    slots = slots_for(client, next_weekday(2))
    assert book(client, slots[0]["start"], email="Ann@Example.com").status_code == 201
    assert book(client, slots[2]["start"], email="ann@example.COM ").status_code == 201
    assert count(app, Client) == 1


def test_the_same_idempotency_key_returns_the_first_booking(app, client, expert):
    from backend.models import Booking
    start = slots_for(client, next_weekday(3))[0]["start"]
    body = {"start": start, "timezone": "Europe/Paris", "client": {"name": "Ann", "email": "ann@example.com"}}
    headers = {"Idempotency-Key": "attempt-1"}
    first = client.post("/api/v1/experts/jane/services/intro-call/bookings", json=body, headers=headers)
    second = client.post("/api/v1/experts/jane/services/intro-call/bookings", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.get_json() == second.get_json()
    assert count(app, Booking) == 1
    other = client.post("/api/v1/experts/jane/services/intro-call/bookings",
                        json={**body, "message": "changed"}, headers=headers)
    assert other.status_code == 409 and other.get_json()["error"]["code"] == "idempotency_conflict"



def test_idempotency_answers_are_deleted_after_24_hours_by_the_worker(app, client, expert):
    """Each stored answer carries the booking's manage link: it must not outlive its use."""
    from datetime import timedelta

    from sqlalchemy import select, update

    from backend.extensions import db
    from backend.models import IdempotencyRecord
    from backend.types import utcnow
    from backend.worker import run_worker
    slots = slots_for(client, next_weekday(3))
    for i, key in enumerate(("old-attempt", "fresh-attempt")):
        body = {"start": slots[i]["start"], "timezone": "Europe/Paris", "client": {"name": "Ann", "email": "ann@example.com"}}
        assert client.post("/api/v1/experts/jane/services/intro-call/bookings", json=body,
                           headers={"Idempotency-Key": key}).status_code == 201
    with app.app_context():
        db.session.execute(update(IdempotencyRecord).where(IdempotencyRecord.id == db.session.scalar(
            select(IdempotencyRecord.id).order_by(IdempotencyRecord.id).limit(1)))
            .values(created_at=utcnow() - timedelta(hours=24, minutes=1)))
        db.session.commit()
    run_worker(app, once=True)
    with app.app_context():
        kept = db.session.scalars(select(IdempotencyRecord)).all()
        assert len(kept) == 1 and kept[0].created_at > utcnow() - timedelta(hours=1)


BAD_BODIES = [
    ({}, {"timezone", "client"}),
    ({"start": "2030-01-07T09:00:00", "timezone": "Europe/Paris", "client": {"name": "A", "email": "a@b.co"}}, {"start"}),
    ({"start": "tomorrow", "timezone": "Europe/Paris", "client": {"name": "A", "email": "a@b.co"}}, {"start"}),
    ({"start": "2030-01-07T09:00:00+01:00", "timezone": "Mars/Olympus", "client": {"name": "A", "email": "a@b.co"}}, {"timezone"}),
    ({"start": "2030-01-07T09:00:00+01:00", "timezone": "Europe/Paris", "client": {"name": "A", "email": "nope"}}, {"client.email"}),
    ({"start": "2030-01-07T09:00:00+01:00", "timezone": "Europe/Paris", "client": {"name": 5, "email": "a@b.co"}}, {"client.name"}),
    ({"start": "2030-01-07T09:00:00+01:00", "timezone": "Europe/Paris", "client": "Ann"}, {"client"}),
    ({"start": "2030-01-07T09:00:00+01:00", "timezone": "Europe/Paris", "client": {"name": "A", "email": "a@b.co"},
      "payment_option": "online"}, {"payment_option"}),
]


@pytest.mark.parametrize("body, fields", BAD_BODIES)
def test_bad_bookings_get_a_422_that_names_the_field(app, client, expert, body, fields):
    from backend.models import Booking, Client
    response = client.post("/api/v1/experts/jane/services/intro-call/bookings", json=body)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "validation_error" and error["message"]
    assert fields <= set(error["fields"]), error
    assert count(app, Booking) == 0 and count(app, Client) == 0


def test_a_time_outside_availability_is_refused(app, client, expert):
    from backend.models import Booking
    saturday = next_weekday(5)
    start = datetime.combine(saturday, datetime.min.time().replace(hour=10), PARIS).isoformat()
    response = book(client, start)
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "slot_unavailable"
    monday = next_weekday(0)
    off_grid = datetime.combine(monday, datetime.min.time().replace(hour=9, minute=10), PARIS).isoformat()
    assert book(client, off_grid).status_code == 409
    past = (datetime.now(PARIS) - timedelta(days=1)).replace(microsecond=0).isoformat()
    assert book(client, past).status_code == 409
    assert count(app, Booking) == 0


def test_unknown_expert_and_service_are_404(client, expert):
    for path in ("/api/v1/experts/nobody", "/api/v1/experts/jane/services/nothing",
                 "/api/v1/experts/nobody/services/intro-call/slots?start=2030-01-01&end=2030-01-02&timezone=UTC"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.get_json()["error"]["code"] == "not_found"
    response = book(client, "2030-01-07T09:00:00+01:00")
    assert response.status_code == 201 or response.status_code == 409  # the expert exists; time decides
    response = client.post("/api/v1/experts/nobody/services/intro-call/bookings",
                           json={"start": "2030-01-07T09:00:00+01:00", "timezone": "UTC",
                                 "client": {"name": "A", "email": "a@b.co"}})
    assert response.status_code == 404


@pytest.mark.parametrize("query, field", [
    ({"end": "2030-01-02", "timezone": "UTC"}, "start"),
    ({"start": "2030-01-05", "end": "2030-01-02", "timezone": "UTC"}, "end"),
    ({"start": "2030-01-01", "end": "2030-04-01", "timezone": "UTC"}, "end"),
    ({"start": "2030-01-01", "end": "2030-01-02", "timezone": "Nowhere/City"}, "timezone"),
    ({"start": "01/01/2030", "end": "2030-01-02", "timezone": "UTC"}, "start"),
])
def test_bad_slot_queries_are_422(client, expert, query, field):
    response = client.get("/api/v1/experts/jane/services/intro-call/slots", query_string=query)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
