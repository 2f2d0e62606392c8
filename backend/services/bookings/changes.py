"""Changes to an existing booking: cancel, reschedule, confirm by hand, share again."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from backend import notifications
from backend.errors import NotAllowed, SlotUnavailable, ValidationError
from backend.links import Links
from backend.models import Booking, BookingEvent
from backend.payments import options
from backend.services import coupons, slots, waitlist
from backend.services.bookings.policy import REASON_TEXT, permissions, refuse
from backend.services.bookings.requests import resolve_session
from backend.services.leads import mark_lead_booked
from backend.services.locking import lock_expert
from backend.statuses import BookingStatus
from backend.timeutil import iso_utc


def lock_and_reload(db: Session, booking: Booking) -> Booking:
    """Take the expert's lock, then re-read the booking: another request may have changed it meanwhile."""
    lock_expert(db, booking.expert_id)
    db.refresh(booking)
    return booking


def cancel_booking(db: Session, booking: Booking, *, actor: str, reason: str, now: datetime,
                   refund_by_policy: bool = False) -> Booking:
    """Cancel; a client must be allowed by the policy. Frees the time at once.

    A client's cancellation is refunded as the policy says; an expert's in full, unless
    ``refund_by_policy`` (the expert chose to apply the policy's refund rule too).

    Flushes only: the caller commits, then sends the refunds (``payments.checkout.after_booking_cancelled``).
    """
    booking = lock_and_reload(db, booking)
    if actor == "client":
        allowed = permissions(booking, now)
        if not allowed.can_cancel:
            raise refuse(allowed.reason)
    elif booking.status == BookingStatus.CANCELLED:
        raise NotAllowed("cancelled", REASON_TEXT["cancelled"])
    booking.status = BookingStatus.CANCELLED
    booking.cancel_reason = reason or None
    booking.hold_expires_at = None
    booking.ics_sequence += 1
    db.add(BookingEvent(booking_id=booking.id, type="cancelled", actor=actor, message=reason or None, data={}))
    options.on_cancelled(db, booking, actor=actor,  # credit back if timely; refunds written
                         by_policy=actor == "client" or refund_by_policy, now=now)
    coupons.give_back(db, booking)
    notifications.booking_event(db, booking, "cancelled", actor=actor, message=reason or None)
    db.flush()
    waitlist.after_seat_freed(db, booking, now)  # the seat goes to the first person waiting, still under the lock
    return booking


def reschedule_booking(db: Session, booking: Booking, *, start: datetime | None, session_id: str | None,
                       timezone: str, actor: str, now: datetime) -> Booking:
    """Move the booking to a new time atomically: the old time is freed only if the new one is won."""
    booking = lock_and_reload(db, booking)
    if actor == "client":
        allowed = permissions(booking, now)
        if not allowed.can_reschedule:
            raise refuse(allowed.reason)
    elif booking.status == BookingStatus.CANCELLED:
        raise NotAllowed("cancelled", REASON_TEXT["cancelled"])
    service = booking.service
    old_start, old_session = booking.start, booking.session
    if service.kind == "personal":
        if start is None:
            raise ValidationError(fields={"start": ["Choose a new time."]})
        slot = slots.check_personal_start(db, service, start, now, exclude_booking_id=booking.id)
        if slot is None:
            raise SlotUnavailable()
        booking.start, booking.end = slot.start, slot.end
    else:
        session = resolve_session(db, service, session_id=session_id, start=start)
        if not slots.check_session(db, service, session, now, exclude_booking_id=booking.id):
            raise SlotUnavailable("That session is full or no longer open. Please pick another.")
        booking.session_id, booking.start, booking.end = session.id, session.start, session.end
    booking.timezone = timezone
    booking.ics_sequence += 1
    db.add(BookingEvent(booking_id=booking.id, type="rescheduled", actor=actor,
                        data={"from": iso_utc(old_start), "to": iso_utc(booking.start)}))
    notifications.booking_event(db, booking, "rescheduled", actor=actor, previous_start=old_start)
    db.flush()
    if old_session is not None and old_session.id != booking.session_id:
        waitlist.offer_free_seats(db, service, old_session, now)  # the seat it left goes to the waitlist
    return booking


def share_booking(db: Session, booking: Booking, links: Links) -> str:
    """Send the pending session's link to the client again, with a fresh link (older ones stop working)."""
    booking = lock_and_reload(db, booking)
    if booking.status != BookingStatus.PENDING:
        raise NotAllowed("not_pending", "Only a pending session can be shared.")
    url = links.issue(booking)
    db.add(BookingEvent(booking_id=booking.id, type="shared", actor="expert", data={}))
    notifications.booking_event(db, booking, "shared", actor="expert")
    db.flush()
    return url


def confirm_booking(db: Session, booking: Booking, *, actor: str) -> Booking:
    """The expert confirms a pending booking by hand, which waives its payment."""
    booking = lock_and_reload(db, booking)
    if booking.status not in (BookingStatus.PENDING, BookingStatus.PENDING_PAYMENT):
        raise NotAllowed("not_pending", "Only a pending booking can be confirmed.")
    booking.status = BookingStatus.CONFIRMED
    booking.hold_expires_at = None
    db.add(BookingEvent(booking_id=booking.id, type="confirmed", actor=actor, data={"payment": "waived"}))
    mark_lead_booked(db, booking)
    notifications.booking_event(db, booking, "confirmed", actor=actor)
    db.flush()
    return booking
