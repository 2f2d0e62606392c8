"""Leads: a client's interest in one service, as the expert follows it up.

Leads are created and marked ``booked`` by the booking rules (``touch_lead`` when a client books,
``mark_lead_booked`` when a booking is confirmed by hand or paid); the expert lists them and closes
the ones they have dealt with, through the API or the dashboard.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from backend.errors import NotFound
from backend.inserts import insert_or_skip
from backend.models import Booking, Client, Expert, Lead, Service, public_id
from backend.statuses import LeadStatus
from backend.types import utcnow
from backend.unread import UNREAD


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
    lead.status = LeadStatus.CLOSED
    db.flush()
    return lead


def touch_lead(db: Session, expert: Expert, client: Client, service: Service, *, booked: bool,
               found: Lead | None = UNREAD) -> None:
    """The client's lead for this service, created if new: ``booked`` when the booking is confirmed,
    reopened when a closed lead's client tries again.

    ``found`` is the lead the caller already read (None: there was none then); a lead left as it
    should be costs no statement, a new one a single INSERT.
    """
    lead = found
    if lead is UNREAD:
        lead = db.scalar(select(Lead).where(Lead.expert_id == expert.id, Lead.client_id == client.id,
                                            Lead.service_id == service.id))
    if lead is None:
        now = utcnow()
        status = LeadStatus.BOOKED if booked else LeadStatus.SCHEDULING_IN_PROGRESS
        values = {"id": public_id("ld"), "expert_id": expert.id, "client_id": client.id, "service_id": service.id,
                  "status": status, "created_at": now, "updated_at": now}
        if insert_or_skip(db, Lead, values, ["expert_id", "client_id", "service_id"]) is None:
            touch_lead(db, expert, client, service, booked=booked)  # a parallel booking created it meanwhile
        return
    if booked:
        if lead.status != LeadStatus.BOOKED:
            lead.status = LeadStatus.BOOKED
    elif lead.status == LeadStatus.CLOSED:
        lead.status = LeadStatus.SCHEDULING_IN_PROGRESS


def mark_lead_booked(db: Session, booking: Booking) -> None:
    """A confirmed booking turns its lead ``booked`` (payments and manual confirmation both call this)."""
    lead = db.scalar(select(Lead).where(Lead.expert_id == booking.expert_id, Lead.client_id == booking.client_id,
                                        Lead.service_id == booking.service_id))
    if lead is not None and lead.status != LeadStatus.BOOKED:
        lead.status = LeadStatus.BOOKED
