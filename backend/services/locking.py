"""The expert's write lock: every booking write for one expert happens under it."""
from __future__ import annotations

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from backend import change_counter
from backend.models import Expert

_EXPERT = Expert.__table__  # type: ignore[attr-defined]
_LOCK = (update(_EXPERT).where(_EXPERT.c.id == bindparam("expert_id"))
         .values(booking_lock=_EXPERT.c.booking_lock + 1))


def lock_expert(db: Session, expert_id: int) -> None:
    """Take the expert's write lock for the rest of the transaction.

    An UPDATE is a row lock on PostgreSQL and takes SQLite's single write lock
    (waiting up to the busy timeout), so two processes can never both check and
    insert for one expert. It must be the transaction's first write. The column it
    raises is also the expert's change counter (``backend/change_counter.py``), which
    keys the slots cache: the lock has moved it, so the flush hooks need not again.
    """
    # The table's UPDATE, not the ORM's bulk update: nothing in the session reads the counter back, so
    # there is nothing to synchronise (the ORM's evaluation of the new value cost more than the statement).
    db.execute(_LOCK, {"expert_id": expert_id})
    change_counter.note_moved(db, expert_id)
