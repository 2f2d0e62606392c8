"""Stripe's signed events: verified by the API layer, applied here, each at most once.

Handlers are idempotent and move state only forward (``ledger.advance``), so a duplicate or
an out-of-order event is harmless even before ``ProcessedEvent`` short-circuits it. The event
is marked processed only after its handler finished: if applying it failed (Stripe down during
a refund), Stripe's retry applies it again.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.models import ProcessedEvent
from backend.payments import online, purchases, refunds
from backend.payments.stripe_gateway import ProviderUnavailable
from backend.transactions import end_unit

log = logging.getLogger("kairos.payments")

INTENT_EVENTS = ("payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled",
                 "payment_intent.processing", "payment_intent.requires_action")


def handle(db: Session, event: dict[str, Any], now: datetime) -> str:
    """Apply one verified event; returns processed | duplicate | ignored."""
    event_id, kind = event["id"], str(event.get("type", ""))
    if db.get(ProcessedEvent, event_id) is not None:
        return "duplicate"
    obj = (event.get("data") or {}).get("object") or {}
    outcome = "processed"
    if kind in INTENT_EVENTS and obj.get("id") and (obj.get("metadata") or {}).get("kairos_purchase"):
        purchases.sync_intent(db, obj, now)  # a package purchase: credits once, like a booking's confirmation
    elif kind in INTENT_EVENTS and obj.get("id"):
        payment = online.sync_intent(db, obj, now)
        if payment is None:
            outcome = "ignored"  # not one of ours (another app on the same Stripe account)
        elif refunds.pending(db, payment.booking_id):
            # A refund this event called for could not reach Stripe: not marked processed, so
            # Stripe delivers the event again later and the refund is retried then.
            raise ProviderUnavailable("A refund could not be sent yet; it will be retried.")
    elif kind == "charge.refunded":
        refunds.sync_charge(db, obj)
    else:
        return "ignored"  # a kind we do not use: nothing to remember
    db.add(ProcessedEvent(id=event_id, provider="stripe", type=kind[:100]))
    try:
        end_unit(db)
    except IntegrityError:  # the same event, delivered twice at once, was handled by the other
        db.rollback()
        return "duplicate"
    return outcome
