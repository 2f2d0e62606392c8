"""What Kairos tells people when a booking changes: emails and expert webhooks, through the outbox.

``booking_event`` is the one entry point every booking change calls, inside its own
transaction: the rows it adds commit or roll back with the change (nothing is sent
here; ``backend.worker`` delivers). What each event queues:

- client email: ``booking_confirmed`` the first time a booking is confirmed (created
  confirmed, confirmed by hand, or paid), ``booking_rescheduled``, ``booking_cancelled``,
  ``booking_shared`` (a session set up by the expert), ``payment_refunded``;
- expert email (to ``notification_email or email``): new booking, reschedule,
  cancellation with the client's message — not for changes the expert made;
- one webhook row per active endpoint subscribed to the API.md type, the event id
  fixed now so retries resend the same id;
- one ``calendar`` row per write-back calendar of the expert (``calendars/writeback.py``).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.orm import Session

from backend.calendars import writeback
from backend.models import Booking, CalendarSource, OutboxMessage, WebhookEndpoint
from backend.notifications import webhooks
from backend.outbox import enqueue, enqueue_many
from backend.timeutil import iso_utc
from backend.views.bookings import booking_view

#: Booking events that may be the booking's confirmation (when the booking is confirmed afterwards).
CONFIRMING_EVENTS = ("created", "confirmed", "payment_succeeded")
#: Webhook types that follow directly from an event (``booking.confirmed`` follows the confirmation).
EVENT_WEBHOOKS = {
    "created": "booking.created",
    "rescheduled": "booking.rescheduled",
    "cancelled": "booking.cancelled",
    "payment_succeeded": "payment.succeeded",
    "payment_refunded": "payment.refunded",
}

#: Events that change what the expert's write-back calendar should show.
WRITEBACK_EVENTS = ("created", "confirmed", "rescheduled", "cancelled", "payment_succeeded")


def outlets_exist(expert_id: Any) -> ColumnElement[bool]:
    """SQL: whether the expert has an active webhook endpoint or a write-back calendar, for a caller's own
    query (a booking reads it with its service, before the lock); without either, ``booking_event(outlets=False)``
    looks neither up."""
    return or_(exists().where(WebhookEndpoint.expert_id == expert_id, WebhookEndpoint.active.is_(True)),
               exists().where(CalendarSource.expert_id == expert_id, CalendarSource.write_bookings.is_(True)))


def booking_event(db: Session, booking: Booking, event: str, *, actor: str = "system",
                  message: str | None = None, previous_start: datetime | None = None, outlets: bool = True) -> None:
    """Queue every message a booking event causes, inside the caller's transaction.

    ``event`` is one of created, confirmed, rescheduled, cancelled, shared,
    payment_succeeded, payment_refunded. The emails go in as one INSERT. ``outlets=False``: the caller
    knows (``outlets_exist``) the expert has no webhook endpoint and no write-back calendar.
    """
    emails: list[dict[str, Any]] = []

    def queue(topic: str, to: str, **details: Any) -> None:
        emails.append(_email_row(booking, topic, to, **details))

    types = [EVENT_WEBHOOKS[event]] if event in EVENT_WEBHOOKS else []
    expert_to = booking.expert.notification_email or booking.expert.email
    by_expert = actor == "expert"

    if event in CONFIRMING_EVENTS and booking.status == "confirmed" and _first_confirmation(db, booking, event):
        # The key makes the confirmation once per booking even when a payment path reports it twice
        # (the Stripe webhook and the widget's return both say "paid", or confirmed + payment_succeeded).
        queue("booking_confirmed", booking.client.email, actor=actor,
              dedupe_key=_confirmation_key(booking))
        if not by_expert:
            # A session the expert set up was completed by the client (directly, or once paid).
            topic = "expert_booking_completed" if booking.source == "expert" else "expert_booking_created"
            queue(topic, expert_to, actor=actor, message=booking.message or None)
        types.append("booking.confirmed")
    elif event == "rescheduled":
        booking.reminder_sent_at = None  # the new time earns its own reminder
        if booking.status == "confirmed":
            queue("booking_rescheduled", booking.client.email, actor=actor,
                  previous_start=previous_start)
        if not by_expert:
            queue("expert_booking_rescheduled", expert_to, actor=actor, previous_start=previous_start)
    elif event == "cancelled" and (booking.source == "expert" or _was_confirmed(db, booking)):
        # An abandoned payment hold that expires was never promised to anyone: no email, only the webhook.
        queue("booking_cancelled", booking.client.email, actor=actor, message=message)
        if not by_expert:
            queue("expert_booking_cancelled", expert_to, actor=actor, message=message)
    elif event == "shared":
        queue("booking_shared", booking.client.email, actor=actor)
    elif event == "payment_refunded":
        queue("payment_refunded", booking.client.email, actor=actor)

    enqueue_many(db, emails)
    if types and outlets:
        _webhooks(db, booking, types)
    if outlets and event in WRITEBACK_EVENTS and (booking.status == "confirmed" or event == "cancelled"):
        writeback.booking_changed(db, booking)  # the expert's write-back calendars follow the booking


def reminder(db: Session, booking: Booking) -> OutboxMessage:
    """Queue the reminder of ``booking`` (the worker calls this once per booking and start)."""
    return _email(db, booking, "booking_reminder", booking.client.email, actor="system",
                  dedupe_key=f"reminder:{booking.id}:{iso_utc(booking.start)}")


def balance_reminder(db: Session, booking: Booking, amount_due: int) -> OutboxMessage | None:
    """Queue the reminder of what is still to pay on a deposit booking, once per booking (None if it was)."""
    key = f"balance:{booking.id}"
    if db.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)) is not None:
        return None
    row = _email(db, booking, "balance_due", booking.client.email, actor="system", dedupe_key=key)
    row.payload = {**row.payload, "amount_due": amount_due, "currency": booking.price_currency}
    return row


def _confirmation_key(booking: Booking) -> str:
    # ics_sequence rises on cancel, so a booking confirmed again after a cancellation is confirmed again.
    return f"confirmed:{booking.id}:{booking.ics_sequence}"


def _first_confirmation(db: Session, booking: Booking, event: str) -> bool:
    if event == "created":
        return True  # a brand-new booking has no earlier confirmation: no query on the booking hot path
    return db.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == _confirmation_key(booking))) is None


def _was_confirmed(db: Session, booking: Booking) -> bool:
    """Whether the client was ever sent a confirmation of this booking."""
    # Equality on the unique key (served by its index) for each SEQUENCE the booking has had; it stays small.
    keys = [f"confirmed:{booking.id}:{n}" for n in range(booking.ics_sequence + 1)]
    return db.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key.in_(keys)).limit(1)) is not None


def _email(db: Session, booking: Booking, topic: str, to: str, **details: Any) -> OutboxMessage:
    row = _email_row(booking, topic, to, **details)
    message = enqueue(db, "email", topic, row["payload"], expert_id=booking.expert_id)
    message.dedupe_key = row["dedupe_key"]
    return message


def _email_row(booking: Booking, topic: str, to: str, *, actor: str, message: str | None = None,
               previous_start: datetime | None = None, dedupe_key: str | None = None) -> dict[str, Any]:
    # A snapshot of the event's time and SEQUENCE: a retry after a later change still tells this event.
    payload: dict[str, Any] = {
        "booking_id": booking.id, "to": to, "actor": actor, "status": booking.status,
        "start": iso_utc(booking.start), "end": iso_utc(booking.end), "timezone": booking.timezone,
        "sequence": booking.ics_sequence,
    }
    if message:
        payload["message"] = message
    if previous_start is not None:
        payload["previous_start"] = iso_utc(previous_start)
    return {"kind": "email", "topic": topic, "payload": payload, "expert_id": booking.expert_id,
            "dedupe_key": dedupe_key}


def _webhooks(db: Session, booking: Booking, types: list[str]) -> None:
    endpoints = db.scalars(select(WebhookEndpoint).where(WebhookEndpoint.expert_id == booking.expert_id,
                                                         WebhookEndpoint.active.is_(True))).all()
    if not endpoints:
        return
    data = {"booking": booking_view(booking, tz=booking.expert.timezone)}
    for event_type in types:
        # One event (one id) per change, shared by every endpoint, as receivers de-duplicate by id.
        event = webhooks.new_event(event_type, data)
        for endpoint in endpoints:
            if event_type in (endpoint.events or []):
                enqueue(db, "webhook", event_type, {"endpoint_id": endpoint.id, "booking_id": booking.id,
                                                    "event": event}, expert_id=booking.expert_id)
