"""Bookings written to the expert's chosen CalDAV calendar (``write_bookings``), through the outbox.

A booking change queues one ``calendar`` outbox row per such calendar, holding only ids. At delivery
the worker reads the booking as it is *then*: confirmed → the event is upserted (PUT at the UID's
address, so a retry, a reorder or a second connect never duplicates it), anything else → it is
deleted. Rows delivered late or twice therefore converge on the booking's current state.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from caldav.calendarobjectresource import CalendarObjectResource
from caldav.lib.error import NotFoundError
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.calendars import credentials, fetch
from backend.models import Booking, CalendarSource, OutboxMessage
from backend.notifications import ics
from backend.outbox import enqueue
from backend.statuses import BookingStatus
from backend.types import utcnow

KIND = "calendar"
TOPIC = "calendar_write"


def _write_sources(db: Session, expert_id: int) -> list[str]:
    return list(db.scalars(select(CalendarSource.id).where(CalendarSource.expert_id == expert_id,
                                                           CalendarSource.write_bookings.is_(True))))


def booking_changed(db: Session, booking: Booking) -> None:
    """Queue the booking's write to each of the expert's write-back calendars (caller's transaction)."""
    for source_id in _write_sources(db, booking.expert_id):
        enqueue(db, KIND, TOPIC, {"calendar_id": source_id, "booking_id": booking.id}, expert_id=booking.expert_id)


def queue_upcoming(db: Session, source: CalendarSource) -> int:
    """Queue every upcoming confirmed booking of the expert for a newly connected calendar."""
    ids = db.scalars(select(Booking.id).where(Booking.expert_id == source.expert_id,
                                              Booking.status == BookingStatus.CONFIRMED,
                                              Booking.end > utcnow())).all()
    for booking_id in ids:
        enqueue(db, KIND, TOPIC, {"calendar_id": source.id, "booking_id": booking_id}, expert_id=source.expert_id)
    return len(ids)


def prepare(db: Session, row: OutboxMessage) -> Callable[[Any], None]:
    """Read what the write needs now; return the network part (the worker runs it with no transaction open)."""
    source = db.get(CalendarSource, row.payload["calendar_id"])
    booking = db.get(Booking, row.payload["booking_id"])
    if source is None or not source.write_bookings:
        return lambda settings: None  # the calendar was disconnected: nothing left to write
    url, username, token = source.url, source.username, source.password_encrypted
    # One event per UID: the booking's, or one per session of a series.
    objects = ics.stored_events(booking) if booking is not None else []
    uids = [uid for uid, _ in objects] or [ics.uid(row.payload["booking_id"])]
    keep = booking is not None and booking.status == BookingStatus.CONFIRMED

    def write(settings: Any) -> None:
        password = credentials.decrypt(token, settings.secret_key, settings.previous_secret_keys) if token else None
        with fetch.caldav_calendar(url, username, password, allow_private=settings.calendar_allow_private) as cal:
            if keep:
                for _uid, data in objects:
                    cal.save_event(data.decode())  # a PUT at the UID's address: an upsert
                return
            for uid in uids:
                try:
                    cast(CalendarObjectResource, cal.event_by_uid(uid)).delete()  # the sync client's answer
                except NotFoundError:
                    pass  # already gone: deleting is done
    return write
