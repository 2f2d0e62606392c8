"""What a client's booking reads before the expert's lock, in one query.

The expert and the service (by their slugs), the expert's availability, the client with this email
and their lead for the service, a stored answer for the Idempotency-Key, and whether the expert has
webhooks or write-back calendars. One statement instead of seven, and none of it needs the lock:

- the expert, service and availability are settings, not what the lock protects (they were read
  outside it before too; availability changes never take it);
- the client, lead and idempotency record are only starting points: a parallel booking that creates
  the client or the lead meanwhile makes our INSERT skip (``backend.inserts``), and one that stores
  this key's answer first wins the unique key, and ``create_booking`` replays its answer.

What the lock protects — the bookings, holds, sessions and calendar busy times that block the
start — is read after it, by ``services/slots`` (PostgreSQL gives each statement a fresh snapshot,
so it sees every booking committed before the lock was ours).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session

from backend import notifications
from backend.errors import NotFound
from backend.models import Availability, Client, Expert, IdempotencyRecord, Lead, Service
from backend.services import idempotency
from backend.services.clients import email_key
from backend.unread import UNREAD


@dataclass(frozen=True)
class Target:
    """What was read before the lock; ``UNREAD`` where the caller gave nothing to look for."""

    expert: Expert
    service: Service
    # Held so the session keeps it (its identity map holds rows weakly): services/slots finds it there.
    availability: Availability | None = None
    client: Any = UNREAD    # Client | None (a new client) | UNREAD
    lead: Any = UNREAD      # Lead | None | UNREAD
    record: Any = UNREAD    # IdempotencyRecord | None | UNREAD
    outlets: bool = True    # the expert has a webhook endpoint or a write-back calendar (notifications)


@cache
def _statement(with_client: bool, with_key: bool) -> Any:
    """The query, built once per shape with bound parameters (building it costs about as much as running it)."""
    stmt: Any = (select(Service, Expert, Availability, notifications.outlets_exist(Expert.id))
            .join(Expert, Expert.id == Service.expert_id)
            .outerjoin(Availability, Availability.expert_id == Expert.id)
            .where(Expert.slug == bindparam("expert_slug"), Service.slug == bindparam("service_slug")))
    if with_client:
        stmt = (stmt.add_columns(Client, Lead)
                .outerjoin(Client, and_(Client.expert_id == Expert.id, Client.email_key == bindparam("email_key")))
                .outerjoin(Lead, and_(Lead.expert_id == Expert.id, Lead.client_id == Client.id,
                                      Lead.service_id == Service.id)))
    if with_key:
        stmt = stmt.add_columns(IdempotencyRecord).outerjoin(IdempotencyRecord, and_(
            IdempotencyRecord.scope == idempotency.booking_scope_sql(Expert.id, Service.id),
            IdempotencyRecord.key_hash == bindparam("key_hash")))
    return stmt


def read_target(db: Session, expert_slug: str, service_slug: str, *, email: str | None,
                key_hash: str | None) -> Target:
    """The expert and service a client books, and what the booking will need of them, in one query.

    ``email``: the client's, to find them and their lead (None: not known yet). ``key_hash``: the
    Idempotency-Key's (``idempotency.hash_key``). NotFound for an unknown expert or service, or an
    archived service. The availability row lands in the session, where ``services/slots`` finds it
    without a statement.
    """
    params = {"expert_slug": expert_slug, "service_slug": service_slug}
    if email is not None:
        params["email_key"] = email_key(email)
    if key_hash is not None:
        params["key_hash"] = key_hash
    stmt = _statement(email is not None, key_hash is not None)
    row = db.execute(stmt, params).first()
    if row is None:
        if db.scalar(select(Expert.id).where(Expert.slug == expert_slug)) is None:
            raise NotFound(f"No expert '{expert_slug}'.")
        raise NotFound(f"No service '{service_slug}' for this expert.")
    service, expert, availability, outlets, *rest = row
    if service.archived:
        raise NotFound(f"No service '{service_slug}' for this expert.")
    client, lead = (rest[0], rest[1]) if email is not None else (UNREAD, UNREAD)
    record = rest[-1] if key_hash is not None else UNREAD
    return Target(expert, service, availability, client=client, lead=lead, record=record, outlets=bool(outlets))
