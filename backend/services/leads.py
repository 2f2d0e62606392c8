"""Leads: a client's interest in one service, as the expert follows it up.

Leads are created and marked ``booked`` by the booking rules (services/bookings.py); the expert
lists them and closes the ones they have dealt with, through the API or the dashboard.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from backend.errors import NotFound
from backend.models import Expert, Lead


def list_leads(db: Session, expert: Expert, *, limit: int | None = None,
               after: tuple[datetime, str] | None = None) -> list[Lead]:
    """The expert's leads, most recently changed first; ``after`` is the (updated_at, id) of the last
    lead of the previous page (a lead that changes meanwhile moves to the top, before the page)."""
    stmt = select(Lead).where(Lead.expert_id == expert.id)
    if after is not None:
        at, lead_id = after
        stmt = stmt.where(or_(Lead.updated_at < at, and_(Lead.updated_at == at, Lead.id < lead_id)))
    return list(db.scalars(stmt.order_by(Lead.updated_at.desc(), Lead.id.desc()).limit(limit)))


def close_lead(db: Session, expert: Expert, lead_id: str) -> Lead:
    """Close one of the expert's leads (a new booking attempt reopens it); NotFound for anyone else's."""
    lead = db.scalar(select(Lead).where(Lead.id == lead_id, Lead.expert_id == expert.id))
    if lead is None:
        raise NotFound("No such lead.")
    lead.status = "closed"
    db.commit()
    return lead
