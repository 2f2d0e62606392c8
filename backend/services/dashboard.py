"""What the expert's dashboard shows: one read of their bookings, leads, clients and outbox.

The lists reuse the queries of the expert API (``bookings.list_bookings``, ``leads.list_leads``,
``outbox.list_messages``); only the two views the API has no endpoint for live here
(cancellations with when and why, clients with their number of bookings).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend import outbox
from backend.models import Booking, BookingEvent, Client, Expert, Lead, OutboxMessage
from backend.services import bookings, leads

UPCOMING_DAYS = 60
RECENT_CANCELLATIONS = 10


@dataclass(frozen=True)
class Cancellation:
    """A cancelled booking with when, by whom (client, expert, system) and the message given."""

    booking: Booking
    at: datetime
    actor: str
    message: str | None


@dataclass(frozen=True)
class ClientRow:
    """A client of the expert's and how many bookings they have made (cancelled ones included)."""

    client: Client
    bookings: int


@dataclass(frozen=True)
class Overview:
    """Everything the dashboard's main page lists."""

    upcoming: list[Booking]
    pending: list[Booking]
    cancellations: list[Cancellation]
    leads: list[Lead]
    clients: list[ClientRow]
    parked: list[OutboxMessage]


def upcoming_bookings(db: Session, expert: Expert, now: datetime, days: int = UPCOMING_DAYS) -> list[Booking]:
    """Bookings that still happen in the next ``days`` days, soonest first.

    Pending sessions set up by the expert are left out: ``pending_sessions`` lists them with their action.
    """
    found = bookings.list_bookings(db, expert, start=now, end=now + timedelta(days=days), oldest_first=True)
    return [b for b in found if b.status not in ("cancelled", "pending")]


def pending_sessions(db: Session, expert: Expert, now: datetime) -> list[Booking]:
    """Pending bookings not over yet (waiting for the client, or for payment outside Kairos), soonest first."""
    return bookings.list_bookings(db, expert, status="pending", start=now, oldest_first=True)


def recent_cancellations(db: Session, expert: Expert, limit: int = RECENT_CANCELLATIONS) -> list[Cancellation]:
    """The latest cancellations, newest first, with the cancel event's time, actor and message."""
    stmt = (select(Booking, BookingEvent)
            .join(BookingEvent, BookingEvent.booking_id == Booking.id)
            .where(Booking.expert_id == expert.id, Booking.status == "cancelled", BookingEvent.type == "cancelled")
            .order_by(BookingEvent.at.desc(), BookingEvent.id.desc())
            .limit(limit))
    return [Cancellation(booking, event.at, event.actor, event.message) for booking, event in db.execute(stmt)]


def clients_with_counts(db: Session, expert: Expert) -> list[ClientRow]:
    """The expert's clients by name, each with their number of bookings (one grouped query)."""
    count = func.count(Booking.id)
    stmt = (select(Client, count)
            .outerjoin(Booking, Booking.client_id == Client.id)
            .where(Client.expert_id == expert.id)
            .group_by(Client.id)
            .order_by(Client.name, Client.id))
    return [ClientRow(client, n) for client, n in db.execute(stmt)]


def overview(db: Session, expert: Expert, now: datetime) -> Overview:
    """Everything the dashboard lists for ``expert`` at ``now``."""
    return Overview(
        upcoming=upcoming_bookings(db, expert, now),
        pending=pending_sessions(db, expert, now),
        cancellations=recent_cancellations(db, expert),
        leads=leads.list_leads(db, expert),
        clients=clients_with_counts(db, expert),
        parked=outbox.list_messages(db, expert.id, status="parked"),
    )
