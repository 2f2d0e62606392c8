"""Card payments around a booking's transaction: what happens with Stripe once it has committed.

Each function here is its own unit of work, called after the booking's transaction committed and
so never while the expert's lock is held.
"""
from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from backend.models import Booking
from backend.payments import online, refunds
from backend.payments.stripe_gateway import ProviderUnavailable, enabled, stripe_js_config
from backend.transactions import end_unit
from backend.views.payments import pay_links, payment_view

log = logging.getLogger("kairos.payments")


def after_booking_created(db: Session, booking: Booking, body: dict[str, Any]) -> dict[str, Any]:
    """After the booking's transaction committed: start the card payment of an online booking.

    Returns the response body with what the widget needs for Stripe.js in ``booking.payment``.
    If Stripe cannot be reached the booking stays held and ``client_secret`` is null: the widget
    asks again with ``POST …/payment`` (``pay_url``).
    """
    if booking.payment_option != "online" or booking.status != "pending_payment":
        return body
    body = {**body, "booking": {**body["booking"]}}
    payment = dict(body["booking"].get("payment") or {})
    payment.update(pay_links(body["booking"].get("manage_url")))
    try:
        payment.update(online.start_card_setup(db, booking))
    except ProviderUnavailable:
        log.warning("card setup for %s deferred: Stripe unreachable", booking.id)
        payment.update({"client_secret": None, **(stripe_js_config() or {})})
    body["booking"]["payment"] = payment
    return body


def after_booking(db: Session, found: tuple[int, dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    """After ``create_booking``'s unit committed: an online booking's answer (new, or replayed for the
    same Idempotency-Key) with its card setup started and a live client secret (never stored)."""
    status, body = found
    view = body.get("booking") or {}
    if status != 201 or (view.get("payment") or {}).get("option") != "online":
        return found  # nothing to read back: only an online booking's answer needs live data
    booking = db.get(Booking, view.get("id"))  # as it is now (the client secret is never stored)
    if booking is None or booking.payment_option != "online":
        return found
    view = dict(body["booking"])
    view["status"], view["payment"] = booking.status, payment_view(booking)
    return status, after_booking_created(db, booking, {**body, "booking": view})


def after_booking_cancelled(db: Session, booking: Booking) -> None:
    """After the cancellation committed: send the refunds to Stripe, stop intents in flight."""
    if booking.payment_option != "online" or not enabled():
        return
    booking_id = booking.id
    refunds.perform_pending(db, booking_id)
    online.cancel_open_intents(db, booking_id)
    end_unit(db)
