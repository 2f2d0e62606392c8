"""Fault: Stripe goes down at the moment Kairos charges a card.

A real localstripe, the real stripe SDK and app, served over HTTP so localstripe's signed webhooks
reach it. Kairos reaches Stripe through ``StripeLink`` (tests/faults.py), whose port stops answering at
the charge call, as a stopped Stripe's would, then answers again on the same port.

Two moments: Stripe gone before the charge reaches it (nothing charged), and Stripe gone right after
it charged (the answer lost; its webhook still tells Kairos). Either way the client is told with a
503 ``payment_unavailable``, the time stays held for them, trying again once Stripe is back
succeeds, and localstripe holds exactly one charge for exactly one booking.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from tests.conftest import base_env
from tests.faults import StripeLink
from tests.stripe_fake import free_port, localstripe, serve, wait_for  # noqa: F401  (fixtures)
from tests.test_payments import (
    CARD_OK,
    at,
    book,
    booking_row,
    event_types,
    held,
    paid_service,
    pay,
    pay_path,
    payments,
    query,
    set_up_card,
)


@pytest.fixture
def link(localstripe):
    path = StripeLink(localstripe.url).up()
    yield path
    path.down()


@pytest.fixture
def app(database_url, tmp_path, localstripe, link):
    """The app, reaching Stripe through ``link``; localstripe's webhooks come to it directly."""
    from backend import create_app
    from backend.extensions import db
    secret = "whsec_" + secrets.token_hex(16)
    app = create_app(base_env(tmp_path, database_url,
                              **{**localstripe.app_env(secret), "KAIROS_STRIPE_API_BASE": link.url}))
    app.config["TESTING"] = True
    with serve(app) as url:
        localstripe.register_webhook(f"{url}/api/v1/payments/stripe/webhook", secret)
        yield app
        localstripe.register_webhook(f"http://127.0.0.1:{free_port()}/gone", secret)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _charges(localstripe, booking_id: str) -> tuple[list[dict], list[dict]]:
    """The booking's PaymentIntents and the charges of its client, as localstripe has them."""
    intents = [i for i in localstripe.get("/v1/payment_intents?limit=100")["data"]
               if (i.get("metadata") or {}).get("kairos_booking") == booking_id]
    customers = {i["customer"] for i in intents}
    charges = [c for customer in customers
               for c in localstripe.get(f"/v1/charges?customer={customer}&limit=100")["data"]]
    return intents, charges


@pytest.mark.parametrize("moment", ["before_the_charge", "after_the_charge"])
def test_stripe_down_during_the_payment_keeps_the_hold_and_a_retry_charges_once(
        app, client, expert, localstripe, link, moment):
    from backend.models import Booking, OutboxMessage, ProcessedEvent
    paid_service(client, expert)
    start = at(10)
    created = book(client, start)
    assert created.status_code == 201, created.get_json()
    booking = created.get_json()["booking"]
    hold_until = booking_row(app, booking["id"]).hold_expires_at
    setup = set_up_card(localstripe, booking, CARD_OK)  # in the browser: Stripe.js talks to Stripe itself

    link.cut("POST", "/v1/payment_intents", after_stripe=moment == "after_the_charge")
    refused = pay(client, booking, setup)

    # The client is told, in the one error envelope, and may try again.
    assert link.cut_requests == [("POST", "/v1/payment_intents")]
    assert refused.status_code == 503, refused.get_json()
    error = refused.get_json()["error"]
    assert error["code"] == "payment_unavailable" and "try again" in error["message"]
    # The hold is kept: the time is the client's for the hold period, offered to nobody else.
    row = booking_row(app, booking["id"])
    if row.status == "pending_payment":
        assert row.hold_expires_at == hold_until and hold_until > datetime.now(timezone.utc)
    else:  # Stripe's webhook of the charge already confirmed it: the time is the client's booking
        assert moment == "after_the_charge" and row.status == "confirmed", row.status
    assert held(client, start)
    other = book(client, start, email="bob@example.com", name="Bob Roe")
    assert other.status_code == 409 and other.get_json()["error"]["code"] == "slot_unavailable"
    intents, _ = _charges(localstripe, booking["id"])
    if moment == "before_the_charge":
        assert intents == []  # nothing reached Stripe
        # The widget's status check while Stripe is away shows what Kairos knows: still to pay.
        view = client.get(pay_path(booking)).get_json()["booking"]
        assert view["status"] == "pending_payment"
    else:
        assert [i["status"] for i in intents] == ["succeeded"]  # charged; only the answer was lost
        # Stripe's signed webhook (it does not come through the link) confirms the booking.
        wait_for(lambda: booking_row(app, booking["id"]).status == "confirmed", timeout=120)

    link.up()  # Stripe is back, on the same address
    again = pay(client, booking, setup)  # the client presses Pay again
    assert again.status_code == 200, again.get_json()
    paid = again.get_json()["booking"]
    assert paid["status"] == "confirmed" and paid["payment"]["status"] == "paid"

    # Exactly one charge, one booking, one confirmation.
    intents, charges = _charges(localstripe, booking["id"])
    assert [(i["status"], i["amount"]) for i in intents] == [("succeeded", 5000)], intents
    assert len(charges) == 1 and charges[0]["amount"] == 5000 and charges[0]["status"] == "succeeded", charges
    wait_for(lambda: query(app, select(ProcessedEvent)), timeout=120)  # Stripe's webhook came too: no effect
    assert [p.status for p in payments(app, booking["id"])] == ["succeeded"]
    assert event_types(app, booking["id"]).count("paid") == 1
    assert len(query(app, select(Booking))) == 1
    confirmations = [m for m in query(app, select(OutboxMessage).where(OutboxMessage.topic == "booking_confirmed"))
                     if m.payload.get("booking_id") == booking["id"]]
    assert len(confirmations) == 1
    assert held(client, start)
