"""The expert's offer beyond one service's fields: its order, and the dated sessions of group, series
and mini services with who holds their seats (``services/sessions.py`` schedules them).

The expert API and the dashboard both call these; like every service they flush, and the caller
(route, CLI command) commits once.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from backend.errors import NotFound
from backend.models import Booking, Expert, Service, ServiceSession
from backend.services import experts, slots


def live_services(expert: Expert) -> list[Service]:
    """The services the expert offers (not archived), in their order."""
    return [s for s in expert.services if not s.archived]


def move_service(db: Session, expert: Expert, slug: str, offset: int) -> Service:
    """Move one service ``offset`` places up (negative) or down in the expert's order (clamped at the ends).

    Positions are renumbered 0..n-1, so earlier gaps or ties (services created by the API with a
    ``position`` of their own) never make a move do nothing.
    """
    ordered = live_services(expert)
    service = experts.get_service(db, expert, slug)
    index = ordered.index(service)
    target = max(0, min(len(ordered) - 1, index + offset))
    ordered.insert(target, ordered.pop(index))
    for position, item in enumerate(ordered):
        item.position = position
    db.flush()
    return service


@dataclass(frozen=True)
class SessionSeats:
    """A scheduled session, how many seats are taken and the bookings that hold them."""

    session: ServiceSession
    taken: int
    holders: list[Booking]

    @property
    def seats_left(self) -> int:
        """Seats still free (never below zero)."""
        return max(self.session.capacity - self.taken, 0)


def sessions_with_seats(db: Session, service: Service, now: datetime, *, since: datetime | None = None) -> list[SessionSeats]:
    """The service's sessions (those ending after ``since``, when given), soonest first, with their
    seats taken and who holds them (a series booking holds a seat in every session of the series)."""
    stmt = select(ServiceSession).where(ServiceSession.service_id == service.id)
    if since is not None:
        stmt = stmt.where(ServiceSession.end > since)
    sessions = list(db.scalars(stmt.order_by(ServiceSession.start)))
    taken = slots.seats_taken(db, service, [s.id for s in sessions], now)
    holding = (select(Booking).where(Booking.service_id == service.id, slots.blocking_clause(now))
               .options(selectinload(Booking.client)).order_by(Booking.created_at))
    if service.kind != "series":
        holding = holding.where(Booking.session_id.in_([s.id for s in sessions]))
    holders = list(db.scalars(holding)) if sessions else []
    return [SessionSeats(s, taken.get(s.id, 0),
                         holders if service.kind == "series" else [b for b in holders if b.session_id == s.id])
            for s in sessions]


def get_session(db: Session, expert: Expert, session_id: str) -> ServiceSession:
    """One of the expert's sessions; NotFound for anyone else's."""
    session = db.scalar(select(ServiceSession).where(ServiceSession.id == session_id,
                                                     ServiceSession.expert_id == expert.id))
    if session is None:
        raise NotFound("No such session.")
    return session
