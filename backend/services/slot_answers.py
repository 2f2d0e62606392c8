"""The slots answer of ``GET …/services/{service}/slots``, computed once per change and shared.

An answer is cached under a key holding everything it depends on:

- the expert (id, and when the row was created: a database rebuilt from scratch reuses ids and
  counters) and the expert's **change counter** (``expert.booking_lock``), which every change to
  what the slots read moves in its own transaction (``backend/change_counter.py``);
- the service, the local dates, the zone and ``include_full``;
- the current **minute** (the notice and "now" move on; slots start on whole minutes);

and each entry also carries ``valid_until``, the first instant at which time alone changes it within
the minute: a hold, an offer set up by the expert or a waitlist offer lapsing, or the first slot
falling inside the notice. So a freed slot shows at once, and a slot is never offered stale.

The counter is read *first* (``head``), then the data: an answer stored under counter ``n`` is at
least as new as ``n``, and a reader who sees a newer counter never finds it.

Nothing of it depends on who is signed in: the route checks a clients-only service's access on
every request, before the cache is asked.
"""
from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, bindparam, func, select
from sqlalchemy.orm import Session

from backend import places
from backend.errors import NotFound
from backend.models import Availability, Booking, Expert, Service, WaitlistEntry
from backend.slot_cache import Entry, Store
from backend.slot_engine import busy_window, local_dates_window
from backend.statuses import BookingStatus, WaitlistStatus
from backend.timeutil import iso_in
from backend.types import UTCDateTime
from backend.views.bookings import public_location

from . import slots

#: Raise when the answer's shape changes, so no worker serves an older shape from a shared Redis.
FORMAT = 1
#: Smaller bodies are sent as they are (as ``api/pages.compress`` does).
GZIP_FROM = 512


@dataclass(frozen=True)
class Head:
    """What the cache key needs of the expert and the service, read in one statement."""

    expert_id: int
    counter: int
    born: int  # the expert row's creation, in microseconds
    service_id: int
    visibility: str
    archived: bool

    @property
    def public(self) -> bool:
        """Anyone may read its slots: no access check is needed."""
        return self.visibility == "public" and not self.archived


_HEAD = (select(Expert.id, Expert.booking_lock, Expert.created_at, Service.id, Service.visibility, Service.archived)
         .join(Service, Service.expert_id == Expert.id)
         .where(Expert.slug == bindparam("expert"), Service.slug == bindparam("service")))


_SERVICE = (select(Service, Expert, Availability).join(Expert, Expert.id == Service.expert_id)
            .outerjoin(Availability, Availability.expert_id == Expert.id)
            .where(Service.id == bindparam("service_id")))


def head(db: Session, expert: str, service: str) -> Head | None:
    """The expert's counter and the service, or None when either does not exist.

    The first read of a slots request: whatever is computed after it is at least this new.
    """
    return read_head(db.get_bind().engine, expert, service)


def read_head(engine: Engine, expert: str, service: str) -> Head | None:
    """``head`` on its own connection in autocommit: a page view served from the cache costs this one
    statement, with no BEGIN and ROLLBACK around it (the request's session never touches the database)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        row = connection.execute(_HEAD, {"expert": expert, "service": service}).first()
    if row is None:
        return None
    expert_id, counter, created, service_id, visibility, archived = row
    return Head(expert_id, counter, int(created.timestamp() * 1_000_000), service_id, visibility, bool(archived))


def cache_key(namespace: str, found: Head, start: str, end: str, timezone: str, include_full: bool,
              now: datetime) -> str:
    """Everything the answer depends on; ``start`` and ``end`` as ``YYYY-MM-DD``."""
    minute = int(now.timestamp() // 60)
    return (f"kairos:slots:{FORMAT}:{namespace}:{found.expert_id}.{found.born}.{found.counter}:{found.service_id}:"
            f"{start}:{end}:{timezone}:{int(include_full)}:{minute}")


def answer(db: Session, store: Store, namespace: str, found: Head, start: date, end: date, timezone: str,
           include_full: bool, now: datetime) -> Entry:
    """The slots answer, from the cache when it holds a fresh one, else computed and stored."""
    key = cache_key(namespace, found, start.isoformat(), end.isoformat(), timezone, include_full, now)
    stamp = now.timestamp()
    entry = store.get(key)
    if entry is not None and entry.fresh(stamp):
        return entry
    # The service with its expert and availability in one statement: the slots read the expert's zone and
    # rules, which the session then finds in its identity map (held here while they are used).
    row = db.execute(_SERVICE, {"service_id": found.service_id}).first()
    if row is None:  # removed since ``head`` (the counter moved with it)
        raise NotFound("No such service for this expert.")
    service, _expert, _availability = row
    items, valid_until = compute(db, service, start, end, timezone, include_full, now)
    body = json.dumps({"timezone": timezone, "slots": items}, separators=(",", ":")).encode()
    entry = Entry(body, gzip.compress(body, 6) if len(body) >= GZIP_FROM else None,
                  'W/"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"', valid_until.timestamp())
    store.put(key, entry, ttl=max(entry.valid_until - stamp, 0.001))  # the key holds the minute: never longer
    return entry


def compute(db: Session, service: Service, start: date, end: date, timezone: str, include_full: bool,
            now: datetime) -> tuple[list[dict[str, Any]], datetime]:
    """The slots of local dates ``[start, end]`` in ``timezone`` and the instant they stop being true
    by time alone (at most the end of the current minute)."""
    window_start, window_end = local_dates_window(start, end, timezone)
    items: list[dict[str, Any]] = []
    notice = timedelta(minutes=service.min_notice_minutes or 0)
    first = None
    if service.kind == "personal":
        found = slots.personal_slots(db, service, window_start, window_end, now)
        items = [{"start": iso_in(s.start, timezone), "end": iso_in(s.end, timezone), "seats_left": 1}
                 for s in found]
        first = found[0].start if found else None
    else:
        found_sessions = slots.session_slots(db, service, window_start, window_end, now, include_full=include_full)
        for slot, session in found_sessions:
            item = {"start": iso_in(slot.start, timezone), "end": iso_in(slot.end, timezone),
                    "seats_left": slot.seats_left, "session": session.id}
            # The place of a group, series or mini session is public (API.md).
            item["location"] = (places.with_zone(session.location, service.expert.timezone) if session.location
                                else public_location(service))
            if service.kind == "series":
                item["sessions"] = [{"start": iso_in(s.start, timezone), "end": iso_in(s.end, timezone)}
                                    for s in service.service_sessions]
            items.append(item)
        first = found_sessions[0][0].start if found_sessions else None
    rules = slots.engine_rules(service)
    lo, hi = busy_window(rules, min(window_start, now), window_end)
    minute_end = datetime.fromtimestamp((int(now.timestamp()) // 60 + 1) * 60, now.tzinfo)
    candidates = [minute_end,
                  next_lapse(db, service.expert_id, lo - slots.MAX_BOOKING, hi, now)]
    if first is not None:
        candidates.append(first - notice)  # the engine offers a start while start >= now + notice
    return items, min(c for c in candidates if c is not None)


def _next_lapse_statements():
    now = bindparam("now", type_=UTCDateTime())
    lapses = func.coalesce(Booking.hold_expires_at, Booking.expires_at)
    bookings = select(func.min(lapses)).where(
        Booking.expert_id == bindparam("expert_id"),
        Booking.start >= bindparam("lo", type_=UTCDateTime()),  # ix_booking_expert_start bounds the scan
        Booking.start < bindparam("hi", type_=UTCDateTime()),
        Booking.status.in_((BookingStatus.PENDING, BookingStatus.PENDING_PAYMENT)),
        lapses > now,
    )
    offers = select(func.min(WaitlistEntry.offer_expires_at)).where(
        WaitlistEntry.expert_id == bindparam("expert_id"),
        WaitlistEntry.status == WaitlistStatus.OFFERED,
        WaitlistEntry.offer_expires_at > now,
    )
    return bookings, offers


_LAPSE_BOOKINGS, _LAPSE_OFFERS = _next_lapse_statements()


def next_lapse(db: Session, expert_id: int, lo: datetime, hi: datetime, now: datetime) -> datetime | None:
    """The first instant after ``now`` at which something of the expert stops holding time by itself:
    a card hold (``hold_expires_at``), a session the expert set up (``expires_at``) or a waitlist offer
    (``offer_expires_at``); bookings starting in ``[lo, hi)`` only (what the busy query reads)."""
    params = {"expert_id": expert_id, "lo": lo, "hi": hi, "now": now}
    connection = db.connection()
    found = [connection.execute(_LAPSE_BOOKINGS, params).scalar(), connection.execute(_LAPSE_OFFERS, params).scalar()]
    return min((f for f in found if f is not None), default=None)
