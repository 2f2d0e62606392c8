"""Scheduled sessions of group, series and mini services, set up by the expert."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.errors import NotAllowed, ValidationError
from backend.mini_sessions import cut_day
from backend.models import Booking, Expert, Service, ServiceSession
from backend.schemas import parse_hhmm
from backend.services import slots
from backend.services.locking import lock_expert


def create_session(db: Session, expert: Expert, service: Service, data: dict[str, Any]) -> ServiceSession:
    """Schedule one session (a loaded ``SessionCreate``); a mini session always has one seat."""
    if service.kind == "personal":
        raise ValidationError(fields={"service": ["Personal services take their times from availability."]})
    capacity = 1 if service.kind == "mini" else data.get("capacity", service.capacity)
    session = ServiceSession(service_id=service.id, expert_id=expert.id, start=data["start"], end=data["end"],
                             capacity=capacity, location=data.get("location"))
    db.add(session)
    db.flush()
    return session


def create_mini_day(db: Session, expert: Expert, service: Service, data: dict[str, Any]) -> list[ServiceSession]:
    """A mini-session day (a loaded ``MiniDayCreate``) cut into single-seat slots of the service's length
    (or ``slot_minutes``), in the expert's time zone."""
    if service.kind != "mini":
        raise ValidationError(fields={"service": ["Mini-session days belong to a service of kind mini."]})
    times = cut_day(data["date"], parse_hhmm(data["start_time"]), parse_hhmm(data["end_time"]),
                    data.get("slot_minutes") or service.duration_minutes, data["gap_minutes"], expert.timezone)
    if not times:
        raise ValidationError(fields={"end_time": ["No slot fits between the start and the end."]})
    created = [ServiceSession(service_id=service.id, expert_id=expert.id, start=start, end=end, capacity=1,
                              location=data["location"]) for start, end in times]
    db.add_all(created)
    db.flush()
    return created


def removal_refusal(db: Session, service: Service, session: ServiceSession, now: datetime) -> str | None:
    """Why ``session`` cannot be removed, in words for the expert, or None when it can.

    A session goes only while no booking refers to it: bookings are never cancelled as a side effect
    (the expert cancels them, and each client is told), and a cancelled one keeps its session in the
    history. A series booking holds a seat in every session of the series, so a series with live
    bookings keeps all its dates.
    """
    live = db.scalar(select(func.count()).select_from(Booking).where(
        Booking.session_id == session.id, slots.blocking_clause(now)))
    if live:
        return (f"{live} {'booking holds a seat' if live == 1 else 'bookings hold seats'} in this session. "
                "Cancel them first (each client is told by email), then remove it.")
    if service.kind == "series":
        held = db.scalar(select(func.count()).select_from(Booking).where(
            Booking.service_id == service.id, slots.blocking_clause(now)))
        if held:
            return (f"{held} {'client has' if held == 1 else 'clients have'} booked this series, which holds a seat in "
                    "every one of its sessions. Cancel those bookings first, then remove the date.")
    past = db.scalar(select(func.count()).select_from(Booking).where(Booking.session_id == session.id))
    if past:
        return ("Cancelled or expired bookings of this session keep it in your history, so it stays. "
                "Nobody holds a seat in it.")
    return None


def remove_session(db: Session, expert: Expert, service: Service, session: ServiceSession, now: datetime) -> None:
    """Delete a scheduled session nobody booked (NotAllowed ``has_bookings`` otherwise, with the reason).

    Under the expert lock, so a booking made at the same moment either comes first (and the removal is
    refused) or finds the session gone. Its waitlist, necessarily empty of offers, goes with it.
    """
    lock_expert(db, expert.id)
    reason = removal_refusal(db, service, session, now)
    if reason:
        raise NotAllowed("has_bookings", reason)
    db.delete(session)
    db.flush()
