"""The outbox worker: delivers emails and webhooks with retries, and queues reminders.

Any number of workers may run at once (``kairos worker`` on several hosts, plus the
in-process one of ``kairos serve``). A worker *claims* due rows by pushing their
``next_attempt_at`` forward by a lease in a short transaction, then delivers with no
transaction open:

- PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED``, so workers never wait on each other;
- SQLite: a conditional ``UPDATE … WHERE next_attempt_at <= now`` per row, whose rowcount
  says who won (SQLite has one writer at a time, so exactly one does).

A claimed row is invisible to other workers until its lease ends; a worker that dies
mid-send leaves it to be retried after the lease (at-least-once: webhook receivers
de-duplicate by event id, emails keep a stable Message-ID). Before each message of a batch
the worker renews that message's lease, on the condition that the lease is still the one it
took: a batch that outlived its lease is not sent twice, the rows another worker took over are
skipped. Failures back off exponentially with jitter (``KAIROS_OUTBOX_RETRY_SECONDS``); after
``MAX_ATTEMPTS`` a row is ``parked``: kept, listed for the expert and retriable, never dropped.

Per booking and destination, messages go out in the order they were written: a message is
not claimed while an earlier one of the same booking to the same webhook endpoint (or the
same email address) is still pending, including one waiting for its retry, so a receiver never
gets ``booking.cancelled`` before the ``booking.created`` it follows.
"""
from __future__ import annotations

import logging
import random
import smtplib
import threading
import time
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, cast
from urllib.parse import unquote, urlparse

from flask import Flask, current_app
from sqlalchemy import CursorResult, and_, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, contains_eager

from backend import notifications
from backend.calendars import delivery as calendar_delivery
from backend.calendars import sync as calendar_sync
from backend.extensions import db
from backend.links import Links, links_for
from backend.models import Booking, OutboxMessage, Service, WaitlistEntry, WebhookEndpoint
from backend.notifications import account_emails, emails, failures
from backend.notifications.webhooks import deliver
from backend.payments import ledger
from backend.services import idempotency, waitlist
from backend.statuses import WaitlistStatus
from backend.types import utcnow

log = logging.getLogger("kairos.worker")

MAX_ATTEMPTS = 10  # with BASE_DELAY below: about 8.5 hours of trying before a message is parked
BASE_DELAY = timedelta(seconds=60)  # the default of KAIROS_OUTBOX_RETRY_SECONDS
MAX_DELAY = timedelta(hours=6)
LEASE = timedelta(minutes=5)  # the default of KAIROS_OUTBOX_LEASE_SECONDS: longer than any single delivery
SMTP_TIMEOUT_SECONDS = 30
POLL_SECONDS = 1.0
REMINDER_EVERY_SECONDS = 60.0
#: How often a worker deletes expired idempotency records (any worker may; the DELETE is idempotent).
HOUSEKEEPING_EVERY_SECONDS = 600.0
#: Offers lapse and freed seats are offered within this many seconds.
WAITLIST_EVERY_SECONDS = 15.0
MAX_REMINDER_HOURS = 24 * 14


class PermanentError(Exception):
    """Retrying cannot help (the booking or the endpoint is gone): park at once."""


def backoff(attempts: int, base: timedelta = BASE_DELAY) -> timedelta:
    """Delay before the next try after ``attempts`` failed ones: doubling, capped, with ±20% jitter
    so a recovering SMTP server is not hit by every message in the same second."""
    delay = min(base * (2 ** max(attempts - 1, 0)), MAX_DELAY)
    return delay * random.uniform(0.8, 1.2)


# --- claiming -------------------------------------------------------------------------------

def _due(now: datetime):
    return (OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now, ~_earlier_one_pending())


def _earlier_one_pending():
    """True for a row with an older pending row of the same booking, kind and destination (the webhook
    endpoint, or the email address): it waits its turn. Rows without a booking (account emails,
    waitlist offers) and calendar rows (which converge on the booking as it is) never wait."""
    earlier = aliased(OutboxMessage)

    def key(row, name: str):
        return row.payload[name].as_string()
    same_destination = or_(
        and_(OutboxMessage.kind == "webhook", key(earlier, "endpoint_id") == key(OutboxMessage, "endpoint_id")),
        and_(OutboxMessage.kind == "email", key(earlier, "to") == key(OutboxMessage, "to")))
    # Pending rows are few next to sent ones, and ix_outbox_due starts with the status.
    return exists().where(earlier.status == "pending", earlier.id < OutboxMessage.id, earlier.kind == OutboxMessage.kind,
                          key(earlier, "booking_id") == key(OutboxMessage, "booking_id"), same_destination)


def claim(session: Session, now: datetime, limit: int, lease: timedelta = LEASE) -> list[int]:
    """Take up to ``limit`` due rows for this worker (leased until ``now + lease``); return their ids.

    Leaves the claiming transaction open; the caller commits it.
    """
    lease_until = now + lease
    if session.get_bind().dialect.name == "postgresql":
        rows = session.scalars(select(OutboxMessage).where(*_due(now)).order_by(OutboxMessage.next_attempt_at)
                               .limit(limit).with_for_update(skip_locked=True)).all()
        for row in rows:
            row.next_attempt_at = lease_until
            row.attempts += 1  # counted at claim: a message that kills its worker still ends up parked
        session.flush()
        return [row.id for row in rows]
    while True:
        candidates = session.scalars(select(OutboxMessage.id).where(*_due(now))
                                     .order_by(OutboxMessage.next_attempt_at).limit(limit)).all()
        won = []
        for message_id in candidates:
            result = cast(CursorResult[Any], session.execute(
                update(OutboxMessage).where(OutboxMessage.id == message_id, *_due(now))
                .values(next_attempt_at=lease_until, attempts=OutboxMessage.attempts + 1)
                .execution_options(synchronize_session=False)))
            if result.rowcount == 1:  # 0: another worker claimed it between our SELECT and our UPDATE
                won.append(message_id)
        # Losing every candidate to faster workers is not "nothing due": look again (the rows they
        # took are leased now, so this ends once we win some or nothing due is left).
        if won or not candidates:
            return won


# --- delivery -------------------------------------------------------------------------------

def deliver_due(app_or_session: Flask | Session, now: datetime | None = None, limit: int = 50,
                stop: threading.Event | None = None) -> int:
    """Claim and deliver what is due at ``now``; return how many rows were attempted.

    When ``stop`` is set mid-batch, the claims not yet delivered are handed back at once (not left
    to their lease), so another worker sends them without waiting.
    """
    if isinstance(app_or_session, Flask):
        with app_or_session.app_context():
            return _deliver_due(db.session(), now or utcnow(), limit, stop)
    return _deliver_due(app_or_session, now or utcnow(), limit, stop)


def _release(session: Session, ids: list[int], now: datetime) -> None:
    """Give back claimed, undelivered messages: due now, and the attempt they were charged undone."""
    session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids), OutboxMessage.status == "pending")
                    .values(next_attempt_at=now, attempts=OutboxMessage.attempts - 1)
                    .execution_options(synchronize_session=False))
    session.commit()


def _deliver_due(session: Session, now: datetime, limit: int, stop: threading.Event | None = None) -> int:
    settings = current_app.config["KAIROS"]
    links = links_for(settings)
    lease = timedelta(seconds=settings.outbox_lease_seconds)
    started = time.monotonic()
    try:
        ids = claim(session, now, limit, lease)
        session.commit()
    except Exception:
        session.rollback()
        raise
    held = now + lease  # the lease every claimed row carries, which says they are still ours
    for index, message_id in enumerate(ids):
        if stop is not None and stop.is_set():
            _release(session, ids[index:], now)
            return index
        # The same clock as ``now`` (tests pass their own), moved on by the time this batch has taken.
        renewed = now + timedelta(seconds=time.monotonic() - started) + lease
        _deliver_one(session, message_id, now, links, settings, held=held, renewed=renewed)
    return len(ids)


def _renew_lease(session: Session, message_id: int, held: datetime, renewed: datetime) -> bool:
    """Extend this message's lease to ``renewed`` if it is still the one we took (``held``).

    False when the batch outlived the lease and another worker claimed the row (or it was acted on):
    then it is theirs, and sending it here too would deliver it twice.
    """
    result = cast(CursorResult[Any], session.execute(update(OutboxMessage).where(
        OutboxMessage.id == message_id, OutboxMessage.status == "pending", OutboxMessage.next_attempt_at == held)
        .values(next_attempt_at=renewed).execution_options(synchronize_session=False)))
    session.commit()
    return result.rowcount == 1


def _deliver_one(session: Session, message_id: int, now: datetime, links: Links, settings: Any, *,
                 held: datetime | None = None, renewed: datetime | None = None) -> None:
    error: str | None = None
    attempts = MAX_ATTEMPTS  # if the row cannot even be read, park it rather than loop on it
    try:
        if held is not None and renewed is not None and not _renew_lease(session, message_id, held, renewed):
            log.info("outbox lease lost to another worker", extra={"outbox_id": message_id})
            return
        row = session.get(OutboxMessage, message_id)
        if row is None or row.status != "pending":
            session.rollback()
            return
        attempts = row.attempts
        job = _prepare(session, row, links)
        session.commit()  # end the read: no transaction stays open while we talk to the network
        job(settings)
    except PermanentError as exc:
        error, attempts = str(exc), MAX_ATTEMPTS
    except Exception as exc:  # anything else is retried: the network, the receiver, a bug fixed later
        error = f"{type(exc).__name__}: {exc}"[:2000]
        reason = failures.permanent(exc)
        if reason:  # the message itself can never be sent: park it now, where the expert sees it
            error, attempts = f"{reason} ({error})"[:2000], MAX_ATTEMPTS
    session.rollback()
    if error is None:
        values: dict[str, Any] = {"status": "sent", "sent_at": utcnow(), "last_error": None}
    elif attempts >= MAX_ATTEMPTS:
        values = {"status": "parked", "last_error": error}
        log.warning("outbox message parked", extra={"outbox_id": message_id, "error": error})
    else:
        values = {"next_attempt_at": now + backoff(attempts, timedelta(seconds=settings.outbox_retry_seconds)),
                  "last_error": error}
        log.info("outbox delivery failed, will retry", extra={"outbox_id": message_id, "error": error})
    # Only a row still pending is updated: an expert may have acted on it meanwhile.
    session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id, OutboxMessage.status == "pending")
                    .values(**values).execution_options(synchronize_session=False))
    session.commit()


def _prepare(session: Session, row: OutboxMessage, links: Links):
    """Read what the delivery needs from the database; return the network part as a callable."""
    payload = dict(row.payload)
    if calendar_delivery.handles(row):
        return calendar_delivery.prepare(session, row, links, send_mail)
    if row.kind == "webhook":
        endpoint = session.get(WebhookEndpoint, payload["endpoint_id"])
        if endpoint is None or not endpoint.active:
            raise PermanentError("The webhook endpoint was deleted or turned off.")
        url, secret, event = endpoint.url, endpoint.secret, payload["event"]

        def send_webhook(settings: Any) -> None:
            deliver(url, secret, event, allow_private=settings.webhook_allow_private)
        return send_webhook

    if row.topic == "waitlist_offer":
        return _prepare_waitlist_offer(session, row, links)
    domain = emails.sender_address(links.base_url).split("@", 1)[1]
    if row.topic in account_emails.TOPICS:  # about a client's account, not one booking
        account = account_emails.build(row.topic, payload, base_url=links.base_url,
                                       message_id=f"<outbox.{row.id}@{domain}>")

        def send_account_email(settings: Any) -> None:
            send_mail(account, settings, row_id=row.id, manage_url=None)
        return send_account_email

    booking = session.get(Booking, payload["booking_id"])
    if booking is None:
        raise PermanentError("The booking no longer exists.")
    # Stable per row: if a crash makes us send twice, mail clients see one message.
    message = emails.build(row.topic, payload, booking, links, message_id=f"<outbox.{row.id}.{booking.id}@{domain}>")
    manage_url = links.manage_url(booking) if row.topic in emails.CLIENT_TOPICS else None

    def send_email(settings: Any) -> None:
        send_mail(message, settings, row_id=row.id, manage_url=manage_url)
    return send_email


def _prepare_waitlist_offer(session: Session, row: OutboxMessage, links: Links):
    """A seat offered from a waitlist: the link is rebuilt from the offer's nonce (no token in the outbox)."""
    entry = session.get(WaitlistEntry, row.payload["waitlist_entry_id"])
    if (entry is None or entry.status != WaitlistStatus.OFFERED or entry.offer_nonce is None
            or entry.offer_nonce != row.payload.get("nonce")):
        raise PermanentError("The offer was taken, let pass or withdrawn before it could be sent.")
    url = links.waitlist_url(entry.service.expert.slug, entry.service.slug, entry.id, entry.offer_nonce)
    domain = emails.sender_address(links.base_url).split("@", 1)[1]
    message = emails.build_waitlist_offer(entry, url, message_id=f"<outbox.{row.id}.{entry.id}@{domain}>")

    def send_email(settings: Any) -> None:
        send_mail(message, settings, row_id=row.id, manage_url=url)
    return send_email


def send_mail(message: EmailMessage, settings: Any, *, row_id: int, manage_url: str | None) -> None:
    """Send through ``KAIROS_SMTP_URL``, or without it write an .eml file and log the subject and link."""
    if not settings.smtp_url:
        folder = settings.instance_dir / "outbox"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{row_id:06d}.eml"
        path.write_bytes(bytes(message))
        log.info("email written", extra={"subject": message["Subject"], "to": message["To"],
                                         "manage_url": manage_url, "path": str(path)})
        return
    url = urlparse(settings.smtp_url)
    smtp_class = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
    port = url.port or (465 if url.scheme == "smtps" else 25)
    with smtp_class(url.hostname, port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
        if url.username:
            if url.scheme == "smtp" and smtp.has_extn("starttls"):
                smtp.starttls()
            smtp.login(unquote(url.username), unquote(url.password or ""))
        smtp.send_message(message)


# --- reminders ------------------------------------------------------------------------------

def schedule_reminders(app_or_session: Flask | Session, now: datetime | None = None) -> int:
    """Queue a reminder for each confirmed booking now within its service's ``reminder_hours``; return how many."""
    if isinstance(app_or_session, Flask):
        with app_or_session.app_context():
            return schedule_reminders(db.session(), now)
    session, at = app_or_session, now or utcnow()
    return _schedule_reminders(session, at) + _schedule_balance_reminders(session, at)


def _schedule_balance_reminders(session: Session, now: datetime) -> int:
    """Deposit bookings with money still due within their reminder window: tell the client, once."""
    longest = session.scalar(select(func.max(Service.reminder_hours))) or 0
    horizon = now + timedelta(hours=min(max(longest, 24), MAX_REMINDER_HOURS))
    candidates = session.scalars(
        select(Booking).join(Service, Booking.service_id == Service.id).options(contains_eager(Booking.service))
        .where(Booking.status == "confirmed", Booking.deposit_amount.is_not(None), Booking.start > now,
               Booking.start <= horizon)).all()
    queued = 0
    for booking in candidates:
        if booking.start - timedelta(hours=booking.service.reminder_hours or 24) > now:
            continue
        due = ledger.balance_due(session, booking)
        if due <= 0:
            continue
        try:
            if notifications.balance_reminder(session, booking, due) is not None:
                session.commit()
                queued += 1
        except IntegrityError:  # another worker queued it first
            session.rollback()
    session.rollback()
    return queued


def _schedule_reminders(session: Session, now: datetime) -> int:
    longest = session.scalar(select(func.max(Service.reminder_hours))) or 0
    horizon = now + timedelta(hours=min(longest, MAX_REMINDER_HOURS))
    candidates = session.scalars(
        select(Booking).join(Service, Booking.service_id == Service.id).options(contains_eager(Booking.service))
        .where(Booking.status == "confirmed", Booking.reminder_sent_at.is_(None), Booking.start > now,
               Booking.start <= horizon, Service.reminder_hours > 0)).all()
    # (the query keeps services whose reminder_hours > 0: never None here)
    due = [b for b in candidates
           if b.start - timedelta(hours=b.service.reminder_hours or 0) <= now
           # booked (or moved) inside the reminder window: the confirmation just went out, no reminder
           and b.created_at < b.start - timedelta(hours=b.service.reminder_hours or 0)]
    session.rollback()
    queued = 0
    for booking_id in [b.id for b in due]:
        # Marking and queueing in one transaction; the conditional UPDATE lets one worker win the booking.
        won = cast(CursorResult[Any], session.execute(
            update(Booking).where(Booking.id == booking_id, Booking.reminder_sent_at.is_(None),
                                  Booking.status == "confirmed")
            .values(reminder_sent_at=now).execution_options(synchronize_session=False)))
        if won.rowcount != 1:
            session.rollback()
            continue
        booking = session.get(Booking, booking_id)
        if booking is None:  # deleted with its expert meanwhile
            session.rollback()
            continue
        notifications.reminder(session, booking)
        try:
            session.commit()
            queued += 1
        except IntegrityError:  # the dedupe key exists: this very start was reminded before (moved away and back)
            session.rollback()
            session.execute(update(Booking).where(Booking.id == booking_id).values(reminder_sent_at=now)
                            .execution_options(synchronize_session=False))
            session.commit()
    return queued


# --- the experts' calendars --------------------------------------------------------------------

def sync_calendar(session: Session, settings: Any, source_id: str, now: datetime | None = None) -> None:
    """Refresh one calendar source: read what to fetch, fetch with no transaction open, record its busy
    times and health in one transaction. A calendar that fails is recorded as failing, never raised."""
    now = now or utcnow()
    try:
        plan = calendar_sync.read_plan(session, source_id, settings, now)
    finally:
        session.commit()  # end the read: nothing stays open while a calendar server answers
    if plan is None:
        return
    outcome = calendar_sync.fetch_busy(plan, allow_private=settings.calendar_allow_private)
    try:
        calendar_sync.record(session, source_id, now, outcome)
        session.commit()
    except Exception:
        session.rollback()
        raise


def sync_calendars(session: Session, settings: Any, now: datetime | None = None) -> int:
    """Sync the calendar sources that are due (a few per pass, so slow servers delay the outbox little)."""
    now = now or utcnow()
    try:
        ids = calendar_sync.claim_due(session, now, timedelta(minutes=settings.calendar_sync_minutes))
        session.commit()
    except Exception:
        session.rollback()
        raise
    for source_id in ids:
        sync_calendar(session, settings, source_id, now)
    return len(ids)


# --- waitlists ---------------------------------------------------------------------------------

def sweep_waitlists(app_or_session: Flask | Session, now: datetime | None = None) -> int:
    """Lapse offers whose time ran out and offer every free seat to the next person waiting
    (freed by a lapsed payment hold, a lapsed offer or a seat added); one transaction per expert."""
    if isinstance(app_or_session, Flask):
        with app_or_session.app_context():
            return _sweep_waitlists(db.session(), now or utcnow())
    return _sweep_waitlists(app_or_session, now or utcnow())


def _sweep_waitlists(session: Session, now: datetime) -> int:
    expert_ids = waitlist.experts_with_queues(session)
    session.rollback()
    made = 0
    for expert_id in expert_ids:
        made += waitlist.sweep_expert(session, expert_id, now)
        session.commit()  # the expert's lock is released here
    return made


# --- housekeeping -----------------------------------------------------------------------------

def housekeeping(session: Session, now: datetime | None = None) -> int:
    """Drop what must not be kept: idempotency answers past their 24 hours (they carry manage links)."""
    removed = idempotency.purge_expired(session, now)
    session.commit()
    if removed:
        log.info("housekeeping", extra={"idempotency_records_removed": removed})
    return removed


# --- loops ------------------------------------------------------------------------------------

def run_worker(app: Flask, once: bool = False, stop: threading.Event | None = None,
               poll_seconds: float = POLL_SECONDS) -> None:
    """Deliver until stopped (or, with ``once``, until nothing is due)."""
    stop = stop or threading.Event()
    last_reminders = last_housekeeping = last_waitlists = float("-inf")
    with app.app_context():
        while not stop.is_set():
            try:
                if time.monotonic() - last_reminders >= REMINDER_EVERY_SECONDS:
                    schedule_reminders(db.session())
                    last_reminders = time.monotonic()
                sync_calendars(db.session(), app.config["KAIROS"])  # only the sources that are due
                if time.monotonic() - last_waitlists >= WAITLIST_EVERY_SECONDS:
                    sweep_waitlists(db.session())
                    last_waitlists = time.monotonic()
                if time.monotonic() - last_housekeeping >= HOUSEKEEPING_EVERY_SECONDS:
                    housekeeping(db.session())
                    last_housekeeping = time.monotonic()
                attempted = deliver_due(db.session(), stop=stop)
            except Exception:  # the database may be briefly away; keep the worker alive
                db.session.rollback()
                log.exception("outbox worker pass failed")
                attempted = 0
                if once:
                    raise
            if once and attempted == 0:
                return
            if attempted == 0:
                stop.wait(poll_seconds)


def start_background_worker(app: Flask) -> threading.Thread:
    """Deliver in a daemon thread of this process (``kairos serve``), so `make run` needs no second command.

    ``app.extensions["kairos_worker_stop"]`` is the Event that stops it (tests use it).
    """
    existing = app.extensions.get("kairos_worker")
    if existing is not None and existing.is_alive():
        return existing
    stop = threading.Event()
    thread = threading.Thread(target=run_worker, args=(app,), kwargs={"stop": stop}, name="kairos-outbox",
                              daemon=True)
    app.extensions["kairos_worker"], app.extensions["kairos_worker_stop"] = thread, stop
    thread.start()
    return thread
