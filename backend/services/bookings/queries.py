"""Reading bookings: an expert's list, one by id, one by its manage token."""
from __future__ import annotations

import hmac
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, selectinload

from backend.errors import NotFound
from backend.models import Booking, Expert
from backend.security import token_hash


def list_bookings(db: Session, expert: Expert, *, status: str | None = None, start: datetime | None = None,
                  end: datetime | None = None, oldest_first: bool = False, limit: int = 1000,
                  after: tuple[datetime, str] | None = None) -> list[Booking]:
    """The expert's bookings overlapping [start, end), newest start first unless ``oldest_first``.

    Served by ``ix_booking_expert_start``; ``limit`` bounds one answer (the API and the dashboard).
    ``after`` is the (start, id) of the last booking of the previous page: keyset paging, so a page
    never skips or repeats a booking when others are added meanwhile.
    """
    stmt = select(Booking).where(Booking.expert_id == expert.id)
    if after is not None:
        last_start, last_id = after
        if oldest_first:
            stmt = stmt.where(or_(Booking.start > last_start, and_(Booking.start == last_start, Booking.id > last_id)))
        else:
            stmt = stmt.where(or_(Booking.start < last_start, and_(Booking.start == last_start, Booking.id < last_id)))
    if status is not None:
        stmt = stmt.where(Booking.status == status)
    if start is not None:
        stmt = stmt.where(Booking.end > start)
    if end is not None:
        stmt = stmt.where(Booking.start < end)
    order = (Booking.start.asc(), Booking.id.asc()) if oldest_first else (Booking.start.desc(), Booking.id.desc())
    # Every listed booking shows its client and service: load them in one query each, not one per row.
    stmt = stmt.options(selectinload(Booking.client), selectinload(Booking.service))
    return list(db.scalars(stmt.order_by(*order).limit(limit)))


def get_booking(db: Session, expert: Expert, booking_id: str) -> Booking:
    """One of the expert's bookings; NotFound for anyone else's."""
    booking = db.scalar(select(Booking).where(Booking.id == booking_id, Booking.expert_id == expert.id))
    if booking is None:
        raise NotFound("No such booking.")
    return booking


def find_by_token(db: Session, token: str) -> Booking:
    """The booking a manage token opens; NotFound for anything else (no hint whether it existed)."""
    if not token or len(token) > 200:
        raise NotFound("This link is not valid.")
    digest = token_hash(token)
    booking = db.scalar(select(Booking).where(Booking.manage_token_hash == digest))
    if booking is None or not hmac.compare_digest(digest, booking.manage_token_hash):
        raise NotFound("This link is not valid.")
    return booking
