"""Payments made outside Kairos (bank transfer, cash…): the expert marks them paid."""
from __future__ import annotations

from sqlalchemy.orm import Session

from backend import notifications
from backend.errors import NotAllowed
from backend.models import Booking, BookingEvent, Payment, public_id
from backend.payments import ledger
from backend.services.leads import mark_lead_booked
from backend.services.locking import lock_expert


def mark_paid(db: Session, booking: Booking, *, note: str = "") -> Booking:
    """Record the outside payment (once); a ``pending`` booking turns ``confirmed``. Flushes only."""
    lock_expert(db, booking.expert_id)
    db.refresh(booking)  # another request may have changed it while we waited for the lock
    if booking.status == "cancelled":
        raise NotAllowed("cancelled", "This booking was cancelled.")
    if booking.deposit_amount and booking.payment_option == "online":
        return _mark_balance_paid(db, booking, note=note)
    if booking.payment_option != "outside":
        raise NotAllowed("not_outside", "Only a booking paid outside Kairos can be marked paid.")
    already = [p for p in ledger.payments_of(db, booking.id) if p.provider == "outside" and p.status == "succeeded"]
    if already:
        return booking
    payment = Payment(id=public_id("pay"), booking_id=booking.id, provider="outside", provider_payment_id=None,
                      amount=booking.price_amount or 0, currency=booking.price_currency or "usd",
                      status="succeeded")
    db.add(payment)
    was_pending = booking.status == "pending"
    if was_pending:
        booking.status = "confirmed"
        mark_lead_booked(db, booking)
    db.add(BookingEvent(booking_id=booking.id, type="paid", actor="expert", message=note or None,
                        data={"payment": payment.id, "amount": payment.amount, "currency": payment.currency,
                              "provider": "outside", "status": booking.status}))
    if was_pending:
        notifications.booking_event(db, booking, "confirmed", actor="expert")
    notifications.booking_event(db, booking, "payment_succeeded", actor="expert")
    db.flush()
    return booking


def _mark_balance_paid(db: Session, booking: Booking, *, note: str) -> Booking:
    """The rest of a deposit booking was paid outside Kairos: record it (once), under the lock."""
    balance = ledger.balance_due(db, booking)
    if booking.status != "confirmed":
        raise NotAllowed("deposit_unpaid", "The deposit of this booking has not been paid yet.")
    if balance <= 0:
        return booking
    payment = Payment(id=public_id("pay"), booking_id=booking.id, provider="outside", provider_payment_id=None,
                      amount=balance, currency=booking.price_currency or "usd", status="succeeded")
    db.add(payment)
    db.add(BookingEvent(booking_id=booking.id, type="paid", actor="expert", message=note or None,
                        data={"payment": payment.id, "amount": balance, "currency": payment.currency,
                              "provider": "outside", "status": booking.status, "balance": True}))
    db.flush()
    return booking
