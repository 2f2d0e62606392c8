"""Online payments against a real localstripe (tests/stripe_fake.py), on SQLite and PostgreSQL.

Where a browser would act (Stripe.js confirming the card, the 3-D Secure dialog) the test makes
the same requests localstripe's fake Stripe.js makes; everything else is the real app, the real
stripe SDK and localstripe's real, signed webhooks.
"""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from backend.extensions import db
from backend.models import Booking, BookingEvent, Client, OutboxMessage, Payment, ProcessedEvent
from tests.conftest import base_env, next_weekday
from tests.stripe_fake import PUBLISHABLE_KEY, localstripe, sign, stripe_app, wait_for  # noqa: F401  (fixtures)

CARD_OK = "4242424242424242"
CARD_DECLINED = "4000000000000002"        # refused when the card is set up (in the browser)
CARD_DECLINED_ON_CHARGE = "4000000000000341"  # set up fine, refused when charged
CARD_3DS = "4000002500003155"
WEBHOOK = "/api/v1/payments/stripe/webhook"


@pytest.fixture
def app(stripe_app):
    """conftest's ``client`` and ``expert`` fixtures use this app: configured for localstripe."""
    return stripe_app.app


@pytest.fixture
def stripe(stripe_app):
    return stripe_app.stripe


def paid_service(client, expert, **changes):
    body = {"slug": "coaching", "name": "Coaching", "duration_minutes": 60, "slot_interval_minutes": 60,
            "price": {"amount": 5000, "currency": "eur"}, "payment_options": ["online"], "max_advance_days": 90,
            "location": {"type": "video", "url": "https://meet.example.com/jane"}, "hold_minutes": 15,
            "policy": {"refund": "full", "cutoff_hours": 24}}
    body.update(changes)
    response = client.post("/api/v1/admin/services", headers=expert["headers"], json=body)
    assert response.status_code == 201, response.get_json()


def at(hour: int, weekday: int = 1, weeks: int = 1) -> str:
    day = next_weekday(weekday, weeks=weeks)
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo("Europe/Paris")).isoformat()


def book(client, start: str, email: str = "ann@example.com", name: str = "Ann Lee"):
    return client.post("/api/v1/experts/jane/services/coaching/bookings", json={
        "start": start, "timezone": "Europe/Paris", "client": {"name": name, "email": email},
        "payment_option": "online"})


def token_of(booking: dict) -> str:
    return booking["manage_url"].rsplit("/manage/", 1)[1]


def pay_path(booking: dict) -> str:
    return f"/api/v1/manage/{token_of(booking)}/payment"


def start_times(client, start: str) -> list[str]:
    day = start[:10]
    response = client.get(f"/api/v1/experts/jane/services/coaching/slots?start={day}&end={day}&timezone=Europe/Paris")
    assert response.status_code == 200
    return [s["start"] for s in response.get_json()["slots"]]


def held(client, start: str) -> bool:
    return start not in start_times(client, start)


def query(app, stmt):
    with app.app_context():
        return list(db.session.scalars(stmt))


def booking_row(app, booking_id: str) -> Booking:
    return query(app, select(Booking).where(Booking.id == booking_id))[0]


def event_types(app, booking_id: str) -> list[str]:
    return [e.type for e in query(app, select(BookingEvent).where(BookingEvent.booking_id == booking_id)
                                  .order_by(BookingEvent.id))]


def payments(app, booking_id: str) -> list[Payment]:
    return query(app, select(Payment).where(Payment.booking_id == booking_id).order_by(Payment.created_at))


def emails(app, booking_id: str, topic: str) -> int:
    return sum(1 for m in query(app, select(OutboxMessage).where(OutboxMessage.topic == topic))
               if m.payload.get("booking_id") == booking_id)


def expire_hold(app, booking_id: str) -> None:
    with app.app_context():
        db.session.execute(update(Booking).where(Booking.id == booking_id)
                           .values(hold_expires_at=datetime.now(timezone.utc) - timedelta(minutes=1)))
        db.session.commit()


def set_up_card(stripe, booking_or_payment: dict, number: str, *, authenticate: bool = True) -> dict:
    payment = booking_or_payment.get("payment", booking_or_payment)
    status, setup = stripe.confirm_card_setup(payment["client_secret"], number, authenticate=authenticate)
    assert status == 200 and setup["status"] == "succeeded", setup
    return setup


def pay(client, booking: dict, setup: dict):
    return client.post(f"{pay_path(booking)}/confirm", json={"setup_intent": setup["id"]})


def fresh_setup(client, booking: dict) -> dict:
    response = client.post(pay_path(booking))
    assert response.status_code == 200, response.get_json()
    payment = response.get_json()["booking"]["payment"]
    assert payment["client_secret"].startswith("seti_")
    return payment


# --- the happy path ---------------------------------------------------------------------------------

def test_a_paid_booking_is_held_then_confirmed_once(app, client, expert, stripe):
    paid_service(client, expert)
    start = at(10)
    response = book(client, start)
    assert response.status_code == 201, response.get_json()
    booking = response.get_json()["booking"]
    assert booking["status"] == "pending_payment"
    payment = booking["payment"]
    assert payment["option"] == "online" and payment["status"] == "requires_payment"
    assert (payment["amount"], payment["currency"]) == (5000, "eur")
    assert payment["hold_expires_at"] and payment["next_action"] == "confirm_card_setup"
    assert payment["client_secret"].startswith("seti_") and payment["publishable_key"] == PUBLISHABLE_KEY
    assert payment["js_url"] == f"{stripe.url}/js.stripe.com/v3/"
    assert payment["pay_url"] == f"http://kairos.test{pay_path(booking)}"
    assert held(client, start)

    setup = set_up_card(stripe, booking, CARD_OK)
    response = pay(client, booking, setup)
    assert response.status_code == 200, response.get_json()
    paid = response.get_json()["booking"]
    assert paid["status"] == "confirmed" and paid["payment"]["status"] == "paid"
    assert "client_secret" not in paid["payment"]

    # The signed webhook for the same payment arrives a second later and changes nothing.
    [row] = payments(app, booking["id"])
    event = _succeeded_event(stripe, row.provider_payment_id)
    wait_for(lambda: query(app, select(ProcessedEvent).where(ProcessedEvent.id == event["id"])))
    assert event_types(app, booking["id"]).count("paid") == 1
    assert emails(app, booking["id"], "booking_confirmed") == 1
    assert row.status == "succeeded" and row.amount == 5000 and row.currency == "eur"
    intent = stripe.get(f"/v1/payment_intents/{row.provider_payment_id}")
    assert intent["status"] == "succeeded" and intent["amount"] == 5000
    assert intent["metadata"]["kairos_booking"] == booking["id"]
    assert client.get(pay_path(booking)).get_json()["booking"]["payment"]["status"] == "paid"
    assert held(client, start)


def test_the_clients_stripe_customer_is_reused_by_email(app, client, expert, stripe):
    paid_service(client, expert)
    first = book(client, at(10), email="ann@example.com").get_json()["booking"]
    second = book(client, at(11), email="ANN@example.com ").get_json()["booking"]
    [customer] = [c.stripe_customer_id for c in query(app, select(Client))]
    assert customer and customer.startswith("cus_")
    for booking in (first, second):
        setup_id = booking["payment"]["setup_intent"]
        assert stripe.get(f"/v1/setup_intents/{setup_id}")["customer"] == customer
    assert stripe.get(f"/v1/customers/{customer}")["email"] == "ann@example.com"


def test_3d_secure_completes_after_authentication_and_the_webhook_confirms(app, client, expert, stripe):
    paid_service(client, expert)
    start = at(10)
    booking = book(client, start).get_json()["booking"]
    setup = set_up_card(stripe, booking, CARD_3DS)  # the setup's own 3-D Secure dialog: completed

    response = pay(client, booking, setup)
    assert response.status_code == 200, response.get_json()
    waiting = response.get_json()["booking"]
    assert waiting["status"] == "pending_payment"
    assert waiting["payment"]["status"] == "requires_action"
    assert waiting["payment"]["next_action"] == "confirm_card_payment"
    assert waiting["payment"]["client_secret"].startswith("pi_")
    assert held(client, start)

    status, intent = stripe.confirm_card_payment(waiting["payment"]["client_secret"])  # 'Complete authentication'
    assert status == 200 and intent["status"] == "succeeded"
    # Only the webhook can tell the app: nobody asks for the status.
    wait_for(lambda: booking_row(app, booking["id"]).status == "confirmed")
    assert event_types(app, booking["id"]).count("paid") == 1
    view = client.get(pay_path(booking)).get_json()["booking"]
    assert view["status"] == "confirmed" and view["payment"]["status"] == "paid"


def test_the_widgets_status_check_confirms_without_the_webhook(stripe_app, app, client, expert, stripe):
    stripe_app.mute_webhooks()
    paid_service(client, expert)
    booking = book(client, at(10)).get_json()["booking"]
    waiting = pay(client, booking, set_up_card(stripe, booking, CARD_3DS)).get_json()["booking"]
    # The widget reloads mid-way: the status check hands back what 3-D Secure needs.
    again = client.get(pay_path(booking)).get_json()["booking"]["payment"]
    assert again["status"] == "requires_action" and again["client_secret"] == waiting["payment"]["client_secret"]

    stripe.confirm_card_payment(waiting["payment"]["client_secret"])
    view = client.get(pay_path(booking)).get_json()["booking"]
    assert view["status"] == "confirmed" and view["payment"]["status"] == "paid"
    assert client.get(pay_path(booking)).get_json()["booking"]["status"] == "confirmed"
    assert event_types(app, booking["id"]).count("paid") == 1
    assert emails(app, booking["id"], "booking_confirmed") == 1


def test_failed_authentication_leaves_the_booking_payable(stripe_app, app, client, expert, stripe):
    stripe_app.mute_webhooks()
    paid_service(client, expert)
    start = at(10)
    booking = book(client, start).get_json()["booking"]
    waiting = pay(client, booking, set_up_card(stripe, booking, CARD_3DS)).get_json()["booking"]
    stripe.confirm_card_payment(waiting["payment"]["client_secret"], success=False)  # 'Fail authentication'

    view = client.get(pay_path(booking)).get_json()["booking"]
    assert view["status"] == "pending_payment" and view["payment"]["status"] == "requires_payment"
    assert "authentication" in view["payment"]["last_error"]
    assert held(client, start)
    payment = fresh_setup(client, booking)
    response = pay(client, booking, set_up_card(stripe, payment, CARD_OK))
    assert response.get_json()["booking"]["status"] == "confirmed"


# --- declines ---------------------------------------------------------------------------------------

def test_a_declined_card_shows_stripes_message_and_the_slot_stays_held(app, client, expert, stripe):
    paid_service(client, expert)
    start = at(10)
    booking = book(client, start).get_json()["booking"]

    # Declined when the card is set up (in the browser): Stripe.js hands the widget this error.
    status, body = stripe.confirm_card_setup(booking["payment"]["client_secret"], CARD_DECLINED)
    assert status == 402 and body["error"]["message"] == "Your card was declined."
    assert held(client, start)
    assert client.get(pay_path(booking)).get_json()["booking"]["status"] == "pending_payment"

    # Declined when charged: our endpoint answers 402 with Stripe's message; the hold stays.
    payment = fresh_setup(client, booking)
    response = pay(client, booking, set_up_card(stripe, payment, CARD_DECLINED_ON_CHARGE))
    assert response.status_code == 402
    error = response.get_json()["error"]
    assert error["code"] == "payment_failed" and error["message"] == "Your card was declined."
    assert error["hold_expires_at"] == booking["payment"]["hold_expires_at"]
    assert held(client, start)
    view = client.get(pay_path(booking)).get_json()["booking"]
    assert view["status"] == "pending_payment" and view["payment"]["last_error"] == "Your card was declined."
    assert "payment_failed" in event_types(app, booking["id"])

    # Another card: paid.
    payment = fresh_setup(client, booking)
    response = pay(client, booking, set_up_card(stripe, payment, CARD_OK))
    assert response.status_code == 200 and response.get_json()["booking"]["status"] == "confirmed"
    rows = payments(app, booking["id"])
    assert [p.status for p in rows] == ["failed", "succeeded"]
    assert rows[0].provider_payment_id.startswith("pi_") and rows[0].last_error == "Your card was declined."


def test_a_setup_intent_of_another_booking_is_refused(app, client, expert, stripe):
    paid_service(client, expert)
    mine = book(client, at(10)).get_json()["booking"]
    other = book(client, at(11), email="bob@example.com", name="Bob").get_json()["booking"]
    setup = set_up_card(stripe, other, CARD_OK)
    response = pay(client, mine, setup)
    assert response.status_code == 422
    assert "setup_intent" in response.get_json()["error"]["fields"]
    assert payments(app, mine["id"]) == []


# --- holds ------------------------------------------------------------------------------------------

def test_an_expired_hold_releases_the_slot_and_nothing_is_charged(app, client, expert, stripe):
    paid_service(client, expert)
    start = at(10)
    first = book(client, start).get_json()["booking"]
    setup = set_up_card(stripe, first, CARD_OK)
    expire_hold(app, first["id"])
    assert not held(client, start)  # freed at once, no cron

    second = book(client, start, email="bob@example.com", name="Bob")
    assert second.status_code == 201 and second.get_json()["booking"]["status"] == "pending_payment"

    response = pay(client, first, setup)
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "slot_unavailable"
    assert payments(app, first["id"]) == []


def test_an_expired_hold_is_renewed_when_the_time_is_still_free(app, client, expert, stripe):
    paid_service(client, expert)
    booking = book(client, at(10)).get_json()["booking"]
    setup = set_up_card(stripe, booking, CARD_OK)
    expire_hold(app, booking["id"])
    response = pay(client, booking, setup)
    assert response.status_code == 200 and response.get_json()["booking"]["status"] == "confirmed"
    assert "hold_renewed" in event_types(app, booking["id"])


def test_a_payment_after_the_hold_expired_and_the_slot_was_taken_is_refunded(app, client, expert, stripe):
    paid_service(client, expert)
    start = at(10)
    late = book(client, start).get_json()["booking"]
    waiting = pay(client, late, set_up_card(stripe, late, CARD_3DS)).get_json()["booking"]
    assert waiting["payment"]["status"] == "requires_action"
    expire_hold(app, late["id"])  # the client took too long in the 3-D Secure dialog…
    taker = book(client, start, email="bob@example.com", name="Bob")  # …and Bob took the time
    assert taker.status_code == 201

    stripe.confirm_card_payment(waiting["payment"]["client_secret"])  # the money arrives now
    wait_for(lambda: booking_row(app, late["id"]).status == "cancelled")
    wait_for(lambda: payments(app, late["id"])[0].status == "refunded")
    [payment] = payments(app, late["id"])
    assert payment.refunded_amount == 5000 and payment.provider_refund_id.startswith("re_")
    refunds = stripe.get(f"/v1/refunds?payment_intent={payment.provider_payment_id}")["data"]
    assert [r["amount"] for r in refunds] == [5000]
    row = booking_row(app, late["id"])
    assert "refunded" in row.cancel_reason
    types = event_types(app, late["id"])
    assert {"cancelled", "refund_requested", "refunded"} <= set(types) and "paid" not in types
    assert emails(app, late["id"], "payment_refunded") == 1  # the client is told
    view = client.get(pay_path(late)).get_json()["booking"]
    assert view["status"] == "cancelled" and view["payment"]["status"] == "refunded"
    assert booking_row(app, taker.get_json()["booking"]["id"]).status == "pending_payment"


# --- webhooks ---------------------------------------------------------------------------------------

def _succeeded_event(stripe, intent_id: str) -> dict:
    since = int(time.time()) - 120
    events = stripe.get(f"/v1/events?type=payment_intent.succeeded&created[gte]={since}&limit=100")["data"]
    return next(e for e in events if e["data"]["object"]["id"] == intent_id)


def test_the_same_event_delivered_twice_confirms_once(stripe_app, app, client, expert, stripe):
    stripe_app.mute_webhooks()  # this test delivers the event itself, twice
    paid_service(client, expert)
    booking = book(client, at(10)).get_json()["booking"]
    waiting = pay(client, booking, set_up_card(stripe, booking, CARD_3DS)).get_json()["booking"]
    stripe.confirm_card_payment(waiting["payment"]["client_secret"])
    event = _succeeded_event(stripe, waiting["payment"]["payment_intent"])
    payload = json.dumps(event).encode()

    outcomes = []
    for _ in range(2):
        response = client.post(WEBHOOK, data=payload, content_type="application/json",
                               headers={"Stripe-Signature": sign(payload, stripe_app.webhook_secret)})
        assert response.status_code == 200
        outcomes.append(response.get_json()["outcome"])
    assert outcomes == ["processed", "duplicate"]
    assert booking_row(app, booking["id"]).status == "confirmed"
    assert event_types(app, booking["id"]).count("paid") == 1
    assert emails(app, booking["id"], "booking_confirmed") == 1

    # An older event of the same intent, arriving late (out of order), moves nothing back.
    stale = json.loads(payload)
    stale["id"], stale["type"] = stale["id"] + "_failed", "payment_intent.payment_failed"
    stale["data"]["object"]["status"] = "requires_payment_method"
    body = json.dumps(stale).encode()
    response = client.post(WEBHOOK, data=body, content_type="application/json",
                           headers={"Stripe-Signature": sign(body, stripe_app.webhook_secret)})
    assert response.status_code == 200
    assert [p.status for p in payments(app, booking["id"])] == ["succeeded"]
    assert booking_row(app, booking["id"]).status == "confirmed"


def test_a_bad_signature_is_refused(stripe_app, client):
    payload = json.dumps({"id": "evt_forged", "type": "payment_intent.succeeded",
                          "data": {"object": {"id": "pi_forged", "status": "succeeded"}}}).encode()
    cases = [
        {},  # no signature at all
        {"Stripe-Signature": sign(payload, "whsec_someone_else")},
        {"Stripe-Signature": sign(payload + b" ", stripe_app.webhook_secret)},  # body changed after signing
        {"Stripe-Signature": sign(payload, stripe_app.webhook_secret, int(time.time()) - 3600)},  # replayed
        {"Stripe-Signature": "garbage"},
    ]
    for headers in cases:
        response = client.post(WEBHOOK, data=payload, content_type="application/json", headers=headers)
        assert response.status_code == 400, headers
        error = response.get_json()["error"]
        assert error["code"] == "invalid_signature" and error["fields"] == {}
    assert query(stripe_app.app, select(ProcessedEvent)) == []


def test_events_that_are_not_ours_are_acknowledged(stripe_app, client):
    payload = json.dumps({"id": "evt_other", "type": "payment_intent.succeeded", "data": {"object": {
        "id": "pi_other", "status": "succeeded", "amount": 100, "currency": "usd", "metadata": {}}}}).encode()
    response = client.post(WEBHOOK, data=payload, content_type="application/json",
                           headers={"Stripe-Signature": sign(payload, stripe_app.webhook_secret)})
    assert response.status_code == 200 and response.get_json()["outcome"] == "ignored"
    assert query(stripe_app.app, select(Payment)) == []


# --- refunds on cancellation ------------------------------------------------------------------------

def _paid_booking(client, expert, stripe, **service) -> dict:
    paid_service(client, expert, **service)
    booking = book(client, at(10)).get_json()["booking"]
    response = pay(client, booking, set_up_card(stripe, booking, CARD_OK))
    assert response.get_json()["booking"]["status"] == "confirmed"
    return booking


def test_a_client_cancellation_inside_the_policy_refunds_in_full(app, client, expert, stripe):
    booking = _paid_booking(client, expert, stripe, policy={"refund": "full", "cutoff_hours": 24})
    response = client.post(f"/api/v1/manage/{token_of(booking)}/cancel", json={"reason": "Ill"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["booking"]["payment"]["status"] == "refunded"
    [payment] = payments(app, booking["id"])
    assert payment.status == "refunded" and payment.refunded_amount == 5000
    refunds = stripe.get(f"/v1/refunds?payment_intent={payment.provider_payment_id}")["data"]
    assert [(r["id"], r["amount"]) for r in refunds] == [(payment.provider_refund_id, 5000)]
    types = event_types(app, booking["id"])
    assert types.index("cancelled") < types.index("refund_requested") < types.index("refunded")


def test_a_policy_without_refund_keeps_the_payment(app, client, expert, stripe):
    booking = _paid_booking(client, expert, stripe, policy={"refund": "none", "cutoff_hours": 24})
    response = client.post(f"/api/v1/manage/{token_of(booking)}/cancel", json={"reason": ""})
    assert response.status_code == 200
    assert response.get_json()["booking"]["payment"]["status"] == "paid"
    [payment] = payments(app, booking["id"])
    assert payment.status == "succeeded" and payment.refunded_amount == 0
    assert stripe.get(f"/v1/refunds?payment_intent={payment.provider_payment_id}")["data"] == []
    assert "refund_skipped" in event_types(app, booking["id"])


def test_outside_the_cutoff_the_client_cannot_cancel_and_nothing_is_refunded(app, client, expert, stripe):
    booking = _paid_booking(client, expert, stripe, policy={"refund": "full", "cutoff_hours": 24 * 60})
    response = client.post(f"/api/v1/manage/{token_of(booking)}/cancel", json={"reason": ""})
    assert response.status_code == 403 and response.get_json()["error"]["reason"] == "past_cutoff"
    [payment] = payments(app, booking["id"])
    assert payment.status == "succeeded"
    assert stripe.get(f"/v1/refunds?payment_intent={payment.provider_payment_id}")["data"] == []


def test_an_expert_cancellation_refunds_in_full(app, client, expert, stripe):
    booking = _paid_booking(client, expert, stripe, policy={"refund": "none"})
    response = client.post(f"/api/v1/admin/bookings/{booking['id']}/cancel", headers=expert["headers"],
                           json={"reason": "I am ill"})
    assert response.status_code == 200
    assert [p.status for p in payments(app, booking["id"])] == ["refunded"]


def test_an_expert_may_cancel_as_the_policy_says_and_keep_the_payment(app, client, expert, stripe):
    booking = _paid_booking(client, expert, stripe, policy={"refund": "none"})
    response = client.post(f"/api/v1/admin/bookings/{booking['id']}/cancel", headers=expert["headers"],
                           json={"reason": "No-show", "refund": "policy"})
    assert response.status_code == 200, response.get_json()
    assert [p.status for p in payments(app, booking["id"])] == ["succeeded"]
    assert "refund_skipped" in event_types(app, booking["id"])


@pytest.mark.parametrize("choice, status", [("full", "refunded"), ("policy", "succeeded")])
def test_the_dashboards_cancel_page_offers_the_same_refund_choice(app, client, expert, stripe, choice, status):
    from tests.test_dashboard import PASSWORD, csrf, set_password
    booking = _paid_booking(client, expert, stripe, policy={"refund": "none"})
    set_password(app)
    client.post("/dashboard/login", data={"email": "jane@example.com", "password": PASSWORD, "csrf_token": csrf(client)})
    page = client.get(f"/dashboard/bookings/{booking['id']}/cancel").text
    assert "They paid 50.00 EUR by card" in page and "(no refund)" in page
    response = client.post(f"/dashboard/bookings/{booking['id']}/cancel", data={
        "csrf_token": csrf(client, f"/dashboard/bookings/{booking['id']}/cancel"), "refund": choice})
    assert response.status_code == 302
    assert [p.status for p in payments(app, booking["id"])] == [status]


# --- Stripe down ------------------------------------------------------------------------------------

def test_when_stripe_is_down_the_booking_is_held_and_the_widget_can_ask_again(database_url, tmp_path):
    from backend.app import create_app
    from tests.ports import free_port
    dead = f"http://127.0.0.1:{free_port()}"
    app = create_app(base_env(tmp_path, database_url, KAIROS_STRIPE_SECRET_KEY="sk_test_x",
                              KAIROS_STRIPE_PUBLISHABLE_KEY="pk_test_x", KAIROS_STRIPE_WEBHOOK_SECRET="whsec_x",
                              KAIROS_STRIPE_API_BASE=dead))
    try:
        from backend.services import experts
        with app.app_context():
            _, token = experts.create_expert(db.session, "jane", email="jane@example.com", name="Jane",
                                             timezone="Europe/Paris")
            db.session.commit()
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        weekly = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
        client.put("/api/v1/admin/availability", headers=headers,
                   json={"timezone": "Europe/Paris", "weekly": weekly, "overrides": []})
        paid_service(client, {"headers": headers})
        response = book(client, at(10))
        assert response.status_code == 201
        booking = response.get_json()["booking"]
        assert booking["status"] == "pending_payment"
        assert booking["payment"]["client_secret"] is None and booking["payment"]["pay_url"]
        response = client.post(pay_path(booking))
        assert response.status_code == 503 and response.get_json()["error"]["code"] == "payment_unavailable"
        assert held(client, at(10))
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_a_refund_stripe_could_not_take_is_sent_later(app, client, expert, stripe):
    from backend.payments.stripe_gateway import StripeGateway
    from tests.ports import free_port
    booking = _paid_booking(client, expert, stripe)
    working = app.extensions["kairos_stripe"]
    app.extensions["kairos_stripe"] = StripeGateway(working.secret_key, working.webhook_secret,
                                                    f"http://127.0.0.1:{free_port()}", timeout=2)
    response = client.post(f"/api/v1/manage/{token_of(booking)}/cancel", json={"reason": "Ill"})
    assert response.status_code == 200  # the cancellation never waits for Stripe
    [payment] = payments(app, booking["id"])
    assert payment.status == "succeeded" and "Refund not sent yet" in payment.last_error
    assert "refund_requested" in event_types(app, booking["id"])

    app.extensions["kairos_stripe"] = working  # Stripe is back: the next look at the booking sends it
    view = client.get(pay_path(booking)).get_json()["booking"]
    assert view["payment"]["status"] == "refunded"
    [payment] = payments(app, booking["id"])
    assert payment.status == "refunded" and payment.last_error is None
    assert len(stripe.get(f"/v1/refunds?payment_intent={payment.provider_payment_id}")["data"]) == 1


def test_an_idempotent_retry_of_the_booking_gets_a_live_client_secret(app, client, expert, stripe):
    paid_service(client, expert)
    body = {"start": at(10), "timezone": "Europe/Paris", "client": {"name": "Ann", "email": "ann@example.com"},
            "payment_option": "online"}
    headers = {"Idempotency-Key": "retry-1"}
    first = client.post("/api/v1/experts/jane/services/coaching/bookings", json=body, headers=headers)
    again = client.post("/api/v1/experts/jane/services/coaching/bookings", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    one, two = first.get_json()["booking"], again.get_json()["booking"]
    assert one["id"] == two["id"] and two["payment"]["client_secret"].startswith("seti_")
    assert two["payment"]["pay_url"] == one["payment"]["pay_url"]
    response = pay(client, two, set_up_card(stripe, two, CARD_OK))
    assert response.get_json()["booking"]["status"] == "confirmed"
    assert len(query(app, select(Booking))) == 1


def test_cancelling_while_3d_secure_is_pending_stops_the_payment(app, client, expert, stripe):
    paid_service(client, expert)
    start = at(10)
    booking = book(client, start).get_json()["booking"]
    waiting = pay(client, booking, set_up_card(stripe, booking, CARD_3DS)).get_json()["booking"]
    response = client.post(f"/api/v1/manage/{token_of(booking)}/cancel", json={"reason": "Changed my mind"})
    assert response.status_code == 200
    assert response.get_json()["booking"]["payment"]["status"] == "cancelled"
    intent = stripe.get(f"/v1/payment_intents/{waiting['payment']['payment_intent']}")
    assert intent["status"] == "canceled"
    assert [p.status for p in payments(app, booking["id"])] == ["cancelled"]
    assert not held(client, start)
    response = client.post(pay_path(booking))
    assert response.status_code == 403 and response.get_json()["error"]["reason"] == "cancelled"
