"""What Kairos tells people when a booking changes: emails and expert webhooks, through the outbox."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from backend.models import Booking
from backend.outbox import enqueue

#: Booking events and the emails each one sends (webhooks follow the event name).
EVENT_EMAILS = {
    "created": ("booking_confirmed",),
    "confirmed": ("booking_confirmed",),
    "rescheduled": ("booking_rescheduled",),
    "cancelled": ("booking_cancelled",),
    "shared": ("booking_shared",),
}


def booking_event(db: Session, booking: Booking, event: str, *, actor: str = "system",
                  message: str | None = None, previous_start: datetime | None = None) -> None:
    """Queue every message a booking event causes, inside the caller's transaction.

    ``event`` is one of created, confirmed, rescheduled, cancelled, shared,
    payment_succeeded, payment_refunded.
    """
    if event == "created" and booking.status != "confirmed":
        return
    for topic in EVENT_EMAILS.get(event, ()):
        payload = {"booking_id": booking.id, "actor": actor}
        if previous_start is not None:
            payload["previous_start"] = previous_start.isoformat()
        enqueue(db, "email", topic, payload, expert_id=booking.expert_id)
