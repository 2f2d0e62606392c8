"""Feeds the pure slot engine from the database: one query for the bookings that matter."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import BindParameter, and_, bindparam, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from backend import slot_engine as engine
from backend.models import Availability, Booking, CalendarBusy, Service, ServiceSession, WaitlistEntry
from backend.schemas import WEEKDAYS, parse_hhmm
from backend.statuses import WaitlistStatus
from backend.types import UTCDateTime

#: Longest any booking can last (a service is at most a day); bounds the index range scan.
MAX_BOOKING = timedelta(days=1)


def engine_availability(av: Availability | None, fallback_tz: str) -> engine.Availability:
    """The stored weekly rules and overrides as the engine's value object."""
    if av is None:
        return engine.Availability(timezone=fallback_tz, weekly={}, overrides={})
    weekly = {
        WEEKDAYS.index(day): tuple((parse_hhmm(a), parse_hhmm(b)) for a, b in intervals)
        for day, intervals in (av.weekly or {}).items()
    }
    overrides = {
        date.fromisoformat(d): tuple((parse_hhmm(a), parse_hhmm(b)) for a, b in intervals)
        for d, intervals in (av.overrides or {}).items()
    }
    return engine.Availability(timezone=av.timezone, weekly=weekly, overrides=overrides)


def engine_rules(service: Service) -> engine.ServiceRules:
    return engine.ServiceRules(
        duration_minutes=service.duration_minutes,
        interval_minutes=service.slot_interval_minutes,
        buffer_before_minutes=service.buffer_before_minutes,
        buffer_after_minutes=service.buffer_after_minutes,
        min_notice_minutes=service.min_notice_minutes,
        max_advance_days=service.max_advance_days,
        daily_limit=service.daily_limit,
    )


def blocking_clause(now):
    """Bookings that hold their time: confirmed, pending, and holds that have not expired.

    A pending session the expert set up, and its card payment (``pending_payment`` without a hold),
    keep the time reserved until the offer's ``expires_at``, if it has one. An expired hold or a
    lapsed offer stops blocking at once, with no cron: the clause is evaluated at ``now``.
    """
    return or_(
        Booking.status == "confirmed",
        and_(Booking.status.in_(("pending", "pending_payment")), Booking.hold_expires_at.is_(None),
             or_(Booking.expires_at.is_(None), Booking.expires_at > now)),
        and_(Booking.status == "pending_payment", Booking.hold_expires_at > now),
    )


def reserved_by_expert(booking: Booking, now: datetime) -> bool:
    """``blocking_clause`` for one booking the expert set up: its time stays reserved, no hold counts down."""
    return (booking.source == "expert" and booking.status in ("pending", "pending_payment")
            and booking.hold_expires_at is None and (booking.expires_at is None or booking.expires_at > now))


def _busy_statement(exclude: bool):
    """The busy query, built once with bound parameters: building SQL expressions per request
    costs about as much as running the query."""
    now = bindparam("now", type_=UTCDateTime())
    lo, hi = bindparam("lo", type_=UTCDateTime()), bindparam("hi", type_=UTCDateTime())
    scan_from = bindparam("scan_from", type_=UTCDateTime())
    expert: BindParameter[int] = bindparam("expert_id")  # typed by the column it is compared with
    bookings = select(Booking.start, Booking.end, Booking.buffer_before_minutes, Booking.buffer_after_minutes,
                      Booking.service_id).where(
        Booking.expert_id == expert,
        Booking.start >= scan_from,  # lets ix_booking_expert_start bound the scan
        Booking.start < hi,
        Booking.end > lo,
        Booking.session_id.is_(None),
        blocking_clause(now),
    )
    if exclude:
        bookings = bookings.where(Booking.id != bindparam("exclude_id"))
    sessions = select(ServiceSession.start, ServiceSession.end, literal(0), literal(0), literal(None)).where(
        ServiceSession.expert_id == expert,
        ServiceSession.start >= scan_from,
        ServiceSession.start < hi,
        ServiceSession.end > lo,
    )
    # The expert's own calendars (cached by the worker, never fetched here): busy like a booking
    # without buffers of its own; the service's buffers still keep slots clear of it.
    calendars = select(CalendarBusy.start, CalendarBusy.end, literal(0), literal(0), literal(None)).where(
        CalendarBusy.expert_id == expert,
        CalendarBusy.start >= scan_from,  # pieces last at most a day (calendars/expand.py)
        CalendarBusy.start < hi,
        CalendarBusy.end > lo,
    )
    # Unordered: the engine sorts the (nearly sorted) spans itself.
    return union_all(bookings, sessions, calendars)


_BUSY = {False: _busy_statement(False), True: _busy_statement(True)}


def load_busy(db: Session, service: Service, start: datetime, end: datetime, now: datetime,
              *, exclude_booking_id: str | None = None) -> list[engine.Busy]:
    """What blocks this expert's time in [start, end), whatever the service: personal bookings
    that hold their time (see ``blocking_clause``), every scheduled session (the expert is at
    the workshop even before anyone books it) and the busy times of the expert's own calendars.
    One query, three index range scans (UNION ALL)."""
    params = {"expert_id": service.expert_id, "scan_from": start - MAX_BOOKING, "lo": start, "hi": end, "now": now}
    if exclude_booking_id:
        params["exclude_id"] = exclude_booking_id
    # Core execution and .all(): the ORM and row-by-row fetching cost more than the slot engine itself.
    rows = db.connection().execute(_BUSY[bool(exclude_booking_id)], params).all()
    Busy, own = engine.Busy, service.id
    return [Busy(s, e, bb, ba, sid == own) for s, e, bb, ba, sid in rows]


def personal_slots(db: Session, service: Service, window_start: datetime, window_end: datetime,
                   now: datetime) -> list[engine.Slot]:
    """Bookable slots of a personal service whose start is in the window."""
    av = db.get(Availability, service.expert_id)
    availability = engine_availability(av, service.expert.timezone)
    rules = engine_rules(service)
    busy_start, busy_end = engine.busy_window(rules, window_start, window_end)
    busy = load_busy(db, service, busy_start, busy_end, now)
    return engine.personal_slots(availability, rules, busy, window_start, window_end, now)


def check_personal_start(db: Session, service: Service, start: datetime, now: datetime,
                         *, exclude_booking_id: str | None = None) -> engine.Slot | None:
    """The slot starting at ``start`` if the engine would offer it right now, else None.

    Called inside the booking transaction, after the expert's lock is taken, so what
    it sees cannot change before the insert.
    """
    av = db.get(Availability, service.expert_id)
    availability = engine_availability(av, service.expert.timezone)
    rules = engine_rules(service)
    busy_start, busy_end = engine.busy_window(rules, start, start + timedelta(minutes=1))
    busy = load_busy(db, service, busy_start, busy_end, now, exclude_booking_id=exclude_booking_id)
    return engine.is_bookable(availability, rules, busy, start, now)


def seats_taken(db: Session, service: Service, session_ids: list[str], now: datetime,
                *, exclude_booking_id: str | None = None, exclude_offer_id: str | None = None) -> dict[str, int]:
    """Seats held or booked per session, counting only bookings that still hold a seat and the
    seats held for waitlisted clients by an offer still open (``exclude_offer_id``: the offer of
    the client booking now, whose own held seat is theirs).

    A series booking is one row that takes a seat in every session of the series, so for a
    series every session counts all of the service's bookings (and offers).
    """
    if not session_ids:
        return {}
    offers = (WaitlistEntry.status == WaitlistStatus.OFFERED) & (WaitlistEntry.offer_expires_at > now)
    if exclude_offer_id:
        offers = offers & (WaitlistEntry.id != exclude_offer_id)
    if service.kind == "series":
        booked = select(func.count()).select_from(Booking).where(Booking.service_id == service.id,
                                                                  blocking_clause(now))
        if exclude_booking_id:
            booked = booked.where(Booking.id != exclude_booking_id)
        held = db.scalar(select(func.count()).select_from(WaitlistEntry)
                         .where(WaitlistEntry.service_id == service.id, offers)) or 0
        seats = (db.scalar(booked) or 0) + held
        return {sid: seats for sid in session_ids}
    query = (
        select(Booking.session_id, func.count())
        .where(Booking.session_id.in_(session_ids), blocking_clause(now))
        .group_by(Booking.session_id)
    )
    if exclude_booking_id:
        query = query.where(Booking.id != exclude_booking_id)
    # session_id is nullable, but IN (...) never matches NULL: the None tests only narrow the type.
    taken = {sid: n for sid, n in db.execute(query) if sid is not None}
    held_query = (select(WaitlistEntry.session_id, func.count())
                  .where(WaitlistEntry.session_id.in_(session_ids), offers).group_by(WaitlistEntry.session_id))
    for sid, n in db.execute(held_query):
        if sid is not None:
            taken[sid] = taken.get(sid, 0) + n
    return taken


def series_sessions(db: Session, service: Service) -> list[ServiceSession]:
    """Every session of a series, in order (a series is sold whole)."""
    return list(db.scalars(select(ServiceSession).where(ServiceSession.service_id == service.id)
                           .order_by(ServiceSession.start)))


def sessions_in(db: Session, service: Service, window_start: datetime, window_end: datetime) -> list[ServiceSession]:
    return list(db.scalars(
        select(ServiceSession)
        .where(ServiceSession.service_id == service.id, ServiceSession.start >= window_start,
               ServiceSession.start < window_end)
        .order_by(ServiceSession.start)
    ))


def session_slots(db: Session, service: Service, window_start: datetime, window_end: datetime,
                  now: datetime, *, include_full: bool = False) -> list[tuple[engine.SessionSlot, ServiceSession]]:
    """Scheduled sessions with seats left, as the engine filters them (notice, advance window).

    A series is offered as one slot: its first session, with the fewest seats left of any of
    its sessions, and only while that first session is still ahead. ``include_full`` adds the
    full sessions the rules would otherwise offer, with ``seats_left`` 0 (the widget offers their
    waitlist).
    """
    rules = engine_rules(service)
    if service.kind == "series":
        sessions = series_sessions(db, service)
        if not sessions or not (window_start <= sessions[0].start < window_end):
            return []
        taken = seats_taken(db, service, [s.id for s in sessions], now)
        first = sessions[0]
        seats = min(s.capacity - taken.get(s.id, 0) for s in sessions)
        info = engine.SessionInfo(id=first.id, start=first.start, end=first.end,
                                  capacity=seats + taken.get(first.id, 0), taken=taken.get(first.id, 0))
        infos = [info]
        by_id = {first.id: first}
    else:
        sessions = sessions_in(db, service, window_start, window_end)
        taken = seats_taken(db, service, [s.id for s in sessions], now)
        by_id = {s.id: s for s in sessions}
        infos = [engine.SessionInfo(id=s.id, start=s.start, end=s.end, capacity=s.capacity,
                                    taken=taken.get(s.id, 0)) for s in sessions]
    found = engine.session_slots(infos, rules, window_start, window_end, now)
    if include_full:
        # The same rules decide which full sessions would be offered; they come back with no seat.
        full = [replace(i, capacity=1, taken=0) for i in infos if i.capacity - i.taken <= 0]
        found += [replace(slot, seats_left=0)
                  for slot in engine.session_slots(full, rules, window_start, window_end, now)]
        found.sort(key=lambda slot: (slot.start, slot.session_id))
    return [(slot, by_id[slot.session_id]) for slot in found]


def check_session(db: Session, service: Service, session: ServiceSession, now: datetime,
                  *, exclude_booking_id: str | None = None, exclude_offer_id: str | None = None) -> bool:
    """True if a seat of ``session`` (for a series: of every session) can be booked right now."""
    if service.kind == "series":
        sessions = series_sessions(db, service)
        if not sessions or sessions[0].id != session.id:
            return False
        taken = seats_taken(db, service, [s.id for s in sessions], now, exclude_booking_id=exclude_booking_id,
                            exclude_offer_id=exclude_offer_id)
        if any(s.capacity - taken.get(s.id, 0) <= 0 for s in sessions):
            return False  # all or nothing: one full session makes the whole series full
    taken_here = seats_taken(db, service, [session.id], now, exclude_booking_id=exclude_booking_id,
                             exclude_offer_id=exclude_offer_id).get(session.id, 0)
    info = engine.SessionInfo(session.id, session.start, session.end, session.capacity, taken_here)
    return bool(engine.session_slots([info], engine_rules(service), session.start,
                                     session.start + timedelta(seconds=1), now))


def slot_view(slot: engine.Slot, tz: str, iso) -> dict[str, Any]:
    return {"start": iso(slot.start, tz), "end": iso(slot.end, tz), "seats_left": 1}
