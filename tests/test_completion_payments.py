"""Completing a session the expert set up, paid by card through the existing payment path
(real localstripe, signed webhooks), on SQLite and PostgreSQL.

Ann's time stays reserved while she pays (no hold countdown); the booking turns confirmed exactly
once, from the webhook or the status check; the expert hears "Ann completed the session you set up".
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from backend.extensions import db
from backend.models import Booking, Lead, ProcessedEvent
from tests.stripe_fake import localstripe, stripe_app, wait_for  # noqa: F401  (fixtures)
from tests.test_completion import at, complete, history, outbox, token_of
from tests.test_payments import (CARD_3DS, CARD_DECLINED_ON_CHARGE, CARD_OK, _succeeded_event, booking_row, held,
                                 payments, query, set_up_card)


@pytest.fixture
def app(stripe_app):
    return stripe_app.app


@pytest.fixture
def stripe(stripe_app):
    return stripe_app.stripe


def set_up_paid_session(client, expert, start: str, **body) -> dict:
    response = client.post("/api/v1/admin/services", headers=expert["headers"], json={
        "slug": "coaching", "name": "Coaching", "duration_minutes": 60, "slot_interval_minutes": 60,
        "price": {"amount": 5000, "currency": "eur"}, "payment_options": ["online", "outside"], "max_advance_days": 90,
        "hold_minutes": 15, "questions": [{"id": "goal", "label": "Your goal", "required": True}]})
    assert response.status_code == 201, response.get_json()
    response = client.post("/api/v1/admin/bookings", headers=expert["headers"], json={
        "service": "coaching", "start": start, "client": {"name": "Ann Lee", "email": "ann@example.com"}, **body})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["booking"]


def pay_path(booking: dict) -> str:
    return f"/api/v1/manage/{token_of(booking)}/payment"


def pay(client, booking: dict, setup: dict):
    return client.post(f"{pay_path(booking)}/confirm", json={"setup_intent": setup["id"]})


def test_ann_pays_by_card_and_the_session_is_confirmed_once(app, client, expert, stripe):
    start = at(10)
    booking = set_up_paid_session(client, expert, start)
    assert held(client, start)

    response = complete(client, booking, answers={"goal": "Grow"}, payment_option="online")
    assert response.status_code == 200, response.get_json()
    paying = response.get_json()["booking"]
    assert paying["status"] == "pending_payment"
    payment = paying["payment"]
    assert payment["status"] == "requires_payment" and (payment["amount"], payment["currency"]) == (5000, "eur")
    assert payment["client_secret"].startswith("seti_") and payment["next_action"] == "confirm_card_setup"
    assert payment["pay_url"].endswith(pay_path(booking))
    assert "hold_expires_at" not in payment  # the expert reserved the time: no countdown
    assert held(client, start)
    [lead] = query(app, select(Lead))
    assert lead.status == "scheduling_in_progress"

    paid = pay(client, paying, set_up_card(stripe, paying, CARD_OK))
    assert paid.status_code == 200, paid.get_json()
    assert paid.get_json()["booking"]["status"] == "confirmed"
    assert paid.get_json()["booking"]["payment"]["status"] == "paid"
    [row] = payments(app, booking["id"])
    event = _succeeded_event(stripe, row.provider_payment_id)
    wait_for(lambda: query(app, select(ProcessedEvent).where(ProcessedEvent.id == event["id"])))
    sent = outbox(app, booking["id"])
    assert sent.count(("email", "booking_confirmed")) == 1
    assert sent.count(("email", "expert_booking_completed")) == 1
    assert [t for t, _ in history(app, booking["id"])].count("paid") == 1
    assert query(app, select(Lead))[0].status == "booked"
    assert complete(client, booking, answers={"goal": "Grow"}, payment_option="online").status_code == 403


def test_a_declined_card_keeps_the_time_reserved_and_another_card_pays(app, client, expert, stripe):
    start = at(11)
    booking = set_up_paid_session(client, expert, start)
    paying = complete(client, booking, answers={"goal": "Grow"}, payment_option="online").get_json()["booking"]
    declined = pay(client, paying, set_up_card(stripe, paying, CARD_DECLINED_ON_CHARGE))
    assert declined.status_code == 402
    assert held(client, start)
    assert booking_row(app, booking["id"]).hold_expires_at is None  # no hold was started by the retry
    fresh = client.post(pay_path(booking)).get_json()["booking"]
    assert pay(client, fresh, set_up_card(stripe, fresh, CARD_OK)).get_json()["booking"]["status"] == "confirmed"


def test_3d_secure_then_the_webhook_confirms(app, client, expert, stripe):
    booking = set_up_paid_session(client, expert, at(15))
    paying = complete(client, booking, answers={"goal": "Grow"}, payment_option="online").get_json()["booking"]
    waiting = pay(client, paying, set_up_card(stripe, paying, CARD_3DS)).get_json()["booking"]
    assert waiting["payment"]["status"] == "requires_action"
    status, intent = stripe.confirm_card_payment(waiting["payment"]["client_secret"])
    assert status == 200 and intent["status"] == "succeeded"
    wait_for(lambda: booking_row(app, booking["id"]).status == "confirmed")
    assert outbox(app, booking["id"]).count(("email", "expert_booking_completed")) == 1


def test_the_expert_confirming_first_means_no_charge(app, client, expert, stripe):
    booking = set_up_paid_session(client, expert, at(13))
    paying = complete(client, booking, answers={"goal": "Grow"}, payment_option="online").get_json()["booking"]
    setup = set_up_card(stripe, paying, CARD_OK)
    confirmed = client.post(f"/api/v1/admin/bookings/{booking['id']}/confirm", headers=expert["headers"])
    assert confirmed.status_code == 200 and confirmed.get_json()["booking"]["payment"]["status"] == "waived"
    late = pay(client, paying, setup)
    assert late.status_code == 200 and late.get_json()["booking"]["status"] == "confirmed"
    assert payments(app, booking["id"]) == []  # nothing charged


def test_after_the_offer_lapsed_and_the_time_was_taken_nothing_is_charged(app, client, expert, stripe):
    start = at(14)
    expires = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    booking = set_up_paid_session(client, expert, start, expires_at=expires)
    paying = complete(client, booking, answers={"goal": "Grow"}, payment_option="online").get_json()["booking"]
    setup = set_up_card(stripe, paying, CARD_OK)
    with app.app_context():
        db.session.execute(update(Booking).where(Booking.id == booking["id"])
                           .values(expires_at=datetime.now(timezone.utc) - timedelta(minutes=1)))
        db.session.commit()
    assert not held(client, start)  # lapsed: the time is free again
    taken = client.post("/api/v1/experts/jane/services/coaching/bookings", json={
        "start": start, "timezone": "Europe/Paris", "client": {"name": "Bob", "email": "bob@example.com"},
        "payment_option": "outside", "answers": {"goal": "Also"}})
    assert taken.status_code == 201, taken.get_json()
    response = pay(client, paying, setup)
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "slot_unavailable"
    assert payments(app, booking["id"]) == []
