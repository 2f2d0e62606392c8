"""An expert's calendar sources: add, list, find, remove (services flush; the caller commits)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.calendars import credentials, fetch, writeback
from backend.errors import NotFound, ValidationError
from backend.models import CalendarSource, CalendarType, Expert
from backend.statuses import CalendarStatus
from backend.timeutil import iso_utc
from backend.types import utcnow


def view(source: CalendarSource) -> dict[str, Any]:
    """What the API and the dashboard show (never the password)."""
    return {"id": source.id, "type": source.type, "url": source.url, "username": source.username,
            "write_bookings": source.write_bookings, "status": source.status,
            "last_synced_at": iso_utc(source.last_synced_at) if source.last_synced_at else None,
            "last_error": source.last_error, "created_at": iso_utc(source.created_at)}


def list_sources(db: Session, expert_id: int) -> list[CalendarSource]:
    """The expert's sources, oldest first."""
    return list(db.scalars(select(CalendarSource).where(CalendarSource.expert_id == expert_id)
                           .order_by(CalendarSource.created_at, CalendarSource.id)))


def get_source(db: Session, expert_id: int, source_id: str) -> CalendarSource:
    """One of the expert's sources; NotFound for anyone else's."""
    source = db.scalar(select(CalendarSource).where(CalendarSource.id == source_id,
                                                    CalendarSource.expert_id == expert_id))
    if source is None:
        raise NotFound("No such calendar.")
    return source


def add_source(db: Session, expert: Expert, data: dict[str, Any], *, secret_key: str,
               allow_private: bool) -> CalendarSource:
    """A new source, due for its first sync at once (the worker picks it up; ``POST …/sync`` runs it now).

    A CalDAV calendar chosen to receive bookings gets every upcoming confirmed booking queued for
    writing; writes are upserts by UID, so connecting the same calendar again adds nothing twice.
    """
    kind = data["type"]
    fetch.check_url(data["url"], allow_private=allow_private)
    if kind == CalendarType.ICS and data.get("write_bookings"):
        raise ValidationError(fields={"write_bookings": ["An ICS feed is read-only: choose a CalDAV calendar."]})
    if kind == CalendarType.ICS and (data.get("username") or data.get("password")):
        raise ValidationError(fields={"password": ["An ICS feed takes no username or password: the secret is in "
                                                   "its address."]})
    password = data.get("password")
    source = CalendarSource(
        expert_id=expert.id, type=kind, url=fetch.normalise_url(data["url"]),
        username=data.get("username") or None,
        password_encrypted=credentials.encrypt(password, secret_key) if password else None,
        write_bookings=bool(data.get("write_bookings")), status=CalendarStatus.PENDING, next_sync_at=utcnow(),
    )
    db.add(source)
    db.flush()
    if source.write_bookings:
        writeback.queue_upcoming(db, source)
    return source


def remove_source(db: Session, source: CalendarSource) -> None:
    """Forget a source and its busy times (events already written to it stay: they are the expert's)."""
    db.delete(source)
    db.flush()
