"""The dashboard's booking page of a deposit booking: the deposit and whether it was paid, what was
paid so far and the balance still due, until the expert records the rest (paid through localstripe)."""
from __future__ import annotations

import html
import re

from tests.stripe_fake import localstripe, stripe_app  # noqa: F401  (fixtures)
from tests.test_dashboard import sign_in
from tests.test_payments import (  # noqa: F401  (fixtures)
    CARD_OK,
    app,
    at,
    book,
    paid_service,
    pay,
    set_up_card,
    stripe,
)


def test_the_booking_page_shows_the_deposit_paid_and_the_balance_due(app, client, expert, stripe):
    paid_service(client, expert, price={"amount": 10000, "currency": "eur"}, deposit={"amount": 3000, "currency": "eur"})
    booking = book(client, at(10)).get_json()["booking"]
    pay(client, booking, set_up_card(stripe, booking, CARD_OK))
    assert sign_in(app, client).status_code == 302
    page = html.unescape(client.get(f"/dashboard/bookings/{booking['id']}").text)
    assert re.search(r"<dt>Deposit</dt><dd><span class=\"val\">30.00 EUR · paid", page)
    assert re.search(r"<dt>Paid so far</dt><dd><span class=\"val\">30.00 EUR", page)
    assert re.search(r"<dt>Balance due</dt><dd><span class=\"val\"><strong>70.00 EUR</strong>", page)
    client.post(f"/api/v1/admin/bookings/{booking['id']}/mark-paid", headers=expert["headers"], json={"note": "cash"})
    page = html.unescape(client.get(f"/dashboard/bookings/{booking['id']}").text)
    assert "<dt>Balance due</dt><dd><span class=\"val\">Nothing: paid in full" in page
