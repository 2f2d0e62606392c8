"""Payments: online (Stripe), outside Kairos, package credits, refunds.

``backend.services.bookings`` calls the hooks below at fixed points of a booking's life;
everything that talks to Stripe happens after the booking's transaction commits, never while
the expert's lock is held. Only ``stripe_gateway`` imports the ``stripe`` SDK.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, object_session

from backend.models import Booking, ClientPackage, Service

log = logging.getLogger("kairos.payments")

# --- hooks called by backend.services.bookings --------------------------------------------------


def initial_status(service: Service, payment_option: str | None) -> str:
    """The status a new widget booking starts in, by how it is paid."""
    if payment_option == "online":
        from backend.payments.stripe_gateway import enabled
        if not enabled():  # the keys were removed after the service was set up: never hold unpayable
            from backend.errors import NotAllowed
            raise NotAllowed("online_unavailable", "Paying online is not available right now. "
                                                   "Please choose another way to pay or contact the expert.")
        return "pending_payment"
    if payment_option == "outside":
        return "pending" if service.outside_payment_status == "pending" else "confirmed"
    return "confirmed"  # free, or a package credit (taken in ``on_booking_created``)


def on_booking_created(db: Session, booking: Booking, now: datetime) -> None:
    """Inside the booking's transaction, under the expert's lock: spend a package credit."""
    if booking.payment_option == "package":
        from backend.payments import packages
        packages.take_credit(db, booking, now)


def after_booking_created(db: Session, booking: Booking, body: dict[str, Any]) -> dict[str, Any]:
    """After the booking's transaction committed: start the card payment of an online booking.

    Returns the response body with what the widget needs for Stripe.js in ``booking.payment``.
    If Stripe cannot be reached the booking stays held and ``client_secret`` is null: the widget
    asks again with ``POST …/payment`` (``pay_url``).
    """
    if booking.payment_option != "online" or booking.status != "pending_payment":
        return body
    from backend.payments import online
    from backend.payments.stripe_gateway import ProviderUnavailable, stripe_js_config
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


def after_replay(db: Session, found: tuple[int, dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    """An idempotent replay of a booking: the stored answer, with a live client secret again."""
    status, body = found
    booking_id = (body.get("booking") or {}).get("id")
    booking = db.get(Booking, booking_id) if booking_id else None
    if booking is None or status != 201 or booking.payment_option != "online":
        return found  # only an online booking's answer needs live data (the client secret is never stored)
    view = dict(body["booking"])
    from backend.services.bookings import payment_view
    view["status"], view["payment"] = booking.status, payment_view(booking)
    return status, after_booking_created(db, booking, {**body, "booking": view})


def on_booking_cancelled(db: Session, booking: Booking, *, actor: str) -> None:
    """Inside the cancellation's transaction: give a package credit back, write refunds to make."""
    from backend.payments import packages, refunds
    packages.return_credit(db, booking, actor=actor)
    refunds.plan_on_cancel(db, booking, actor=actor)


def after_booking_cancelled(db: Session, booking: Booking) -> None:
    """After the cancellation committed: send the refunds to Stripe, stop intents in flight."""
    if booking.payment_option != "online":
        return
    from backend.payments import online, refunds
    from backend.payments.stripe_gateway import enabled
    if not enabled():
        return
    booking_id = booking.id
    refunds.perform_pending(db, booking_id)
    online.cancel_open_intents(db, booking_id)
    db.commit()


def pay_links(manage_url: str | None) -> dict[str, str]:
    """The payment endpoints of a booking, from its manage link (the token is the only key)."""
    if not manage_url or "/manage/" not in manage_url:
        return {}
    base, token = manage_url.rsplit("/manage/", 1)
    return {"pay_url": f"{base}/api/v1/manage/{token}/payment"}


# --- the view -----------------------------------------------------------------------------------

def payment_view(booking: Booking) -> dict[str, Any] | None:
    """``booking.payment`` as clients and experts see it (API.md), from the payments recorded."""
    option = booking.payment_option
    if not option:
        return None
    from backend.payments import ledger
    from backend.timeutil import iso_in
    db = object_session(booking)
    view: dict[str, Any] = {"option": option, "amount": booking.price_amount, "currency": booking.price_currency}
    if option == "package":
        returned = db is not None and bool(ledger.events(db, booking.id, "credit_returned"))
        view["status"] = "credit_returned" if returned else "credit_used"
        package = db.get(ClientPackage, booking.client_package_id) if db and booking.client_package_id else None
        if package is not None:
            view["package"] = {"name": package.name, "credits_left": package.credits_total - package.credits_used}
        return view
    payments = ledger.payments_of(db, booking.id) if db is not None else []
    paid = [p for p in payments if p.status in ("succeeded", "refunded")]
    refunded = sum(p.refunded_amount or 0 for p in paid)
    if paid:
        view["status"] = "paid" if any(p.status == "succeeded" for p in paid) else "refunded"
        if refunded:
            view["refunded_amount"] = refunded
    elif option == "outside":
        view["status"] = "pay_outside"
    elif booking.status == "pending_payment":
        latest = payments[-1] if payments else None
        view["status"] = "processing" if latest is not None and latest.status == "processing" else "requires_payment"
        if latest is not None and latest.status == "failed" and latest.last_error:
            view["last_error"] = latest.last_error
    elif booking.status == "confirmed":
        view["status"] = "waived"  # the expert confirmed it by hand
    elif booking.status == "cancelled":
        view["status"] = "cancelled"
    else:
        view["status"] = "requires_payment"
    if option == "outside":
        view["instructions"] = booking.service.outside_payment_instructions
    if booking.status == "pending_payment" and booking.hold_expires_at:
        view["hold_expires_at"] = iso_in(booking.hold_expires_at, booking.timezone)
    return view
