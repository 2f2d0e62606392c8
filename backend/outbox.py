"""The transactional outbox: the one way anything leaves Kairos (emails, webhooks).

``enqueue`` only adds a row to the caller's transaction; if the booking change
rolls back, the message never existed. Delivery is the worker's job.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from backend.errors import NotAllowed, NotFound
from backend.models import OutboxMessage
from backend.types import utcnow


def enqueue(db: Session, kind: str, topic: str, payload: dict[str, Any], *, expert_id: int | None) -> OutboxMessage:
    """Add a message to the outbox inside the current transaction."""
    message = OutboxMessage(kind=kind, topic=topic, payload=payload, expert_id=expert_id, status="pending",
                            attempts=0)
    db.add(message)
    return message


def enqueue_many(db: Session, rows: list[dict[str, Any]]) -> None:
    """Add several messages (``kind``, ``topic``, ``payload``, ``expert_id``, optional ``dedupe_key``) in one
    INSERT: a booking's emails cost one statement, not one each. Nothing reads them back in the
    transaction (the worker picks them up once it commits)."""
    if rows:
        # The table's INSERT, not the ORM's: one executemany, no objects to track.
        db.execute(insert(OutboxMessage.__table__), [{"status": "pending", "attempts": 0, "dedupe_key": None, **row}
                                                     for row in rows])


def list_messages(db: Session, expert_id: int, *, status: str | None = None, limit: int = 100) -> list[OutboxMessage]:
    """The expert's emails and webhooks, newest first, optionally only those in ``status``."""
    stmt = select(OutboxMessage).where(OutboxMessage.expert_id == expert_id)
    if status is not None:
        stmt = stmt.where(OutboxMessage.status == status)
    return list(db.scalars(stmt.order_by(OutboxMessage.id.desc()).limit(limit)))


def retry_parked(db: Session, expert_id: int, message_id: int) -> OutboxMessage:
    """Send a parked message of the expert's again, with a fresh set of attempts.

    NotFound for a message that is not theirs; NotAllowed("not_parked") unless it gave up.
    """
    row = db.scalar(select(OutboxMessage).where(OutboxMessage.id == message_id,
                                                OutboxMessage.expert_id == expert_id))
    if row is None:
        raise NotFound("No such message.")
    if row.status != "parked":
        raise NotAllowed("not_parked", "Only a parked message can be retried.")
    row.status, row.attempts, row.next_attempt_at = "pending", 0, utcnow()
    db.flush()
    return row
