"""Shared bookkeeping of the payments package: locking a booking, its history, its payments.

The booking's history (``BookingEvent``) is the ledger of what was applied: a ``paid`` event
names the payment that paid the booking, ``refund_requested`` and ``refunded`` events name
the payment to give back. Reading them under the expert's lock makes every step happen once,
whether it comes from the webhook, the widget's status check or a retry.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.models import Booking, BookingEvent, Payment
from backend.services import slots
from backend.services.locking import lock_expert
from backend.transactions import end_unit

#: Payment statuses in the only order they may move (a late or repeated event never moves one back).
RANK = {"requires_payment": 0, "processing": 1, "failed": 2, "cancelled": 2, "succeeded": 3, "refunded": 4}

#: Stripe PaymentIntent status -> Payment.status.
INTENT_STATUS = {
    "requires_payment_method": "failed",  # our intents always carry a card: this means it failed
    "requires_confirmation": "requires_payment",
    "requires_action": "requires_payment",
    "processing": "processing",
    "requires_capture": "processing",
    "succeeded": "succeeded",
    "canceled": "cancelled",
}


def lock_booking(db: Session, booking_id: str) -> Booking:
    """Start a fresh transaction holding the booking's expert lock; return the booking re-read."""
    end_unit(db)  # the lock must be the transaction's first write (see bookings.lock_expert)
    expert_id = db.scalar(select(Booking.expert_id).where(Booking.id == booking_id))
    if expert_id is None:
        raise LookupError(booking_id)
    lock_expert(db, expert_id)
    booking = db.get(Booking, booking_id)
    if booking is None:  # never: its row was just read, and bookings are not deleted
        raise LookupError(booking_id)
    db.refresh(booking)
    return booking


def events(db: Session, booking_id: str, *types: str) -> list[BookingEvent]:
    query = select(BookingEvent).where(BookingEvent.booking_id == booking_id)
    if types:
        query = query.where(BookingEvent.type.in_(types))
    return list(db.scalars(query.order_by(BookingEvent.id)))


def payments_of(db: Session, booking_id: str) -> list[Payment]:
    return list(db.scalars(select(Payment).where(Payment.booking_id == booking_id)
                           .order_by(Payment.created_at, Payment.id)))


def applied_payment_ids(db: Session, booking_id: str) -> set[str]:
    """Payments that paid the booking (one, unless the expert confirmed it first)."""
    # Every paid event names its payment (outside.py, online._mark_paid): the None check only narrows the type.
    return {pid for e in events(db, booking_id, "paid") if (pid := e.data.get("payment")) is not None}


def paid_total(payments: list[Payment]) -> int:
    """Money kept from ``payments``: what succeeded, less what was refunded."""
    return sum(p.amount - (p.refunded_amount or 0) for p in payments if p.status in ("succeeded", "refunded"))


def balance_due(db: Session, booking: Booking) -> int:
    """What is still to pay on a booking with a deposit: its price less the money kept (0 if none)."""
    if not booking.deposit_amount or booking.status == "cancelled":
        return 0
    return max((booking.price_amount or 0) - paid_total(payments_of(db, booking.id)), 0)


def advance(payment: Payment, status: str) -> bool:
    """Move ``payment`` to ``status`` unless that would move it back; True if it changed."""
    if RANK.get(status, -1) > RANK.get(payment.status, -1):
        payment.status = status
        return True
    return False


def time_still_free(db: Session, booking: Booking, now: datetime) -> bool:
    """True when nothing else took the booking's time (or seat) since its hold expired.

    Only other bookings and sessions count: a paid client keeps the time even if the
    availability changed meanwhile (the expert can still cancel, which refunds).
    """
    service = booking.service
    if booking.session_id is None:
        before = timedelta(minutes=booking.buffer_before_minutes)
        after = timedelta(minutes=booking.buffer_after_minutes)
        margin = timedelta(hours=4)
        busy = slots.load_busy(db, service, booking.start - before - margin, booking.end + after + margin, now,
                               exclude_booking_id=booking.id)
        for other in busy:
            other_lo = other.start - timedelta(minutes=other.buffer_before_minutes)
            other_hi = other.end + timedelta(minutes=other.buffer_after_minutes)
            if (other.start < booking.end + after and other.end > booking.start - before) or \
                    (other_lo < booking.end and other_hi > booking.start):
                return False
        return True
    if service.kind == "series":
        sessions = slots.series_sessions(db, service)
    else:
        session = booking.session
        if session is None:  # never: session_id is set (tested above); narrows the type
            raise LookupError(booking.session_id)
        sessions = [session]
    taken = slots.seats_taken(db, service, [s.id for s in sessions], now, exclude_booking_id=booking.id)
    return all(taken.get(s.id, 0) < s.capacity for s in sessions)
