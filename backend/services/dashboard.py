"""What the expert's dashboard shows: one read of their bookings, leads, clients and outbox.

The lists reuse the queries of the expert API (``bookings.list_bookings``, ``leads.list_leads``,
``outbox.list_messages``); only the two views the API has no endpoint for live here
(cancellations with when and why, clients with their number of bookings).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from backend import outbox
from backend.errors import NotFound
from backend.models import (
    Booking,
    BookingEvent,
    Client,
    ClientPackage,
    Expert,
    Lead,
    OutboxMessage,
    Payment,
    WaitlistEntry,
)
from backend.services import bookings, leads, waitlist

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
    waitlist: list[WaitlistEntry]


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
        waitlist=waitlist.list_open(db, expert),
    )


# --- the Bookings and Clients pages: filters, search and keyset pages ---------------------------

BOOKING_VIEWS = ("upcoming", "pending", "past", "cancelled", "all")


def _search(stmt, q: str):
    """Rows (of a query on Client, or joined to it) whose client's name or email contains ``q``, any case."""
    pattern = "%" + q.casefold().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return stmt.where(or_(func.lower(Client.name).like(pattern, escape="\\"),
                          Client.email_key.like(pattern, escape="\\")))


def find_bookings(db: Session, expert: Expert, view: str, now: datetime, *, q: str = "", limit: int = 50,
                  after: tuple[datetime, str] | None = None) -> list[Booking]:
    """One page of the expert's bookings for a filter of the Bookings page:

    ``upcoming`` (live and not over, soonest first), ``pending`` (waiting for the client or a
    payment), ``past`` (over, not cancelled, latest first), ``cancelled`` (latest first) or ``all``.
    ``q`` searches the client's name and email; ``after`` is the (start, id) of the previous page's
    last row. Fetch ``limit + 1`` to know whether there is a next page.
    """
    soonest_first = view in ("upcoming", "pending")
    stmt = select(Booking).join(Client, Client.id == Booking.client_id).where(Booking.expert_id == expert.id)
    if view == "upcoming":
        stmt = stmt.where(Booking.end > now, Booking.status.in_(("confirmed", "pending_payment", "pending")))
    elif view == "pending":
        stmt = stmt.where(Booking.status.in_(("pending", "pending_payment")))
    elif view == "past":
        stmt = stmt.where(Booking.end <= now, Booking.status != "cancelled")
    elif view == "cancelled":
        stmt = stmt.where(Booking.status == "cancelled")
    if q:
        stmt = _search(stmt, q)
    if after is not None:
        start, booking_id = after
        if soonest_first:
            stmt = stmt.where(or_(Booking.start > start, and_(Booking.start == start, Booking.id > booking_id)))
        else:
            stmt = stmt.where(or_(Booking.start < start, and_(Booking.start == start, Booking.id < booking_id)))
    order = (Booking.start.asc(), Booking.id.asc()) if soonest_first else (Booking.start.desc(), Booking.id.desc())
    stmt = stmt.options(selectinload(Booking.client), selectinload(Booking.service))
    return list(db.scalars(stmt.order_by(*order).limit(limit)))


def find_clients(db: Session, expert: Expert, *, q: str = "", limit: int = 50,
                 after: tuple[str, int] | None = None) -> list[ClientRow]:
    """One page of the expert's clients by name (``q`` searches name and email), with their bookings count."""
    count = func.count(Booking.id)
    stmt = (select(Client, count).outerjoin(Booking, Booking.client_id == Client.id)
            .where(Client.expert_id == expert.id).group_by(Client.id))
    if q:
        stmt = _search(stmt, q)
    if after is not None:
        name, client_id = after
        stmt = stmt.where(or_(Client.name > name, and_(Client.name == name, Client.id > client_id)))
    return [ClientRow(client, n) for client, n in db.execute(stmt.order_by(Client.name, Client.id).limit(limit))]


@dataclass(frozen=True)
class ClientFile:
    """One client as the expert sees them: their bookings (latest first) and packages."""

    client: Client
    bookings: list[Booking]
    packages: list[ClientPackage]


def client_file(db: Session, expert: Expert, client_id: int) -> ClientFile:
    """One of the expert's clients; NotFound for anyone else's."""
    client = db.scalar(select(Client).where(Client.id == client_id, Client.expert_id == expert.id))
    if client is None:
        raise NotFound("No such client.")
    found = list(db.scalars(select(Booking).where(Booking.client_id == client.id, Booking.expert_id == expert.id)
                            .options(selectinload(Booking.service)).order_by(Booking.start.desc())))
    packages = list(db.scalars(select(ClientPackage).where(ClientPackage.client_id == client.id,
                                                           ClientPackage.expert_id == expert.id)
                               .order_by(ClientPackage.created_at)))
    return ClientFile(client, found, packages)


def payments_of(db: Session, booking: Booking) -> list[Payment]:
    """The payments recorded for a booking (card payments, their refunds), oldest first."""
    return list(db.scalars(select(Payment).where(Payment.booking_id == booking.id).order_by(Payment.created_at)))
