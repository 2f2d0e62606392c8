"""Idempotency-Key handling for creating POSTs (API.md).

The record is looked up again after the caller's lock is taken, so two retries
racing in parallel still get one booking and the same answer.
"""
from __future__ import annotations

import hashlib
import json
import typing  # typing.cast: ``cast`` here is SQL's
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, CursorResult, String, cast, delete, insert, literal, select
from sqlalchemy.orm import Session

from backend.errors import IdempotencyConflict, ValidationError
from backend.models import IdempotencyRecord
from backend.types import utcnow
from backend.unread import UNREAD

#: Replays are kept this long; then a key may be reused (Stripe keeps them 24 h too).
RETENTION = timedelta(hours=24)


@dataclass(frozen=True)
class IdempotencyKey:
    scope: str          # e.g. "booking:<expert id>", so keys of different experts never meet
    key_hash: str
    request_hash: str


def hash_key(raw_key: str | None) -> str | None:
    """The stored hash of an ``Idempotency-Key`` header value (None without one); ValidationError if malformed."""
    if raw_key is None:
        return None
    raw_key = raw_key.strip()
    if not 1 <= len(raw_key) <= 255:
        raise ValidationError(fields={"Idempotency-Key": ["Use a key of 1 to 255 characters."]})
    return hashlib.sha256(raw_key.encode()).hexdigest()


def make_key(scope: str, raw_key: str | None, body: Any) -> IdempotencyKey | None:
    """Build the key from the header value and the parsed request body (None without a header)."""
    key_hash = hash_key(raw_key)
    if key_hash is None:
        return None
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return IdempotencyKey(scope, key_hash, hashlib.sha256(canonical.encode()).hexdigest())


def booking_scope(expert_id: int, service_id: int) -> str:
    """The scope of a booking's key: one expert's service (keys of different experts never meet)."""
    return f"booking:{expert_id}:{service_id}"


def booking_scope_sql(expert_id: Any, service_id: Any) -> ColumnElement[str]:
    """``booking_scope`` as SQL over two columns, for a caller that reads the record in its own query."""
    return literal("booking:") + cast(expert_id, String) + literal(":") + cast(service_id, String)


def answer_of(record: IdempotencyRecord | None, key: IdempotencyKey | None) -> tuple[int, dict[str, Any]] | None:
    """The stored (status, body) of ``record`` if it is this key's and still kept, IdempotencyConflict if the
    body differs, else None (no record, or one past ``RETENTION`` that the next answer replaces)."""
    if key is None or record is None or record.created_at <= utcnow() - RETENTION:
        return None
    if record.request_hash != key.request_hash:
        raise IdempotencyConflict()
    return record.status_code, record.response


def replay(db: Session, key: IdempotencyKey | None) -> tuple[int, dict[str, Any]] | None:
    """The stored (status, body) for this key, IdempotencyConflict if the body differs, else None."""
    if key is None:
        return None
    return answer_of(db.scalar(select(IdempotencyRecord).where(
        IdempotencyRecord.scope == key.scope, IdempotencyRecord.key_hash == key.key_hash)), key)


def remember(db: Session, key: IdempotencyKey | None, status: int, body: dict[str, Any],
             *, known: IdempotencyRecord | None = UNREAD) -> None:
    """Store the answer in the same transaction as what it describes (one INSERT, sent at once).

    ``known``: the record of this key the caller read (None: there was none, so nothing to replace).
    A parallel retry that stores its answer first makes this INSERT fail on the unique key (IntegrityError);
    the caller then replays that answer.
    """
    if key is None:
        return
    if known is not None:  # an expired answer of the same key (or unknown): replaced
        db.execute(delete(IdempotencyRecord).where(
            IdempotencyRecord.scope == key.scope, IdempotencyRecord.key_hash == key.key_hash))
    # A table INSERT (nothing reads the record back): the unit of work would cost more than the statement.
    db.execute(insert(IdempotencyRecord.__table__), {
        "scope": key.scope, "key_hash": key.key_hash, "request_hash": key.request_hash, "status_code": status,
        "response": body, "created_at": utcnow()})


def purge_expired(db: Session, now: datetime | None = None) -> int:
    """Delete the answers that can no longer be replayed. Each one holds the booking's manage link,
    so none is kept past ``RETENTION``; the table stays as small as a day of bookings."""
    cutoff = (now or utcnow()) - RETENTION
    # A DELETE's result is a CursorResult (it has rowcount); Session.execute is typed as returning Result.
    result = typing.cast(CursorResult[Any], db.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at <= cutoff)))
    return result.rowcount or 0
