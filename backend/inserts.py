"""One INSERT that skips a row another transaction has just added, on PostgreSQL and SQLite alike.

A booking reads its client and lead before taking the expert's lock (in the one query of
``services/bookings/target``); a parallel first booking by the same person may have created them
meanwhile. ``ON CONFLICT DO NOTHING`` turns that race into "no row inserted" instead of an aborted
transaction, so the caller reads the winner's row only in that rare case.
"""
from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Table, insert, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, make_transient_to_detached


@cache
def _statement(table: Table, dialect_name: str, conflict: tuple[str, ...]) -> Any:
    """The table's INSERT … ON CONFLICT DO NOTHING RETURNING its key, built once: building it (and
    the ORM's bulk-insert path for a mapped class) cost more than sending it."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    key = table.primary_key.columns[0]
    return dialect.insert(table).on_conflict_do_nothing(index_elements=list(conflict)).returning(key)


def insert_or_skip(db: Session, model: Any, values: dict[str, Any], conflict: list[str]) -> Any | None:
    """Insert ``values`` into ``model``'s table unless a row with the same ``conflict`` columns exists;
    return the new row's primary key, or None when it was skipped.

    A table INSERT with the values as parameters: no ORM object and no autoflush (callers insert the row
    before anything that refers to it).
    """
    stmt = _statement(model.__table__, db.get_bind().dialect.name, tuple(conflict))
    return db.execute(stmt, values).scalar()


def insert_object(db: Session, obj: Any) -> None:
    """INSERT a new ORM object's row at once, as one table INSERT, and keep the object in the session as
    persistent — what a flush would do, without the unit of work's bookkeeping (a booking's hot path).

    The object must carry its own primary key (nothing is read back). Columns it leaves unset get
    their Python-side defaults, set on the object too, so reading any attribute afterwards costs no query.
    """
    mapper = inspect(type(obj))
    values: dict[str, Any] = {}
    for column in mapper.local_table.columns:
        key = mapper.get_property_by_column(column).key
        if key not in obj.__dict__:
            setattr(obj, key, _python_default(column))
        values[column.key] = getattr(obj, key)
    db.execute(insert(mapper.local_table), values)  # through the session: the change counter's hooks see it
    # The row exists: the session takes the object as if it had just loaded it.
    make_transient_to_detached(obj)
    db.add(obj)


def _python_default(column: Any) -> Any:
    """The value a flush would give ``column`` when the object leaves it unset; a default only the
    database knows (a server default, a SQL expression, a sequence) cannot be set on the object."""
    default = column.default
    if default is None and column.server_default is None:
        return None
    if default is not None and default.is_scalar:
        return default.arg
    if default is not None and default.is_callable:
        return default.arg(None)  # SQLAlchemy wraps a no-argument default to take the execution context
    raise TypeError(f"insert_object: {column} has a default only the database knows; set it on the object")
