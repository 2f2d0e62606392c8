"""A client books a time or a session through the widget.

The no-double-booking promise is kept here: the write starts by taking the expert's lock
(``lock_expert``), then re-checks the slot with the same engine that lists slots, then inserts,
all in one transaction.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from backend import notifications
from backend.errors import SlotUnavailable, ValidationError
from backend.links import Links
from backend.models import Booking, BookingEvent, Expert, Service, ServiceSession, public_id
from backend.payments import options
from backend.services import coupons, idempotency, slots, waitlist
from backend.services.bookings.requests import BookingRequest, resolve_session, validate_request
from backend.services.clients import find_or_create_client
from backend.services.leads import touch_lead
from backend.services.locking import lock_expert
from backend.statuses import BookingStatus
from backend.timeutil import iso_utc
from backend.views.bookings import booking_view


def create_booking(db: Session, expert: Expert, service: Service, req: BookingRequest, *, now: datetime,
                   links: Links, key: idempotency.IdempotencyKey | None = None) -> tuple[int, dict[str, Any]]:
    """Book ``req`` for a client; return (HTTP status, response body).

    Flushes only: the caller commits, then starts an online booking's card payment
    (``payments.checkout.after_booking``), outside the lock. A replayed answer (same
    Idempotency-Key) comes back as it was first given. Raises SlotUnavailable when the time is not bookable right now (taken, held,
    outside availability, too soon), ValidationError for bad input.
    """
    validate_request(service, req)
    found = idempotency.replay(db, key)  # fast path, before waiting for the lock
    if found:
        return found

    lock_expert(db, expert.id)
    found = idempotency.replay(db, key)  # a parallel retry may have won while we waited
    if found:
        db.rollback()  # release the lock at once: nothing was written
        return found

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
    client = find_or_create_client(db, expert, req.client_name, req.client_email, req.client_phone)
    booking = Booking(
        id=public_id("bk"), expert_id=expert.id, service_id=service.id, client_id=client.id,
        session_id=session.id if session else None, start=start, end=end,
        buffer_before_minutes=service.buffer_before_minutes, buffer_after_minutes=service.buffer_after_minutes,
        timezone=req.timezone, status=status,
        hold_expires_at=now + timedelta(minutes=service.hold_minutes) if status == BookingStatus.PENDING_PAYMENT else None,
        message=req.message, answers=req.answers, price_amount=price,
        price_currency=service.price_currency, payment_option=payment_option, source="widget",
        coupon_code=discount.code if discount else None, discount_amount=discount.amount if discount else None,
        deposit_amount=options.deposit_for(service, payment_option, price),
    )
    manage_url = links.issue(booking)
    db.add(booking)
    db.flush()
    db.add(BookingEvent(booking_id=booking.id, type="created", actor="client", message=req.message or None,
                        data={"status": status, "start": iso_utc(start)}))
    options.on_created(db, booking, now, req.package_id)  # a package credit, under the same lock
    if offer is not None:
        waitlist.mark_booked(db, offer, booking)
    touch_lead(db, expert, client, service, booked=status == BookingStatus.CONFIRMED)
    notifications.booking_event(db, booking, "created", actor="client", message=req.message or None)
    body = {"booking": booking_view(booking, manage_url=manage_url)}
    idempotency.remember(db, key, 201, body)
    db.flush()
    return 201, body
