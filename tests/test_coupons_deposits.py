"""Coupons and deposits, on SQLite and PostgreSQL, charged through a real localstripe.

An expert makes a code; a client enters it and pays the lower price; a code runs out, expires or
applies to other services; 100 % off makes the booking free. A service asks a deposit: the client
pays it online, the booking is confirmed and shows what is still due until the expert records the rest.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from backend.extensions import db
from backend import worker
from backend.models import Coupon, OutboxMessage
from tests.stripe_fake import localstripe, stripe_app  # noqa: F401  (fixtures)
from tests.test_payments import (  # noqa: F401  (fixtures)
    CARD_OK,
    app,
    at,
    book,
    paid_service,
    pay,
    payments,
    set_up_card,
    stripe,
    token_of,
)


def make_coupon(client, expert, **body):
    response = client.post("/api/v1/admin/coupons", headers=expert["headers"], json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["coupon"]


def book_with(client, start, coupon, email="ann@example.com"):
    return client.post("/api/v1/experts/jane/services/coaching/bookings", json={
        "start": start, "timezone": "Europe/Paris", "client": {"name": "Ann Lee", "email": email},
        "payment_option": "online", "coupon": coupon})


def uses(app, code):
    with app.app_context():
        return db.session.scalar(select(Coupon.uses).where(Coupon.code == code))


def test_a_coupon_lowers_the_price_shown_and_charged(app, client, expert, stripe):
    paid_service(client, expert)
    make_coupon(client, expert, code="spring20", percent_off=20, max_uses=10)
    response = book_with(client, at(10), " Spring20 ")
    assert response.status_code == 201, response.get_json()
    booking = response.get_json()["booking"]
    assert booking["payment"]["amount"] == 4000 and booking["coupon"] == {"code": "SPRING20", "discount": 1000}
    paid = pay(client, booking, set_up_card(stripe, booking, CARD_OK)).get_json()["booking"]
    assert paid["status"] == "confirmed"
    [row] = payments(app, booking["id"])
    assert stripe.get(f"/v1/payment_intents/{row.provider_payment_id}")["amount"] == 4000
    assert uses(app, "SPRING20") == 1


def test_a_hundred_percent_coupon_makes_the_booking_free(app, client, expert, stripe):
    paid_service(client, expert)
    make_coupon(client, expert, code="FRIEND", percent_off=100)
    response = book_with(client, at(11), "friend")
    assert response.status_code == 201, response.get_json()
    booking = response.get_json()["booking"]
    assert booking["status"] == "confirmed" and booking["payment"] is None
    assert booking["coupon"] == {"code": "FRIEND", "discount": 5000}
    assert payments(app, booking["id"]) == []


def test_bad_expired_used_up_and_other_service_codes_are_refused_on_coupon(app, client, expert, stripe):
    paid_service(client, expert)
    past = (datetime.now(timezone.utc) - timedelta(days=1)).isoformat()
    make_coupon(client, expert, code="OLD", percent_off=10, expires_at=past)
    make_coupon(client, expert, code="ONCE", amount_off=500, currency="EUR", max_uses=1)
    make_coupon(client, expert, code="INTRO", percent_off=50, services=["intro-call"])
    make_coupon(client, expert, code="DOLLARS", amount_off=500, currency="usd")
    cases = {"NOPE": "This code is not valid.", "OLD": "This code has expired.",
             "INTRO": "This code does not apply to this service.", "DOLLARS": "This code does not apply to this service."}
    for code, message in cases.items():
        response = book_with(client, at(9), code)
        assert response.status_code == 422, (code, response.get_json())
        assert response.get_json()["error"]["fields"]["coupon"] == [message]
    first = book_with(client, at(9), "once")
    assert first.status_code == 201 and first.get_json()["booking"]["payment"]["amount"] == 4500
    second = book_with(client, at(14), "ONCE", email="bob@example.com")
    assert second.status_code == 422
    assert second.get_json()["error"]["fields"]["coupon"] == ["This code has been used up."]
    # A refused code loses nothing: the time is still free and bookable without it.
    assert book(client, at(14), email="bob@example.com").status_code == 201


def test_a_cancelled_booking_gives_its_use_back(app, client, expert, stripe):
    paid_service(client, expert)
    make_coupon(client, expert, code="ONE", percent_off=100, max_uses=1)
    booking = book_with(client, at(10), "ONE").get_json()["booking"]
    assert uses(app, "ONE") == 1
    assert client.post(f"/api/v1/manage/{token_of(booking)}/cancel", json={"reason": ""}).status_code == 200
    assert uses(app, "ONE") == 0
    assert book_with(client, at(11), "ONE", email="bob@example.com").status_code == 201


def test_the_expert_lists_and_deletes_coupons(app, client, expert, stripe):
    paid_service(client, expert)
    make_coupon(client, expert, code="A1", percent_off=10)
    twice = client.post("/api/v1/admin/coupons", headers=expert["headers"], json={"code": "a1", "percent_off": 5})
    assert twice.status_code == 422 and "code" in twice.get_json()["error"]["fields"]
    both = client.post("/api/v1/admin/coupons", headers=expert["headers"],
                       json={"code": "B", "percent_off": 5, "amount_off": 100, "currency": "eur"})
    assert both.status_code == 422
    unknown = client.post("/api/v1/admin/coupons", headers=expert["headers"],
                          json={"code": "C1", "percent_off": 5, "services": ["nope"]})
    assert unknown.get_json()["error"]["fields"]["services"] == ["You have no service 'nope'."]
    listed = client.get("/api/v1/admin/coupons", headers=expert["headers"]).get_json()["coupons"]
    assert [(c["code"], c["percent_off"], c["uses"], c["max_uses"]) for c in listed] == [("A1", 10, 0, None)]
    assert client.delete("/api/v1/admin/coupons/a1", headers=expert["headers"]).status_code == 204
    assert client.delete("/api/v1/admin/coupons/a1", headers=expert["headers"]).status_code == 404
    assert client.get("/api/v1/admin/coupons", headers=expert["headers"]).get_json()["coupons"] == []


# --- deposits ---------------------------------------------------------------------------------------

def test_a_deposit_booking_is_confirmed_on_the_deposit_and_shows_what_is_still_due(app, client, expert, stripe,
                                                                                     tmp_path):
    paid_service(client, expert, price={"amount": 10000, "currency": "eur"}, deposit={"amount": 3000, "currency": "EUR"})
    service = client.get("/api/v1/experts/jane/services/coaching").get_json()
    assert service["deposit"] == {"amount": 3000, "currency": "eur"}
    booking = book(client, at(10)).get_json()["booking"]
    assert booking["status"] == "pending_payment"
    assert (booking["payment"]["amount"], booking["payment"]["deposit"]) == (10000, 3000)
    paid = pay(client, booking, set_up_card(stripe, booking, CARD_OK)).get_json()["booking"]
    assert paid["status"] == "confirmed" and paid["payment"]["status"] == "paid"
    assert paid["payment"]["amount_due"] == 7000
    [row] = payments(app, booking["id"])
    assert stripe.get(f"/v1/payment_intents/{row.provider_payment_id}")["amount"] == 3000
    managed = client.get(f"/api/v1/manage/{token_of(booking)}").get_json()["booking"]
    assert managed["payment"]["amount_due"] == 7000
    # Within the reminder window the client is reminded of the rest, once, with the manage link.
    start = datetime.fromisoformat(paid["start"]).astimezone(timezone.utc)
    assert worker.schedule_reminders(app, start - timedelta(hours=12)) >= 1
    worker.schedule_reminders(app, start - timedelta(hours=11))
    with app.app_context():
        rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "balance_due")).all()
        assert [(r.payload["amount_due"], r.payload["to"]) for r in rows] == [(7000, "ann@example.com")]
    while worker.deliver_due(app):  # the reminder goes out after the confirmation to the same address
        pass
    mail = [p.read_text() for p in (tmp_path / "outbox").glob("*.eml") if "Still to pay" in p.read_text()]
    assert mail and "70.00 EUR" in mail[0] and "/manage/" in mail[0]
    confirmed = [p.read_text() for p in (tmp_path / "outbox").glob("*.eml") if "Subject: Confirmed" in p.read_text()]
    assert confirmed and "Still to pay: 70.00 EUR" in confirmed[0]
    # The dashboard shows what is still due and offers to record it.
    from tests.test_dashboard import sign_in
    assert sign_in(app, client).status_code == 302
    page = client.get("/dashboard").get_data(as_text=True)
    assert "70.00 EUR still due" in page and "Mark paid" in page
    # The expert records the rest, paid outside Kairos.
    response = client.post(f"/api/v1/admin/bookings/{booking['id']}/mark-paid", headers=expert["headers"],
                           json={"note": "cash on the day"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["booking"]["payment"]["amount_due"] == 0


def test_a_refund_gives_back_what_was_paid_the_deposit(app, client, expert, stripe):
    paid_service(client, expert, price={"amount": 10000, "currency": "eur"}, deposit={"amount": 3000, "currency": "eur"},
                 policy={"refund": "full", "cutoff_hours": 24})
    booking = book(client, at(10)).get_json()["booking"]
    pay(client, booking, set_up_card(stripe, booking, CARD_OK))
    response = client.post(f"/api/v1/manage/{token_of(booking)}/cancel", json={"reason": "Ill"})
    assert response.status_code == 200
    [row] = payments(app, booking["id"])
    assert row.status == "refunded" and row.refunded_amount == 3000


def test_a_deposit_must_be_less_than_the_price_and_paid_online(app, client, expert, stripe):
    body = {"slug": "x", "name": "X", "duration_minutes": 60, "price": {"amount": 5000, "currency": "eur"}}
    for deposit, options in (({"amount": 5000, "currency": "eur"}, ["online"]),
                             ({"amount": 1000, "currency": "usd"}, ["online"]),
                             ({"amount": 1000, "currency": "eur"}, ["outside"])):
        response = client.post("/api/v1/admin/services", headers=expert["headers"],
                               json={**body, "deposit": deposit, "payment_options": options})
        assert response.status_code == 422, response.get_json()
        assert "deposit" in response.get_json()["error"]["fields"]


def test_the_rest_of_a_deposit_is_paid_by_card_later_through_the_manage_link(app, client, expert, stripe):
    paid_service(client, expert, price={"amount": 10000, "currency": "eur"}, deposit={"amount": 3000, "currency": "eur"})
    booking = book(client, at(10)).get_json()["booking"]
    pay(client, booking, set_up_card(stripe, booking, CARD_OK))
    pay_path = f"/api/v1/manage/{token_of(booking)}/payment"
    started = client.post(pay_path)
    assert started.status_code == 200, started.get_json()
    rest = started.get_json()["booking"]
    assert rest["status"] == "confirmed" and rest["payment"]["amount_due"] == 7000
    assert rest["payment"]["client_secret"].startswith("seti_")
    done = pay(client, rest, set_up_card(stripe, rest, CARD_OK))
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["booking"]["payment"]["amount_due"] == 0
    amounts = sorted(stripe.get(f"/v1/payment_intents/{p.provider_payment_id}")["amount"]
                     for p in payments(app, booking["id"]))
    assert amounts == [3000, 7000]
    assert all(p.status == "succeeded" for p in payments(app, booking["id"]))  # nothing refunded as a duplicate
    # Nothing is left to pay: asking again changes nothing.
    again = client.post(pay_path).get_json()["booking"]
    assert "client_secret" not in again["payment"] and again["payment"]["amount_due"] == 0


def test_a_returning_client_s_saved_card_pays_the_deposit_not_the_whole_price(app, client, expert, stripe):
    from tests.test_client_auth import bearer, sign_in
    paid_service(client, expert, price={"amount": 10000, "currency": "eur"}, deposit={"amount": 3000, "currency": "eur"})
    first = book(client, at(10)).get_json()["booking"]
    pay(client, first, set_up_card(stripe, first, CARD_OK))  # her first booking keeps the card
    token = sign_in(client, app, "ann@example.com")
    [card] = client.get("/api/v1/experts/jane/client-auth/me", headers=bearer(token)).get_json()["cards"]

    # One click with the saved card, as with a card entered in the widget: the deposit now, the rest later.
    paid = client.post("/api/v1/experts/jane/services/coaching/bookings", headers=bearer(token), json={
        "start": at(10, weeks=2), "timezone": "Europe/Paris", "payment_option": "online", "card": card["id"]})
    assert paid.status_code == 201, paid.get_json()
    booking = paid.get_json()["booking"]
    assert booking["status"] == "confirmed" and booking["payment"]["status"] == "paid"
    assert booking["payment"]["amount_due"] == 7000
    [row] = payments(app, booking["id"])
    assert stripe.get(f"/v1/payment_intents/{row.provider_payment_id}")["amount"] == 3000
    assert row.amount == 3000
