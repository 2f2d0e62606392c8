"""Scheduled sessions of group, series and mini services, set up by the expert."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from backend.errors import ValidationError
from backend.mini_sessions import cut_day
from backend.models import Expert, Service, ServiceSession
from backend.schemas import parse_hhmm


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
