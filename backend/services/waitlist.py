"""Waitlists of full group, series and mini sessions, and the seats offered from them.

A freed seat (a cancellation, a lapsed payment hold, a seat added, an offer let pass) is offered to
the first person waiting: the entry turns ``offered`` and holds the seat until ``offer_expires_at``
(the service's ``hold_minutes``). A held seat counts as taken for everyone else
(``slots.seats_taken``), so nobody is offered a seat that is not free and one freed seat goes to one
person at a time. Every change happens under the expert's lock, the same lock that keeps seats from
being oversold: ``offer_free_seats`` counts free seats and writes offers in the caller's transaction.
"""
from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import NotAllowed, NotFound, SlotUnavailable
from backend.models import Booking, Expert, Service, ServiceSession, WaitlistEntry
from backend.outbox import enqueue
from backend.services import slots
from backend.services.clients import find_or_create_client
from backend.services.locking import lock_expert
from backend.statuses import WaitlistStatus

#: Entries still in the queue: waiting, or holding an offered seat.
OPEN = (WaitlistStatus.WAITING, WaitlistStatus.OFFERED)
SESSION_KINDS = ("group", "series", "mini")


def join(db: Session, expert: Expert, service: Service, *, session_id: str, name: str, email: str,
         phone: str | None, timezone: str, now: datetime) -> WaitlistEntry:
    """Put a client on the waitlist of a full session (joining twice returns the same entry).

    NotAllowed("seats_left") when a seat is free right now: the client books it instead.
    """
    if service.kind not in SESSION_KINDS:
        raise NotAllowed("no_waitlist", "Only group, series and mini sessions have a waitlist.")
    lock_expert(db, expert.id)
    session = db.scalar(select(ServiceSession).where(ServiceSession.service_id == service.id,
                                                     ServiceSession.id == session_id))
    if session is None:
        raise SlotUnavailable("That session is not offered. Please pick another.")
    if service.kind == "series":
        session = slots.series_sessions(db, service)[0]  # a series is sold whole: its queue is kept on its first date
    if session.start <= now:
        raise SlotUnavailable("That session has already started. Please pick another.")
    client = find_or_create_client(db, expert, name, email, phone)
    existing = db.scalar(select(WaitlistEntry).where(WaitlistEntry.session_id == session.id,
                                                     WaitlistEntry.client_id == client.id,
                                                     WaitlistEntry.status.in_(OPEN)))
    if existing is not None:
        return existing
    if slots.check_session(db, service, session, now):
        raise NotAllowed("seats_left", "This session has a free seat: book it now.")
    entry = WaitlistEntry(expert_id=expert.id, service_id=service.id, session_id=session.id, client_id=client.id,
                          status=WaitlistStatus.WAITING, timezone=timezone, created_at=now)
    db.add(entry)
    db.flush()
    return entry


def position(db: Session, entry: WaitlistEntry) -> int:
    """1 for the first person waiting for the session (an entry holding an offer counts as 1)."""
    if entry.status != WaitlistStatus.WAITING:
        return 1 if entry.status == WaitlistStatus.OFFERED else 0
    ahead = db.scalars(select(WaitlistEntry.id).where(
        WaitlistEntry.session_id == entry.session_id, WaitlistEntry.status == WaitlistStatus.WAITING,
        (WaitlistEntry.created_at < entry.created_at)
        | ((WaitlistEntry.created_at == entry.created_at) & (WaitlistEntry.id < entry.id)))).all()
    return len(ahead) + 1


def offer_free_seats(db: Session, service: Service, session: ServiceSession, now: datetime) -> list[WaitlistEntry]:
    """Under the expert's lock (the caller holds it): offer each free seat of ``session`` to the next
    person waiting, one person per seat; queue their email. Returns the new offers."""
    offered: list[WaitlistEntry] = []
    while True:
        if not slots.check_session(db, service, session, now):
            return offered  # no seat free (offers still open hold theirs), or the session is past notice
        entry = db.scalar(select(WaitlistEntry)
                          .where(WaitlistEntry.session_id == session.id, WaitlistEntry.status == WaitlistStatus.WAITING)
                          .order_by(WaitlistEntry.created_at, WaitlistEntry.id).limit(1))
        if entry is None:
            return offered
        entry.status = WaitlistStatus.OFFERED
        entry.offer_nonce = secrets.token_hex(16)
        entry.offered_at = now
        entry.offer_expires_at = now + timedelta(minutes=service.hold_minutes or 15)
        enqueue(db, "email", "waitlist_offer", {"waitlist_entry_id": entry.id, "nonce": entry.offer_nonce,
                                                "to": entry.client.email}, expert_id=entry.expert_id)
        db.flush()  # the next check counts this held seat
        offered.append(entry)


def lapse_offers(db: Session, expert_id: int, now: datetime) -> list[WaitlistEntry]:
    """Under the expert's lock: offers whose time ran out turn ``lapsed`` (their seat is free again)."""
    lapsed = list(db.scalars(select(WaitlistEntry).where(WaitlistEntry.expert_id == expert_id,
                                                         WaitlistEntry.status == WaitlistStatus.OFFERED,
                                                         WaitlistEntry.offer_expires_at <= now)))
    for entry in lapsed:
        entry.status = WaitlistStatus.LAPSED
    db.flush()
    return lapsed


def after_seat_freed(db: Session, booking: Booking, now: datetime) -> None:
    """Inside a cancellation's (or a move's) transaction, under the lock: offer the seat it freed."""
    if booking.session is None or booking.service.kind not in SESSION_KINDS:
        return
    session = booking.session
    if booking.service.kind == "series":
        session = slots.series_sessions(db, booking.service)[0]  # a series waitlist is kept on its first date
    offer_free_seats(db, booking.service, session, now)


def sweep_expert(db: Session, expert_id: int, now: datetime) -> int:
    """The worker's pass for one expert: take the lock, lapse old offers, offer every seat that is
    free (lapsed holds and offers, seats added). Flushes; the worker commits. Returns new offers."""
    lock_expert(db, expert_id)
    lapse_offers(db, expert_id, now)
    session_ids = db.scalars(select(WaitlistEntry.session_id).distinct()
                             .where(WaitlistEntry.expert_id == expert_id,
                                    WaitlistEntry.status == WaitlistStatus.WAITING)).all()
    made = 0
    for session_id in sorted(session_ids):
        session = db.get(ServiceSession, session_id)
        if session is None or session.start <= now:
            continue
        service = db.get(Service, session.service_id)
        if service is None:
            continue
        made += len(offer_free_seats(db, service, session, now))
    return made


def experts_with_queues(db: Session) -> list[int]:
    """Experts who have someone waiting or an offer open (the worker sweeps these)."""
    return sorted(db.scalars(select(WaitlistEntry.expert_id).distinct().where(WaitlistEntry.status.in_(OPEN))))


def find_offer(db: Session, token: str, verify: Callable[[str, Callable[[str], str | None]], str | None]
               ) -> WaitlistEntry:
    """The entry a waitlist link opens (``verify`` is ``Links.waitlist_entry_id``); NotFound otherwise."""
    def nonce_of(entry_id: str) -> str | None:
        return db.scalar(select(WaitlistEntry.offer_nonce).where(WaitlistEntry.id == entry_id))
    entry_id = verify(token, nonce_of)
    entry = db.get(WaitlistEntry, entry_id) if entry_id else None
    if entry is None:
        raise NotFound("This link is not valid.")
    return entry


def claim_offer(db: Session, entry: WaitlistEntry, service: Service, now: datetime) -> WaitlistEntry:
    """Under the lock, when booking with an offer link: the entry if its held seat is still theirs."""
    db.refresh(entry)
    if entry.service_id != service.id:
        raise NotFound("This link is not valid.")
    if entry.status == WaitlistStatus.BOOKED:
        raise NotAllowed("already_booked", "You have already booked this seat.")
    if entry.status != WaitlistStatus.OFFERED or entry.offer_expires_at is None or entry.offer_expires_at <= now:
        raise SlotUnavailable("The seat held for you was released. You are no longer holding a place.")
    return entry


def mark_booked(db: Session, entry: WaitlistEntry, booking: Booking) -> None:
    """The offered seat became ``booking``: the entry leaves the queue."""
    entry.status = WaitlistStatus.BOOKED
    entry.booking_id = booking.id
    db.flush()


def list_for_session(db: Session, expert: Expert, session_id: str) -> list[WaitlistEntry]:
    """The expert's view of one session's queue: people waiting or holding an offer, first first."""
    return list(db.scalars(select(WaitlistEntry).where(WaitlistEntry.expert_id == expert.id,
                                                       WaitlistEntry.session_id == session_id,
                                                       WaitlistEntry.status.in_(OPEN))
                           .order_by(WaitlistEntry.created_at, WaitlistEntry.id)))


def list_open(db: Session, expert: Expert) -> list[WaitlistEntry]:
    """Every queue of the expert's upcoming sessions: who waits or holds an offer, by session then turn."""
    return list(db.scalars(select(WaitlistEntry).join(ServiceSession, WaitlistEntry.session_id == ServiceSession.id)
                           .where(WaitlistEntry.expert_id == expert.id, WaitlistEntry.status.in_(OPEN))
                           .order_by(ServiceSession.start, WaitlistEntry.session_id, WaitlistEntry.created_at,
                                     WaitlistEntry.id)))


def remove(db: Session, expert: Expert, entry_id: str, now: datetime) -> WaitlistEntry:
    """The expert takes someone off a waitlist; a seat they were holding goes to the next person."""
    lock_expert(db, expert.id)
    entry = db.scalar(select(WaitlistEntry).where(WaitlistEntry.id == entry_id, WaitlistEntry.expert_id == expert.id))
    if entry is None:
        raise NotFound("No such waitlist entry.")
    if entry.status not in OPEN:
        raise NotAllowed("not_waiting", "This person is no longer on the waitlist.")
    was_offered = entry.status == WaitlistStatus.OFFERED
    entry.status = WaitlistStatus.REMOVED
    db.flush()
    if was_offered:
        offer_free_seats(db, entry.service, entry.session, now)
    return entry
