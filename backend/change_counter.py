"""The expert's change counter: one number that every change to what the slots read moves, in the
change's own transaction.

The counter is ``expert.booking_lock``: ``services/locking.lock_expert`` already raises it as the
expert's write lock, so every booking write moves it. Everything else the slots answer reads
(``WATCHED``: availability and overrides, services, scheduled sessions and mini days, calendar busy
times and sources, waitlist offers, the expert's zone, and bookings written outside the lock) moves it
through two session hooks registered here, so no call site can forget:

- ``before_flush``: the unit of work's new, changed and deleted rows of a watched model;
- ``do_orm_execute``: bulk ``insert``/``update``/``delete`` statements on a watched table run
  through the session (``session.execute(delete(CalendarBusy)…)``, the calendar sync's path).

Both raise the counter *before* the rows are written, so the expert's row is locked first, in the
order every booking write already takes it (no new deadlock). A transaction raises it at most once
per expert: ``lock_expert`` records its own raise (``note_moved``) and the hooks skip an expert already
moved. Writes through a bare ``connection().execute`` bypass the session and would not move it; none
exists for these tables (``tests/test_architecture.py`` keeps it so).

Time moves slots too (notice, holds and offers that lapse): the slots cache handles that with the
minute in its key and each answer's own ``valid_until`` (``services/slot_answers.py``).
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import event, inspect, select, update
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from backend.models import (
    Availability,
    Booking,
    CalendarBusy,
    CalendarSource,
    Expert,
    Service,
    ServiceSession,
    WaitlistEntry,
)

#: Models the slots answer reads, and which columns of an existing row matter (None: every column).
#: An insert or a delete of any of them always counts.
WATCHED: dict[type, frozenset[str] | None] = {
    Expert: frozenset({"timezone"}),  # the fallback zone and the zone of session places; not the counter itself
    Service: None,
    Availability: None,
    ServiceSession: None,
    CalendarBusy: None,
    CalendarSource: frozenset(),  # its busy rows go with it (ON DELETE CASCADE); a sync's bookkeeping does not count
    Booking: frozenset({"expert_id", "service_id", "session_id", "start", "end", "status", "hold_expires_at",
                        "expires_at", "buffer_before_minutes", "buffer_after_minutes"}),
    WaitlistEntry: frozenset({"expert_id", "service_id", "session_id", "status", "offer_expires_at"}),
}
_BY_TABLE = {model.__table__: model for model in WATCHED}  # type: ignore[attr-defined]
_INFO_KEY = "kairos_moved_experts"
_EXPERT = Expert.__table__  # type: ignore[attr-defined]


def note_moved(db: Session, expert_id: int) -> None:
    """Record that this transaction has raised ``expert_id``'s counter (``lock_expert`` just did)."""
    db.info.setdefault(_INFO_KEY, set()).add(expert_id)


def _move(db: Session, expert_ids: Iterable[int | None]) -> None:
    """Raise the counter of each expert not yet moved in this transaction (one UPDATE, Core: no hooks)."""
    moved = db.info.setdefault(_INFO_KEY, set())
    todo = sorted({e for e in expert_ids if e is not None} - moved)  # sorted: one lock order for several experts
    if not todo:
        return
    db.connection().execute(update(_EXPERT).where(_EXPERT.c.id.in_(todo))
                            .values(booking_lock=_EXPERT.c.booking_lock + 1))
    moved.update(todo)


def _expert_of(obj: Any) -> int | None:
    if isinstance(obj, Expert):
        return obj.id
    expert_id = getattr(obj, "expert_id", None)
    if expert_id is None and getattr(obj, "expert", None) is not None:
        expert_id = obj.expert.id
    return expert_id


def _changed(obj: Any, columns: frozenset[str] | None) -> bool:
    state = inspect(obj)
    names = columns if columns is not None else [a.key for a in state.mapper.column_attrs]
    return any(state.attrs[name].history.has_changes() for name in names)


@event.listens_for(Session, "before_flush")
def _before_flush(db: Session, flush_context: Any, instances: Any) -> None:
    experts: set[int] = set()
    late: list[Any] = []  # new rows whose expert is known only once the flush has run
    for obj in (*db.new, *db.deleted, *db.dirty):
        columns = WATCHED.get(type(obj), False)
        if columns is False:
            continue
        if obj in db.dirty and obj not in db.deleted and not _changed(obj, columns):  # type: ignore[arg-type]
            continue
        expert_id = _expert_of(obj)
        if expert_id is None:
            late.append(obj)
        else:
            experts.add(expert_id)
    _move(db, experts)
    if late:
        db.info.setdefault("kairos_late_moves", []).extend(late)


@event.listens_for(Session, "after_flush")
def _after_flush(db: Session, flush_context: Any) -> None:
    late = db.info.pop("kairos_late_moves", None)
    if late:
        _move(db, (_expert_of(obj) for obj in late))


@event.listens_for(Session, "do_orm_execute")
def _bulk_statement(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    statement: Any = state.statement
    model = _BY_TABLE.get(getattr(statement, "table", None))
    if model is None:
        return
    db = state.session
    if state.is_update:
        columns = WATCHED[model]
        values = getattr(statement, "_values", None)  # no public accessor; without it, count every update
        if values is not None and columns is not None and not {getattr(k, "key", k) for k in values} & columns:
            return
    if state.is_insert:
        _move(db, _inserted_experts(model, statement, state.parameters))
        return
    column = model.__table__.c.id if model is Expert else model.__table__.c.expert_id  # type: ignore[attr-defined]
    where = statement.whereclause
    query = select(column).distinct()
    if where is not None:
        query = query.where(where)
    _move(db, db.connection().execute(query).scalars().all())  # read before the rows change (or go)


def _inserted_experts(model: type, statement: Any, parameters: Any) -> list[int | None]:
    rows = parameters if isinstance(parameters, list) else [parameters or {}]
    values = getattr(statement, "_values", None) or {}
    given = {getattr(k, "key", k): v for k, v in values.items()}
    key = "id" if model is Expert else "expert_id"
    found = [row.get(key, given.get(key)) for row in rows]
    if any(not isinstance(e, int) for e in found):
        raise RuntimeError(f"A bulk insert into {model.__name__} must give {key} as a value (the change counter "
                           "needs it): see backend/change_counter.py")
    return found


@event.listens_for(Session, "after_transaction_end")
def _forget(db: Session, transaction: SessionTransaction) -> None:
    # The record is per transaction. A savepoint ending (released or rolled back) forgets it too: at
    # worst the counter moves once more than needed, never once less.
    if transaction.parent is None or transaction.nested:
        db.info.pop(_INFO_KEY, None)
        db.info.pop("kairos_late_moves", None)
