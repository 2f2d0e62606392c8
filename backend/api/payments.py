"""Payment endpoints: Stripe's webhook, paying a booking from the widget, outside payments, packages.

Paying goes through the booking's manage token (the only key a client holds):

- ``POST /api/v1/manage/{token}/payment``: a fresh SetupIntent client secret for Stripe.js.
- ``POST /api/v1/manage/{token}/payment/confirm`` ``{"setup_intent": "seti_…"}``: charge the card.
- ``GET  /api/v1/manage/{token}/payment``: the status, checked with Stripe (when the widget returns).
"""
from __future__ import annotations

from typing import Any

from flask import current_app, request

from backend.api.auth import current_expert, login_required
from backend.api.blueprint import Blueprint
from backend.extensions import db
from backend.models import Client, ClientPackage
from backend.payments import online, outside, packages, stripe_gateway, webhooks
from backend.ratelimit import limit
from backend.schemas import BookingEnvelope
from backend.schemas.payments import (
    MarkPaidInput,
    PackageEnvelope,
    PackageGrantForEmailInput,
    PackageGrantInput,
    PackagesEnvelope,
    PayConfirmInput,
    WebhookAck,
)
from backend.services import bookings, clients
from backend.types import utcnow
from backend.views import bookings as views
from backend.views.payments import pay_links

blp = Blueprint("payments", __name__, url_prefix="/api/v1",
                description="Payments: Stripe webhook, paying a booking, outside payments, packages")


def _manage_url(token: str) -> str:
    return f"{current_app.config['KAIROS'].base_url}/manage/{token}"


def _booking_out(booking, token: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    view = views.booking_view(booking, manage_url=_manage_url(token))
    if view.get("payment") is not None:
        payment = {**view["payment"], **pay_links(view["manage_url"])}
        if booking.status == "pending_payment" or online.balance_open(booking):
            payment.update(stripe_gateway.stripe_js_config() or {})
            payment.update(extra or {})
        view["payment"] = payment
    return {"booking": view}


# --- Stripe's webhook ---------------------------------------------------------------------------

@blp.route("/payments/stripe/webhook", methods=["POST"])
@blp.response(200, WebhookAck)
@blp.alt_response(400, description="invalid_signature: missing or wrong Stripe-Signature")
def stripe_webhook():
    """Stripe's signed events (payment_intent.*, charge.refunded). A bad signature is a 400."""
    event = stripe_gateway.webhook_gateway().verify_event(request.get_data(cache=False),
                                                          request.headers.get("Stripe-Signature"))
    outcome = webhooks.handle(db.session(), event, utcnow())
    return {"received": True, "outcome": outcome}


# --- paying a booking (the widget) --------------------------------------------------------------

@blp.route("/manage/<token>/payment")
@limit("manage", per_minute=60)
@blp.response(200, BookingEnvelope)
def payment_status(token: str):
    """The booking and its payment, after asking Stripe about any payment still in flight.

    While 3-D Secure is pending, ``payment.status`` is ``requires_action`` with the
    ``client_secret`` for ``stripe.confirmCardPayment``.
    """
    booking = bookings.find_by_token(db.session(), token)
    extra: dict[str, Any] = {}
    if booking.payment_option == "online" and stripe_gateway.enabled():
        try:
            extra = online.refresh_booking(db.session(), booking, utcnow())
        except stripe_gateway.ProviderUnavailable:
            db.session.rollback()  # show what we know; the webhook will bring the rest
    return _booking_out(booking, token, extra)


@blp.route("/manage/<token>/payment", methods=["POST"])
@limit("manage", per_minute=60)
@blp.response(200, BookingEnvelope)
@blp.alt_response(403, description="not_allowed: not an online booking, or cancelled")
@blp.alt_response(503, description="payment_unavailable: Stripe could not be reached")
def payment_start(token: str):
    """A fresh card setup (SetupIntent ``client_secret``) for paying the booking with Stripe.js."""
    booking = bookings.find_by_token(db.session(), token)
    if booking.payment_option == "online" and booking.status == "confirmed" and not online.balance_open(booking):
        return _booking_out(booking, token)
    extra = online.start_card_setup(db.session(), booking)
    return _booking_out(booking, token, extra)


@blp.route("/manage/<token>/payment/confirm", methods=["POST"])
@limit("manage", per_minute=60)
@blp.arguments(PayConfirmInput)
@blp.response(200, BookingEnvelope)
@blp.alt_response(402, description="payment_failed: the card was declined (Stripe's message); the hold stays")
@blp.alt_response(409, description="slot_unavailable: the hold expired and the time was taken (nothing charged)")
def payment_confirm(data: dict, token: str):
    """Pay with the card of the confirmed SetupIntent: ``confirmed``, or ``requires_action`` (3-D Secure)."""
    booking = bookings.find_by_token(db.session(), token)
    extra = online.pay_with_setup_intent(db.session(), booking, data["setup_intent"], utcnow())
    db.session.refresh(booking)
    return _booking_out(booking, token, extra)


# --- the expert: outside payments and packages --------------------------------------------------

@blp.route("/admin/bookings/<booking_id>/mark-paid", methods=["POST"])
@login_required
@blp.arguments(MarkPaidInput)
@blp.response(200, BookingEnvelope)
@blp.alt_response(403, description="not_allowed: not paid outside, or cancelled")
def mark_paid(data: dict, booking_id: str):
    """Record that a booking paid outside Kairos was paid; a pending one turns confirmed."""
    expert = current_expert()
    booking = outside.mark_paid(db.session(), bookings.get_booking(db.session(), expert, booking_id), note=data["note"])
    db.session.commit()
    return {"booking": views.booking_view(booking, tz=expert.timezone)}


def _package_out(package: ClientPackage, client: Client) -> dict[str, Any]:
    view = packages.package_view(db.session(), package)
    view["client"] = {"id": client.id, "name": client.name, "email": client.email}
    return view


@blp.route("/admin/clients/<id:client_id>/packages")
@login_required
@blp.response(200, PackagesEnvelope)
def list_packages(client_id: int):
    """The client's packages and credits left."""
    expert = current_expert()
    client = clients.get_client(db.session(), expert, client_id)
    return {"packages": [_package_out(p, client) for p in packages.of_client(db.session(), expert, client)]}


@blp.route("/admin/clients/<id:client_id>/packages", methods=["POST"])
@login_required
@blp.arguments(PackageGrantInput)
@blp.response(201, PackageEnvelope)
def grant_package(data: dict, client_id: int):
    """Grant a client session credits for some services (``services`` empty: all of them)."""
    expert = current_expert()
    client = clients.get_client(db.session(), expert, client_id)
    package = packages.grant(db.session(), expert, client, name=data["name"], service_slugs=data["services"],
                             credits=data["credits"], expires_at=data["expires_at"])
    db.session.commit()
    return {"package": _package_out(package, client)}


@blp.route("/admin/packages", methods=["POST"])
@login_required
@blp.arguments(PackageGrantForEmailInput)
@blp.response(201, PackageEnvelope)
def grant_package_by_email(data: dict):
    """Grant credits to a client known by email; someone who never booked becomes a client."""
    expert = current_expert()
    email = data["client"]["email"].strip()
    client = clients.find_or_create_client(db.session(), expert, data["client"]["name"] or email.split("@")[0],
                                            email, None)
    package = packages.grant(db.session(), expert, client, name=data["name"], service_slugs=data["services"],
                             credits=data["credits"], expires_at=data["expires_at"])
    db.session.commit()
    return {"package": _package_out(package, client)}
