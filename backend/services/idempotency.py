"""Idempotency-Key handling for creating POSTs (API.md).

The record is looked up again after the caller's lock is taken, so two retries
racing in parallel still get one booking and the same answer.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from backend.errors import IdempotencyConflict, ValidationError
from backend.models import IdempotencyRecord
from backend.types import utcnow

#: Replays are kept this long; then a key may be reused (Stripe keeps them 24 h too).
RETENTION = timedelta(hours=24)


@dataclass(frozen=True)
class IdempotencyKey:
    scope: str          # e.g. "booking:<expert id>", so keys of different experts never meet
    key_hash: str
    request_hash: str


def make_key(scope: str, raw_key: str | None, body: Any) -> IdempotencyKey | None:
    """Build the key from the header value and the parsed request body (None without a header)."""
    if raw_key is None:
        return None
    raw_key = raw_key.strip()
    if not 1 <= len(raw_key) <= 255:
        raise ValidationError(fields={"Idempotency-Key": ["Use a key of 1 to 255 characters."]})
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return IdempotencyKey(scope, hashlib.sha256(raw_key.encode()).hexdigest(),
                          hashlib.sha256(canonical.encode()).hexdigest())


def replay(db: Session, key: IdempotencyKey | None) -> tuple[int, dict[str, Any]] | None:
    """The stored (status, body) for this key, IdempotencyConflict if the body differs, else None."""
    if key is None:
        return None
    record = db.scalar(select(IdempotencyRecord).where(
        IdempotencyRecord.scope == key.scope, IdempotencyRecord.key_hash == key.key_hash,
        IdempotencyRecord.created_at > utcnow() - RETENTION))
    if record is None:
        return None
    if record.request_hash != key.request_hash:
        raise IdempotencyConflict()
    return record.status_code, record.response


def remember(db: Session, key: IdempotencyKey | None, status: int, body: dict[str, Any]) -> None:
    """Store the answer in the same transaction as what it describes."""
    if key is None:
        return
    db.execute(delete(IdempotencyRecord).where(
        IdempotencyRecord.scope == key.scope, IdempotencyRecord.key_hash == key.key_hash))
    db.add(IdempotencyRecord(scope=key.scope, key_hash=key.key_hash, request_hash=key.request_hash,
                             status_code=status, response=body))


def purge_expired(db: Session, now: datetime | None = None) -> int:
    """Delete the answers that can no longer be replayed. Each one holds the booking's manage link,
    so none is kept past ``RETENTION``; the table stays as small as a day of bookings."""
    cutoff = (now or utcnow()) - RETENTION
    return db.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at <= cutoff)).rowcount or 0
