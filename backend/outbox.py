"""The transactional outbox: the one way anything leaves Kairos (emails, webhooks).

``enqueue`` only adds a row to the caller's transaction; if the booking change
rolls back, the message never existed. Delivery is the worker's job.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from backend.models import OutboxMessage


def enqueue(db: Session, kind: str, topic: str, payload: dict[str, Any], *, expert_id: int | None) -> OutboxMessage:
    """Add a message to the outbox inside the current transaction."""
    message = OutboxMessage(kind=kind, topic=topic, payload=payload, expert_id=expert_id, status="pending",
                            attempts=0)
    db.add(message)
    return message
