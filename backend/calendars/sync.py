"""Refreshing the cached busy intervals of calendar sources, in steps that flush (no commit).

One sync has three steps, so that no transaction is open while a calendar server is slow:
``read_plan`` (what to fetch), ``fetch_busy`` (the network, no database), ``record`` (replace the
source's rows and update its health in one transaction). The job that runs them and commits between
them is ``worker.sync_calendar``: the worker's schedule, ``POST …/sync`` and the dashboard call it.

A failed fetch keeps the last good intervals: one unreachable calendar neither empties the expert's
calendar nor opens every slot. The expert is emailed once when a source starts failing and once when
it recovers: the status it had is read under the row's lock as it changes (and a worker's claim keeps
two workers from syncing one source at once), so a notice is never queued twice.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple, cast

from sqlalchemy import CursorResult, delete, func, insert, select, update
from sqlalchemy.orm import Session

from backend.calendars import credentials, expand, fetch, notices
from backend.models import CalendarBusy, CalendarSource, CalendarType, Expert, Service
from backend.statuses import CalendarStatus

log = logging.getLogger("kairos.calendars")

#: Bookable horizon when no service limits it (``max_advance_days`` unset): a year ahead.
OPEN_HORIZON_DAYS = 365
#: Horizon of an expert without services yet.
DEFAULT_HORIZON_DAYS = 60
#: Sources synced per worker pass: a slow calendar server delays the outbox by at most a few fetches.
PER_PASS = 5
#: Also read what started before now: an event in progress still blocks.
LOOKBACK = timedelta(days=1)


@dataclass(frozen=True)
class SyncPlan:
    """Everything a fetch needs, read from the database beforehand."""

    source_id: str
    type: str
    url: str
    username: str | None
    password: str | None
    timezone: str
    start: datetime
    end: datetime
    #: Why it cannot be fetched at all (a password no configured key decrypts), else None.
    error: str | None = None


class Outcome(NamedTuple):
    """A fetch's result: the busy intervals, or why there are none this time."""

    intervals: list[tuple[datetime, datetime]] | None
    error: str | None = None


def horizon_days(db: Session, expert_id: int) -> int:
    """How far ahead clients may book this expert: the largest ``max_advance_days`` of their services."""
    rows = db.execute(select(Service.max_advance_days).where(Service.expert_id == expert_id,
                                                              Service.archived.is_(False))).scalars().all()
    if not rows:
        return DEFAULT_HORIZON_DAYS
    limits = [days for days in rows if days is not None]
    if len(limits) < len(rows):  # a service without a limit: as far as we ever look
        return OPEN_HORIZON_DAYS
    return max(min(max(limits), OPEN_HORIZON_DAYS), 1)


def read_plan(db: Session, source_id: str, settings: Any, now: datetime) -> SyncPlan | None:
    """What to fetch for ``source_id`` (None if it was removed)."""
    row = db.execute(select(CalendarSource, Expert.timezone).join(Expert, Expert.id == CalendarSource.expert_id)
                     .where(CalendarSource.id == source_id)).first()
    if row is None:
        return None
    source, tz = row
    password, error = None, None
    if source.password_encrypted:
        try:
            password = credentials.decrypt(source.password_encrypted, settings.secret_key,
                                           settings.previous_secret_keys)
        except credentials.UnreadablePassword as unreadable:
            error = str(unreadable)
    days = horizon_days(db, source.expert_id)
    return SyncPlan(source.id, source.type, source.url, source.username, password, tz, now - LOOKBACK,
                    now + timedelta(days=days + 1), error)


def fetch_busy(plan: SyncPlan, *, allow_private: bool) -> Outcome:
    """The source's busy intervals now (network; no database). A calendar's failure is an Outcome, not a raise."""
    if plan.error:
        return Outcome(None, plan.error)
    try:
        if plan.type == CalendarType.ICS:
            documents = [fetch.fetch_ics(plan.url, allow_private=allow_private)]
        else:
            documents = fetch.caldav_events(plan.url, plan.username, plan.password, plan.start, plan.end,
                                            allow_private=allow_private)
        intervals = expand.busy_intervals([expand.parse(d) for d in documents], plan.timezone, plan.start, plan.end)
    except (fetch.FetchError, expand.CalendarDataError) as error:
        return Outcome(None, str(error)[:1000])
    except Exception as error:  # a library's surprise must fail this source, not the other sources' syncs
        log.exception("calendar sync failed", extra={"calendar_id": plan.source_id})
        return Outcome(None, f"{type(error).__name__}: {str(error)[:500]}")
    return Outcome(intervals)


def record(db: Session, source_id: str, now: datetime, outcome: Outcome) -> None:
    """Store a sync's outcome (flushes): new intervals and ``ok``, or the error with the old intervals kept.

    The expert is emailed on the way into ``failing`` and on the way out of it, once each.
    """
    source = db.get(CalendarSource, source_id)
    if source is None:  # removed while we were fetching
        return
    if outcome.intervals is not None:
        db.execute(delete(CalendarBusy).where(CalendarBusy.source_id == source_id))
        if outcome.intervals:
            db.execute(insert(CalendarBusy), [{"source_id": source_id, "expert_id": source.expert_id, "start": s,
                                               "end": e} for s, e in outcome.intervals])
        before = _transition(db, source_id, to=CalendarStatus.OK, values={"last_synced_at": now, "last_error": None})
        if before == CalendarStatus.FAILING:
            notices.queue(db, source, "calendar_recovered")
    else:
        log.info("calendar sync failed", extra={"calendar_id": source_id, "error": outcome.error})
        before = _transition(db, source_id, to=CalendarStatus.FAILING, values={"last_error": outcome.error})
        if before is not None and before != CalendarStatus.FAILING:
            notices.queue(db, source, "calendar_failing", error=outcome.error)
    db.flush()


def _transition(db: Session, source_id: str, *, to: str, values: dict[str, Any]) -> str | None:
    """Set the status (and ``values``); return the status it had, read and changed under the row's write."""
    before = db.scalar(select(CalendarSource.status).where(CalendarSource.id == source_id).with_for_update())
    db.execute(update(CalendarSource).where(CalendarSource.id == source_id)
               .values(status=to, **values).execution_options(synchronize_session=False))
    return before


def claim_due(db: Session, now: datetime, every: timedelta, limit: int = PER_PASS) -> list[str]:
    """Sources due for a sync, each pushed ``every`` ahead by a conditional UPDATE that one worker wins
    (flushes; the worker commits the claim before it fetches anything)."""
    candidates = db.scalars(select(CalendarSource.id).where(CalendarSource.next_sync_at <= now)
                            .order_by(CalendarSource.next_sync_at).limit(limit)).all()
    won = []
    for source_id in candidates:
        result = cast(CursorResult[Any], db.execute(
            update(CalendarSource).where(CalendarSource.id == source_id, CalendarSource.next_sync_at <= now)
            .values(next_sync_at=now + every).execution_options(synchronize_session=False)))
        if result.rowcount == 1:
            won.append(source_id)
    return won


def failing_count(db: Session) -> int:
    """How many sources are failing now (``/healthz``)."""
    return db.scalar(select(func.count()).select_from(CalendarSource)
                     .where(CalendarSource.status == CalendarStatus.FAILING)) or 0
