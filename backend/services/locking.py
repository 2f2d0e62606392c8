"""The expert's write lock: every booking write for one expert happens under it."""
from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from backend import change_counter
from backend.models import Expert


def lock_expert(db: Session, expert_id: int) -> None:
    """Take the expert's write lock for the rest of the transaction.

    An UPDATE is a row lock on PostgreSQL and takes SQLite's single write lock
    (waiting up to the busy timeout), so two processes can never both check and
    insert for one expert. It must be the transaction's first write. The column it
    raises is also the expert's change counter (``backend/change_counter.py``), which
    keys the slots cache: the lock has moved it, so the flush hooks need not again.
    """
    db.execute(update(Expert).where(Expert.id == expert_id).values(booking_lock=Expert.booking_lock + 1))
    change_counter.note_moved(db, expert_id)
