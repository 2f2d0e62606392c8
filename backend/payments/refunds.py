"""Refunds: decided inside the booking's transaction, sent to Stripe after it commits.

A refund is first written as a ``refund_requested`` event in the same transaction as the
cancellation (or the late payment) that causes it, then sent to Stripe outside any lock with an
idempotency key per payment and amount, then recorded (``Payment.status = refunded``,
``refunded_amount``, ``provider_refund_id``, a ``refunded`` event, ``payment_refunded`` for the
client). If Stripe is down, the request stays in the history: ``retry_pending`` (and any later
call to ``perform_pending`` for the booking) sends it again, and the key makes that safe.
"""
from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend import notifications
from backend.models import Booking, BookingEvent, Payment
from backend.payments import ledger
from backend.payments.stripe_gateway import CardDeclined, ProviderUnavailable, gateway
from backend.transactions import end_unit

log = logging.getLogger("kairos.payments")


def request_refund(db: Session, booking: Booking, payment: Payment, *, actor: str, reason: str) -> None:
    """Inside the caller's transaction: write down that ``payment`` must be given back in full."""
    remaining = payment.amount - (payment.refunded_amount or 0)
    if payment.provider != "stripe" or payment.status != "succeeded" or remaining <= 0:
        return
    db.add(BookingEvent(booking_id=booking.id, type="refund_requested", actor=actor, message=reason,
                        data={"payment": payment.id, "amount": remaining, "currency": payment.currency}))


def plan_on_cancel(db: Session, booking: Booking, *, actor: str, by_policy: bool) -> None:
    """Inside the cancellation's transaction: which payments go back.

    ``by_policy`` (always for a client, who may only cancel inside the policy; for an expert who
    chose it): the policy's ``refund`` decides, ``full`` gives the money back, ``none`` keeps it.
    Otherwise (an expert's cancellation) it all goes back.
    """
    paid = [p for p in ledger.payments_of(db, booking.id) if p.provider == "stripe" and p.status == "succeeded"]
    if not paid:
        return
    refund_rule = (booking.service.policy or {}).get("refund", "full")
    if by_policy and refund_rule != "full":
        db.add(BookingEvent(booking_id=booking.id, type="refund_skipped", actor="system",
                            message="The cancellation policy gives no refund.",
                            data={"policy": refund_rule, "payments": [p.id for p in paid]}))
        return
    reason = ("Cancelled inside the cancellation policy: full refund." if by_policy
              else "Cancelled by the expert: full refund.")
    for payment in paid:
        request_refund(db, booking, payment, actor=actor, reason=reason)


def pending(db: Session, booking_id: str) -> list[tuple[str, str]]:
    """(payment id, reason) of every refund requested and not yet done."""
    done = {e.data.get("payment") for e in ledger.events(db, booking_id, "refunded")}
    out: list[tuple[str, str]] = []
    for event in ledger.events(db, booking_id, "refund_requested"):
        pid = event.data.get("payment")
        if pid is None:  # never: request_refund always names the payment
            continue
        if pid not in done and pid not in {p for p, _ in out}:
            out.append((pid, event.message or "refund"))
    return out


def perform_pending(db: Session, booking_id: str) -> list[str]:
    """Send every pending refund of the booking to Stripe; returns the payment ids refunded now."""
    refunded = []
    for payment_id, reason in pending(db, booking_id):
        payment = db.get(Payment, payment_id)
        if payment is None or payment.provider != "stripe" or not payment.provider_payment_id:
            continue
        amount = payment.amount - (payment.refunded_amount or 0)
        if amount <= 0:
            continue
        intent_id, already = payment.provider_payment_id, payment.refunded_amount or 0
        end_unit(db)  # nothing held while Stripe is called
        try:
            refund = gateway().refund(payment_intent=intent_id, amount=amount, payment_id=payment_id,
                                      key_suffix=str(already), reason=reason)
        except (ProviderUnavailable, CardDeclined) as error:
            log.warning("refund of %s failed, will retry: %s", payment_id, error)
            payment = db.get(Payment, payment_id)
            if payment is not None:  # always (a payment row is never deleted); narrows the type
                payment.last_error = f"Refund not sent yet: {error}"
            end_unit(db)
            continue
        if record_refund(db, payment_id, refund_id=refund["id"], refunded_total=already + int(refund["amount"]),
                         actor="system", message=reason):
            refunded.append(payment_id)
    return refunded


def record_refund(db: Session, payment_id: str, *, refund_id: str | None, refunded_total: int, actor: str,
                  message: str | None = None) -> bool:
    """Write a refund Stripe made (ours, or one made in the Stripe dashboard); once per amount."""
    payment = db.get(Payment, payment_id)
    if payment is None:
        return False
    booking = ledger.lock_booking(db, payment.booking_id)
    db.refresh(payment)
    if refunded_total <= (payment.refunded_amount or 0):
        end_unit(db)
        return False
    amount = refunded_total - (payment.refunded_amount or 0)
    payment.refunded_amount = refunded_total
    if refund_id:
        payment.provider_refund_id = refund_id
    if refunded_total >= payment.amount:
        ledger.advance(payment, "refunded")
    payment.last_error = None
    db.add(BookingEvent(booking_id=booking.id, type="refunded", actor=actor, message=message,
                        data={"payment": payment.id, "amount": amount, "currency": payment.currency,
                              "refund": refund_id, "total_refunded": refunded_total}))
    notifications.booking_event(db, booking, "payment_refunded", actor=actor, message=message)
    end_unit(db)
    return True


def sync_charge(db: Session, charge: dict[str, Any]) -> None:
    """``charge.refunded``: a refund made outside Kairos (the Stripe dashboard) is recorded too."""
    intent_id = charge.get("payment_intent")
    intent_id = intent_id.get("id") if isinstance(intent_id, dict) else intent_id
    if not intent_id:
        return
    payment = db.scalar(select(Payment).where(Payment.provider_payment_id == intent_id))
    if payment is None or payment.status not in ("succeeded", "refunded"):
        return
    refunds = (charge.get("refunds") or {}).get("data") or []
    record_refund(db, payment.id, refund_id=refunds[0]["id"] if refunds else None,
                  refunded_total=int(charge.get("amount_refunded") or 0), actor="system")


def retry_pending(db: Session) -> int:
    """Send every refund still waiting (Stripe was down): for a periodic job. Returns how many went out."""
    requested = {e.booking_id for e in db.scalars(select(BookingEvent).where(BookingEvent.type == "refund_requested"))}
    sent = 0
    for booking_id in sorted(requested):
        sent += len(perform_pending(db, booking_id))
    return sent
