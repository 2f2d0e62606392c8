"""A client books a time or a session through the widget.

The no-double-booking promise is kept here: the write starts by taking the expert's lock
(``lock_expert``), then re-checks the slot with the same engine that lists slots, then inserts,
all in one transaction.

What it costs (a free personal service, the widget's Idempotency-Key): the route's one read before
the lock (``target.read_target``), the lock, the one query for what blocks the time, then one INSERT
per table written (client if new, booking, history event, lead if new, the emails together, the
idempotency record), in a single flush with nothing read back: 7 statements for a returning client,
9 for a new one (tests/test_booking_statements.py).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend import notifications
from backend.errors import DomainError, SlotUnavailable, ValidationError
from backend.inserts import insert_object
from backend.links import Links
from backend.models import Booking, BookingEvent, Expert, Service, ServiceSession, public_id
from backend.payments import options
from backend.services import coupons, idempotency, slots, waitlist
from backend.services.bookings.requests import BookingRequest, resolve_session, validate_request
from backend.services.bookings.target import Target
from backend.services.clients import find_or_create_client
from backend.services.leads import touch_lead
from backend.services.locking import lock_expert
from backend.statuses import BookingStatus
from backend.timeutil import iso_utc
from backend.unread import UNREAD
from backend.views.bookings import booking_view


def create_booking(db: Session, expert: Expert, service: Service, req: BookingRequest, *, now: datetime,
                   links: Links, key: idempotency.IdempotencyKey | None = None,
                   read: Target | None = None) -> tuple[int, dict[str, Any]]:
    """Book ``req`` for a client; return (HTTP status, response body).

    Flushes only: the caller commits, then starts an online booking's card payment
    (``payments.checkout.after_booking``), outside the lock. A replayed answer (same
    Idempotency-Key) comes back as it was first given. Raises SlotUnavailable when the time is not
    bookable right now (taken, held, outside availability, too soon), ValidationError for bad input.
    ``read``: what the caller read before (``target.read_target``); without it each part is looked up.
    """
    read = read or Target(expert, service)
    validate_request(service, req)
    # Fast path, before waiting for the lock: a retry of an answered request.
    found = idempotency.replay(db, key) if read.record is UNREAD else idempotency.answer_of(read.record, key)
    if found:
        return found

    lock_expert(db, expert.id)
    try:
        return _book(db, read, req, now, links, key)
    except DomainError:
        # A parallel retry with this key won while we waited (its booking holds the time now, it took
        # the last seat or coupon use): the client gets that first answer, not a refusal.
        found = idempotency.replay(db, key)
        if found is None:
            raise
        db.rollback()  # release the lock at once: nothing of ours is kept
        return found
    except IntegrityError:
        # The same race, caught by the idempotency record's unique key at the flush.
        db.rollback()
        found = idempotency.replay(db, key)
        if found is None:
            raise
        return found


def _book(db: Session, read: Target, req: BookingRequest, now: datetime, links: Links,
          key: idempotency.IdempotencyKey | None) -> tuple[int, dict[str, Any]]:
    """Everything under the lock: re-check the time, then write the booking and all that follows it."""
    expert, service = read.expert, read.service
    # A waitlist link holds a seat for its client: their own held seat does not count against them.
    offer = (waitlist.claim_offer(db, waitlist.find_offer(db, req.waitlist_token, links.waitlist_entry_id),
                                  service, now) if req.waitlist_token else None)
    session: ServiceSession | None = None
    if service.kind == "personal":
        slot = slots.check_personal_start(db, service, req.start, now) if req.start else None
        if slot is None:
            raise SlotUnavailable()
        start, end = slot.start, slot.end
    else:
        session = resolve_session(db, service, session_id=req.session_id or (offer.session_id if offer else None),
                                  start=req.start)
        if offer is not None and offer.session_id != session.id:
            raise ValidationError(fields={"waitlist": ["This link holds a seat of another session."]})
        if not slots.check_session(db, service, session, now, exclude_offer_id=offer.id if offer else None):
            raise SlotUnavailable("That session is full or no longer open. Please pick another.")
        start, end = session.start, session.end

    # The coupon's use is counted here, under the lock, by a conditional UPDATE (services/coupons).
    discount = coupons.redeem(db, expert, service, req.coupon, now) if req.coupon else None
    price = service.price_amount - discount.amount if discount and service.price_amount else service.price_amount
    payment_option = None if discount and not price else req.payment_option  # 100 % off: the booking is free
    status = options.initial_status(service, payment_option)
    client = find_or_create_client(db, expert, req.client_name, req.client_email, req.client_phone,
                                   found=read.client)
    # Every value the answer and the emails show is set here: nothing is read back after the INSERT.
    booking = Booking(
        id=public_id("bk"), expert=expert, service=service, client=client, session=session,
        # The ids too: payment options read them before the flush (a package's credits are the client's).
        expert_id=expert.id, service_id=service.id, client_id=client.id, session_id=session.id if session else None,
        start=start, end=end,
        buffer_before_minutes=service.buffer_before_minutes, buffer_after_minutes=service.buffer_after_minutes,
        timezone=req.timezone, status=status,
        hold_expires_at=now + timedelta(minutes=service.hold_minutes) if status == BookingStatus.PENDING_PAYMENT else None,
        message=req.message, answers=req.answers, price_amount=price,
        price_currency=service.price_currency, payment_option=payment_option, source="widget",
        coupon_code=discount.code if discount else None, discount_amount=discount.amount if discount else None,
        deposit_amount=options.deposit_for(service, payment_option, price), ics_sequence=0,
        created_at=now, updated_at=now,
    )
    manage_url = links.issue(booking)
    # Two table INSERTs, not the unit of work: the booking's row (the object stays in the session for
    # what follows) and its first history event (nothing reads it back in this request).
    insert_object(db, booking)
    db.execute(insert(BookingEvent.__table__), {
        "booking_id": booking.id, "type": "created", "actor": "client", "message": req.message or None,
        "data": {"status": status, "start": iso_utc(start)}, "at": now})
    options.on_created(db, booking, now, req.package_id)  # a package credit, under the same lock
    if offer is not None:
        db.flush()  # the booking first: the entry points at it (no relationship tells the flush so)
        waitlist.mark_booked(db, offer, booking)
    # A client new to the expert has no lead yet; a known client's was read with them.
    touch_lead(db, expert, client, service, booked=status == BookingStatus.CONFIRMED,
               found=None if read.client is None else read.lead)
    notifications.booking_event(db, booking, "created", actor="client", message=req.message or None,
                                outlets=read.outlets)
    body = {"booking": booking_view(booking, manage_url=manage_url)}
    idempotency.remember(db, key, 201, body, known=read.record)
    db.flush()
    return 201, body
