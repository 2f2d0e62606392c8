"""One INSERT that skips a row another transaction has just added, on PostgreSQL and SQLite alike.

A booking reads its client and lead before taking the expert's lock (in the one query of
``services/bookings/target``); a parallel first booking by the same person may have created them
meanwhile. ``ON CONFLICT DO NOTHING`` turns that race into "no row inserted" instead of an aborted
transaction, so the caller reads the winner's row only in that rare case.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_or_skip(db: Session, model: Any, values: dict[str, Any], conflict: list[str]) -> Any | None:
    """Insert ``values`` into ``model``'s table unless a row with the same ``conflict`` columns exists;
    return the new row's primary key, or None when it was skipped."""
    dialect = postgresql if db.get_bind().dialect.name == "postgresql" else sqlite
    key = model.__mapper__.primary_key[0]
    stmt = dialect.insert(model).values(**values).on_conflict_do_nothing(index_elements=conflict).returning(key)
    return db.execute(stmt).scalar()
