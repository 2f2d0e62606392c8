"""What the outbox worker does with calendar rows: write-back writes and health emails."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from backend.calendars import notices, writeback
from backend.links import Links
from backend.models import OutboxMessage


def handles(row: OutboxMessage) -> bool:
    """True for the rows this package delivers."""
    return row.kind == writeback.KIND or row.topic in notices.TOPICS


def prepare(db: Session, row: OutboxMessage, links: Links, send_mail: Callable[..., None]) -> Callable[[Any], None]:
    """The network part of one calendar row, with everything read beforehand."""
    if row.kind == writeback.KIND:
        return writeback.prepare(db, row)
    message = notices.build(db, row, links)
    row_id = row.id
    return lambda settings: send_mail(message, settings, row_id=row_id, manage_url=None)
