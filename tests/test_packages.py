"""Package credits and payments made outside Kairos, on SQLite and PostgreSQL (no Stripe needed)."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from backend.extensions import db
from backend.models import Booking, BookingEvent, ClientPackage, Lead, OutboxMessage, Payment, Service
from tests.conftest import base_env, next_weekday


@pytest.fixture
def app(database_url, tmp_path):
    from backend.app import create_app
    app = create_app(base_env(tmp_path, database_url, KAIROS_RATE_LIMITS="booking=0,manage=0"))
    app.config["TESTING"] = True
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def at(hour: int, weekday: int = 1, weeks: int = 1) -> str:
    day = next_weekday(weekday, weeks=weeks)
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo("Europe/Paris")).isoformat()


def add_service(client, expert, slug: str, options: list[str], **extra) -> None:
    body = {"slug": slug, "name": slug.title(), "duration_minutes": 60, "slot_interval_minutes": 60,
            "payment_options": options, "max_advance_days": 90, "location": {"type": "video", "url": "https://x.test"}}
    body.update(extra)
    response = client.post("/api/v1/admin/services", headers=expert["headers"], json=body)
    assert response.status_code == 201, response.get_json()


def book(client, service: str, start: str, email: str = "ann@example.com", option: str | None = None):
    body = {"start": start, "timezone": "Europe/Paris", "client": {"name": "Ann Lee", "email": email}}
    if option:
        body["payment_option"] = option
    return client.post(f"/api/v1/experts/jane/services/{service}/bookings", json=body)


def grant(client, expert, email: str = "ann@example.com", **body):
    payload = {"client": {"email": email, "name": "Ann Lee"}, "name": "Three sessions", "services": ["coaching"],
               "credits": 3}
    payload.update(body)
    return client.post("/api/v1/admin/packages", headers=expert["headers"], json=payload)


def token_of(booking: dict) -> str:
    return booking["manage_url"].rsplit("/manage/", 1)[1]


def credits_used(app, package_id: int) -> int:
    with app.app_context():
        return db.session.get(ClientPackage, package_id).credits_used


def event_types(app, booking_id: str) -> list[str]:
    with app.app_context():
        return [e.type for e in db.session.scalars(select(BookingEvent).where(BookingEvent.booking_id == booking_id)
                                                   .order_by(BookingEvent.id))]


# --- packages -----------------------------------------------------------------------------------

def test_a_credit_pays_for_a_booking_and_a_cancellation_gives_it_back(app, client, expert):
    add_service(client, expert, "coaching", ["package"])
    response = grant(client, expert, credits=2)
    assert response.status_code == 201, response.get_json()
    package = response.get_json()["package"]
    assert package["credits_left"] == 2 and package["services"] == ["coaching"]
    assert package["client"]["email"] == "ann@example.com"

    response = book(client, "coaching", at(10))
    assert response.status_code == 201, response.get_json()
    booking = response.get_json()["booking"]
    assert booking["status"] == "confirmed"
    assert booking["payment"]["option"] == "package" and booking["payment"]["status"] == "credit_used"
    assert booking["payment"]["package"] == {"name": "Three sessions", "credits_left": 1}
    assert credits_used(app, package["id"]) == 1

    listed = client.get(f"/api/v1/admin/clients/{package['client']['id']}/packages", headers=expert["headers"])
    assert [p["credits_left"] for p in listed.get_json()["packages"]] == [1]

    response = client.post(f"/api/v1/manage/{token_of(booking)}/cancel", json={"reason": "Sorry"})
    assert response.status_code == 200
    assert response.get_json()["booking"]["payment"]["status"] == "credit_returned"
    assert credits_used(app, package["id"]) == 0
    assert event_types(app, booking["id"]).count("credit_returned") == 1


def test_a_client_with_no_credit_for_the_service_is_refused_clearly(app, client, expert):
    add_service(client, expert, "coaching", ["package"])
    add_service(client, expert, "workshop", ["package"])
    response = book(client, "coaching", at(10))
    assert response.status_code == 403
    error = response.get_json()["error"]
    assert error["code"] == "not_allowed" and error["reason"] == "no_package_credit" and "credit" in error["message"]

    assert grant(client, expert, services=["workshop"]).status_code == 201  # another service
    assert book(client, "coaching", at(10)).status_code == 403
    past = (datetime.now(timezone.utc) - timedelta(days=1)).isoformat()
    assert grant(client, expert, expires_at=past).status_code == 201  # expired
    assert book(client, "coaching", at(10)).status_code == 403
    assert grant(client, expert, email="bob@example.com").status_code == 201  # someone else's
    assert book(client, "coaching", at(10)).status_code == 403

    with app.app_context():
        assert db.session.scalars(select(Booking)).all() == []
    assert grant(client, expert, credits=1, services=[]).status_code == 201  # every service
    assert book(client, "coaching", at(10)).status_code == 201
    assert book(client, "coaching", at(11)).status_code == 403  # used up


def test_the_last_credit_is_spent_once_under_concurrency(app, client, expert):
    add_service(client, expert, "coaching", ["package"])
    package = grant(client, expert, credits=2).get_json()["package"]
    starts = [at(hour) for hour in (9, 10, 11, 13, 14, 15)]
    results: list[int] = []
    barrier = threading.Barrier(len(starts))

    def attempt(start: str) -> None:
        own = app.test_client()
        barrier.wait()
        results.append(book(own, "coaching", start).status_code)

    threads = [threading.Thread(target=attempt, args=(s,)) for s in starts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == [201, 201, 403, 403, 403, 403]
    assert credits_used(app, package["id"]) == 2


def test_granting_checks_its_input(app, client, expert):
    add_service(client, expert, "coaching", ["package"])
    add_service(client, expert, "free-call", [])
    assert grant(client, expert, services=["nope"]).status_code == 422
    response = grant(client, expert, services=["free-call"])
    assert response.status_code == 422 and "payment_options" in response.get_json()["error"]["message"]
    assert grant(client, expert, credits=0).status_code == 422
    response = client.post("/api/v1/admin/clients/999999/packages", headers=expert["headers"],
                           json={"name": "x", "credits": 1})
    assert response.status_code == 404
    assert client.post("/api/v1/admin/packages", json={"name": "x", "credits": 1}).status_code == 401


# --- paid outside Kairos ------------------------------------------------------------------------

def _outside_service(client, expert, **extra) -> None:
    add_service(client, expert, "portrait", ["outside"], price={"amount": 3000, "currency": "usd"},
                outside_payment_instructions="Pay by bank transfer to IBAN FR76 0000 0000 0000.", **extra)


def test_paid_outside_is_confirmed_with_the_instructions_and_can_be_marked_paid(app, client, expert):
    _outside_service(client, expert)
    response = book(client, "portrait", at(10))
    assert response.status_code == 201, response.get_json()
    booking = response.get_json()["booking"]
    assert booking["status"] == "confirmed"
    assert booking["payment"] == {"option": "outside", "amount": 3000, "currency": "usd", "status": "pay_outside",
                                  "instructions": "Pay by bank transfer to IBAN FR76 0000 0000 0000."}

    for _ in range(2):  # marking twice records one payment
        response = client.post(f"/api/v1/admin/bookings/{booking['id']}/mark-paid", headers=expert["headers"],
                               json={"note": "transfer received"})
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["booking"]["payment"]["status"] == "paid"
    with app.app_context():
        [payment] = db.session.scalars(select(Payment).where(Payment.booking_id == booking["id"])).all()
        assert (payment.provider, payment.status, payment.amount) == ("outside", "succeeded", 3000)
    assert event_types(app, booking["id"]).count("paid") == 1


def test_paid_outside_can_wait_pending_until_the_expert_marks_it_paid(app, client, expert):
    _outside_service(client, expert)
    with app.app_context():
        db.session.execute(update(Service).where(Service.slug == "portrait").values(outside_payment_status="pending"))
        db.session.commit()
    start = at(10)
    booking = book(client, "portrait", start).get_json()["booking"]
    assert booking["status"] == "pending" and booking["payment"]["status"] == "pay_outside"
    assert book(client, "portrait", start, email="bob@example.com").status_code == 409  # the time is kept

    response = client.post(f"/api/v1/admin/bookings/{booking['id']}/mark-paid", headers=expert["headers"], json={})
    assert response.status_code == 200
    assert response.get_json()["booking"]["status"] == "confirmed"
    with app.app_context():
        assert db.session.scalar(select(Lead.status)) == "booked"
        topics = [m.topic for m in db.session.scalars(select(OutboxMessage))
                  if m.payload.get("booking_id") == booking["id"]]
    assert "booking_confirmed" in topics


def test_only_an_outside_booking_can_be_marked_paid(app, client, expert):
    free = book(client, "intro-call", at(10)).get_json()["booking"]
    response = client.post(f"/api/v1/admin/bookings/{free['id']}/mark-paid", headers=expert["headers"], json={})
    assert response.status_code == 403 and response.get_json()["error"]["reason"] == "not_outside"

    _outside_service(client, expert)
    booking = book(client, "portrait", at(11)).get_json()["booking"]
    client.post(f"/api/v1/admin/bookings/{booking['id']}/cancel", headers=expert["headers"], json={"reason": ""})
    response = client.post(f"/api/v1/admin/bookings/{booking['id']}/mark-paid", headers=expert["headers"], json={})
    assert response.status_code == 403 and response.get_json()["error"]["reason"] == "cancelled"
    assert client.post("/api/v1/admin/bookings/bk_nope/mark-paid", headers=expert["headers"],
                       json={}).status_code == 404


def test_with_several_options_the_client_chooses(app, client, expert):
    _outside_service(client, expert)
    client.patch("/api/v1/admin/services/portrait", headers=expert["headers"],
                 json={"payment_options": ["outside", "package"]})
    assert grant(client, expert, services=["portrait"], credits=1).status_code == 201
    response = book(client, "portrait", at(10))
    assert response.status_code == 422 and "payment_option" in response.get_json()["error"]["fields"]
    response = book(client, "portrait", at(10), option="package")
    assert response.status_code == 201
    assert response.get_json()["booking"]["payment"]["status"] == "credit_used"
