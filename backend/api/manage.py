"""The manage link: a client views, cancels or reschedules one booking with its token."""
from __future__ import annotations

from flask import Response, current_app

from backend.api.blueprint import Blueprint
from backend.extensions import db
from backend.notifications import ics
from backend.payments import checkout
from backend.ratelimit import limit
from backend.schemas import BookingEnvelope, CancelInput, CompleteInput, ManageOut, RescheduleInput
from backend.services import bookings
from backend.services.bookings import completion
from backend.types import utcnow
from backend.views import bookings as views

blp = Blueprint("manage", __name__, url_prefix="/api/v1/manage", description="Manage one booking by its token")


def _url(token: str) -> str:
    return f"{current_app.config['KAIROS'].base_url}/manage/{token}"


@blp.route("/<token>")
@limit("manage", per_minute=60)
@blp.response(200, ManageOut)
def get_manage(token: str):
    """The booking and what its client may do now (``reason`` says why not)."""
    booking = bookings.find_by_token(db.session(), token)
    now = utcnow()
    view = views.manage_view(booking, bookings.permissions(booking, now), _url(token))
    return {**view, **completion.manage_fields(db.session(), booking, now)}


@blp.route("/<token>/complete", methods=["POST"])
@limit("manage", per_minute=60)
@blp.arguments(CompleteInput)
@blp.response(200, BookingEnvelope)
@blp.alt_response(403, description="not_allowed: not_pending, lapsed or past")
@blp.alt_response(422, description="validation_error: missing answers, phone or payment option")
def complete(data: dict, token: str):
    """Complete a pending session the expert set up: answers, payment option, phone and message.

    Free, package and (when the expert's setting confirms it) outside: ``confirmed``. Online:
    ``pending_payment`` with the ``payment`` block of a widget booking, paid through ``…/payment``.
    """
    booking = bookings.find_by_token(db.session(), token)
    booking = completion.complete(db.session(), booking, completion.Completion(**data), now=utcnow())
    db.session.commit()
    body = {"booking": views.booking_view(booking, manage_url=_url(token))}
    return checkout.after_booking_created(db.session(), booking, body)  # the card setup, after the commit


@blp.route("/<token>/booking.ics")
@limit("manage", per_minute=60)
@blp.response(200, content_type="text/calendar", description="The booking as an iCalendar file (RFC 5545)")
def booking_ics(token: str) -> Response:
    """The booking as an .ics file for the client's calendar app, built as the emails' invitations are."""
    booking = bookings.find_by_token(db.session(), token)
    body = ics.booking_file(booking, manage_url=_url(token))
    return Response(body, mimetype="text/calendar", headers={
        "Content-Disposition": f'attachment; filename="{booking.service.slug}.ics"',
        "Cache-Control": "private, no-store",  # the file carries the manage link
        "X-Robots-Tag": "noindex",
    })


@blp.route("/<token>/cancel", methods=["POST"])
@limit("manage", per_minute=60)
@blp.arguments(CancelInput)
@blp.response(200, BookingEnvelope)
@blp.alt_response(403, description="not_allowed, with a reason")
def cancel(data: dict, token: str):
    """Cancel the booking, with an optional message for the expert."""
    booking = bookings.find_by_token(db.session(), token)
    booking = bookings.cancel_booking(db.session(), booking, actor="client", reason=data["reason"], now=utcnow())
    db.session.commit()
    checkout.after_booking_cancelled(db.session(), booking)  # refunds sent to Stripe, outside the lock
    return {"booking": views.booking_view(booking, manage_url=_url(token))}


@blp.route("/<token>/reschedule", methods=["POST"])
@limit("manage", per_minute=60)
@blp.arguments(RescheduleInput)
@blp.response(200, BookingEnvelope)
@blp.alt_response(403, description="not_allowed, with a reason")
@blp.alt_response(409, description="slot_unavailable")
def reschedule(data: dict, token: str):
    """Move the booking to another time of the same service."""
    booking = bookings.find_by_token(db.session(), token)
    booking = bookings.reschedule_booking(db.session(), booking, start=data.get("start"), session_id=data.get("session"),
                                          timezone=data["timezone"], actor="client", now=utcnow())
    db.session.commit()
    return {"booking": views.booking_view(booking, manage_url=_url(token))}
