"""The client's side of a session the expert set up: completing it through the manage link.

A session the expert sets up (``bookings.create_expert_booking``) is ``pending`` and keeps its time
reserved. Its client opens the link, answers the service's questions, chooses how to pay and
completes it (``complete``): free, a package credit or payment outside Kairos (when the expert's
setting confirms it) turn it ``confirmed`` at once; a card payment turns it ``pending_payment``
with no hold (the time stays reserved, see ``slots.blocking_clause``) and the existing payment path
confirms it exactly once. Everything is decided under the expert's lock, so a completion racing the
expert's own confirmation or cancellation has one winner. An offer may lapse (``expires_at``): its
link then says so and its time is free again.

Services here flush; the route commits, then starts a card payment (``payments.checkout``, never
under the lock).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend import notifications
from backend.errors import NotAllowed, SlotUnavailable, ValidationError
from backend.models import Booking, BookingEvent
from backend.payments import ledger, options
from backend.services.bookings.requests import answer_errors
from backend.services.leads import touch_lead
from backend.services.locking import lock_expert
from backend.statuses import BookingStatus
from backend.timeutil import iso_utc

REASON_TEXT = {
    "not_pending": "This booking is not waiting to be completed any more.",
    "lapsed": "This offer has lapsed and the time is no longer reserved for you. Please contact the expert.",
    "past": "This session has already taken place.",
}


@dataclass(frozen=True)
class Completion:
    """What the client sends: answers to the questions, how they pay, a phone number and a message."""

    answers: dict[str, Any]
    payment_option: str | None
    phone: str | None
    message: str
    timezone: str | None = None  # the client's zone, for their emails and calendar file


def lapsed(booking: Booking, now: datetime) -> bool:
    """True when the pending offer's ``expires_at`` has passed (its time is free again)."""
    return booking.status == BookingStatus.PENDING and booking.expires_at is not None and booking.expires_at <= now


def completed(db: Session, booking: Booking) -> bool:
    """True once the client has completed the session (it may still await a payment outside Kairos)."""
    return db.scalar(select(BookingEvent.id).where(BookingEvent.booking_id == booking.id,
                                                   BookingEvent.type == "completed").limit(1)) is not None


def refusal(db: Session, booking: Booking, now: datetime) -> str | None:
    """Why the client cannot complete ``booking`` now (a reason of API.md), or None when they can."""
    if booking.status != BookingStatus.PENDING or booking.source != "expert" or completed(db, booking):
        return "not_pending"
    if lapsed(booking, now):
        return "lapsed"
    if booking.start <= now:
        return "past"
    return None


def payment_options(booking: Booking) -> list[str]:
    """How the client may pay: a one-off's own options, else the service's; none when it is free."""
    if not booking.price_amount:
        return []
    offered = booking.offered_payment_options
    return list(offered if offered is not None else booking.service.payment_options or [])


def manage_fields(db: Session, booking: Booking, now: datetime) -> dict[str, Any]:
    """The manage view's completion part (API.md): ``can_complete``, and ``completion`` while it is open.

    A lapsed offer can no longer be cancelled or moved either: its reason becomes ``lapsed``.
    """
    why = refusal(db, booking, now)
    fields: dict[str, Any] = {"can_complete": why is None}
    if why is None:
        service = booking.service
        price = {"amount": booking.price_amount, "currency": booking.price_currency} if booking.price_amount else None
        fields["completion"] = {
            "questions": list(service.questions or []), "payment_options": payment_options(booking),
            "price": price, "phone": service.phone, "message": bool(service.message),
            "outside_payment_instructions": service.outside_payment_instructions or None,
        }
    elif why == "lapsed":
        fields.update(can_cancel=False, can_reschedule=False, reason="lapsed", reason_text=REASON_TEXT["lapsed"])
    return fields


def _refuse_if_closed(db: Session, booking: Booking, now: datetime) -> None:
    why = refusal(db, booking, now)
    if why is not None:
        raise NotAllowed(why, REASON_TEXT[why])


def _validated(booking: Booking, data: Completion) -> Completion:
    """``data`` checked against what the session asks; ValidationError (422 with ``fields``) otherwise."""
    service = booking.service
    errors = answer_errors(service.questions, data.answers)
    phone = None if service.phone == "hidden" else data.phone
    if service.phone == "required" and not (phone or booking.client.phone):
        errors["phone"] = ["Enter a phone number."]
    options = payment_options(booking)
    option = data.payment_option
    if options:
        if option is None and len(options) == 1:
            option = options[0]
        if option not in options:
            errors["payment_option"] = [f"Choose one of: {', '.join(options)}."]
    elif option is not None:
        errors["payment_option"] = ["This session is free: send no payment option."]
    if errors:
        raise ValidationError(fields=errors)
    return Completion(answers=dict(data.answers), payment_option=option, phone=phone,
                      message=data.message if service.message else "", timezone=data.timezone)


def complete(db: Session, booking: Booking, data: Completion, *, now: datetime) -> Booking:
    """The client completes the pending session ``booking``; returns it ``confirmed``,
    ``pending_payment`` (a card payment to make, time still reserved) or ``pending`` (paid outside
    Kairos when the expert confirms such payments by hand).

    Raises NotAllowed ``not_pending`` / ``lapsed`` / ``past``, ValidationError for missing or bad
    answers, SlotUnavailable when a lapsed offer's time was taken meanwhile. Flushes; the caller commits.
    """
    _refuse_if_closed(db, booking, now)  # before validating: a second completion is told so, not 422
    data = _validated(booking, data)
    lock_expert(db, booking.expert_id)
    db.refresh(booking)  # the expert may have confirmed or cancelled it while we waited for the lock
    _refuse_if_closed(db, booking, now)
    service = booking.service
    status = options.initial_status(service, data.payment_option)
    booking.answers = data.answers
    booking.message = data.message
    booking.payment_option = data.payment_option
    booking.status = status
    booking.hold_expires_at = None  # reserved by the expert: no countdown, even while paying by card
    if data.timezone:
        booking.timezone = data.timezone
    if data.phone and not booking.client.phone:
        booking.client.phone = data.phone
    db.add(BookingEvent(booking_id=booking.id, type="completed", actor="client", message=data.message or None,
                        data={"status": status, "payment_option": data.payment_option, "at": iso_utc(now)}))
    db.flush()
    options.on_created(db, booking, now)  # a package credit, under the same lock
    touch_lead(db, booking.expert, booking.client, service, booked=status == BookingStatus.CONFIRMED)
    if status == BookingStatus.CONFIRMED:
        notifications.booking_event(db, booking, "confirmed", actor="client", message=data.message or None)
    db.flush()
    return booking


def reopen(db: Session, booking: Booking, *, expires_at: datetime | None, now: datetime) -> Booking:
    """Before sharing a pending session again: give the offer its new expiry (None: none).

    A lapsed offer's time was free meanwhile: it is reserved again only if nobody took it
    (SlotUnavailable otherwise). Flushes; the caller commits.
    """
    if expires_at is not None and not now < expires_at <= booking.start:
        raise ValidationError(fields={"expires_at": ["Choose a time after now and no later than the session."]})
    lock_expert(db, booking.expert_id)
    db.refresh(booking)
    if booking.status != BookingStatus.PENDING:
        raise NotAllowed("not_pending", "Only a pending session can be shared.")
    if lapsed(booking, now) and not ledger.time_still_free(db, booking, now):
        raise SlotUnavailable("Since the offer lapsed, that time was booked. Set up the session at another time.")
    booking.expires_at = expires_at
    db.flush()
    return booking

