"""Sessions the expert sets up for a client: ``pending`` until the client completes them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend import notifications
from backend.errors import SlotUnavailable, ValidationError
from backend.links import Links
from backend.models import Booking, BookingEvent, Expert, Service, public_id
from backend.services import experts, slots
from backend.services.clients import find_or_create_client
from backend.services.locking import lock_expert
from backend.statuses import BookingStatus

ONE_OFF_SLUG = "one-off"


@dataclass(frozen=True)
class OneOffTerms:
    """What a one-off carries itself (a service's own apply otherwise): title, price, payment options."""

    title: str | None
    price_amount: int | None
    price_currency: str | None
    payment_options: tuple[str, ...]


def one_off_service(db: Session, expert: Expert, duration: int, name: str | None) -> Service:
    """The hidden service that one-off sessions hang on (never listed, never bookable publicly)."""
    service = db.scalar(select(Service).where(Service.expert_id == expert.id, Service.slug == ONE_OFF_SLUG))
    if service is None:
        service = Service(expert_id=expert.id, slug=ONE_OFF_SLUG, name=name or "Session", kind="personal",
                          duration_minutes=duration, visibility="unlisted", archived=True, payment_options=[],
                          questions=[], location={"type": "custom"}, policy={}, capacity=1)
        db.add(service)
        db.flush()
    return service


def create_expert_booking(db: Session, expert: Expert, service: Service | None, *, start: datetime,
                          duration_minutes: int | None, custom_time: bool, client_name: str, client_email: str,
                          timezone: str | None, now: datetime, links: Links,
                          one_off: OneOffTerms | None = None, expires_at: datetime | None = None) -> tuple[Booking, str]:
    """A session the expert sets up for a client: ``pending`` until the client completes it.

    At an available time the engine must offer ``start``; a custom time may lie outside
    availability but still never overlaps another booking. A one-off (no ``service``) carries its own
    title, price and payment options (``one_off``); ``expires_at`` ends the offer (the time is free
    again). Returns the booking and its share link.
    """
    if start <= now:
        raise ValidationError(fields={"start": ["Choose a time in the future."]})
    if expires_at is not None and not now < expires_at <= start:
        raise ValidationError(fields={"expires_at": ["Choose a time after now and no later than the session."]})
    lock_expert(db, expert.id)
    if service is None:
        service = one_off_service(db, expert, duration_minutes or 60, None)
        custom_time = True
    duration = duration_minutes or service.duration_minutes
    if service.kind != "personal":
        raise ValidationError(fields={"service": ["Set up group, series and mini sessions as scheduled sessions."]})
    if custom_time:
        end = start + timedelta(minutes=duration)
        clash = slots.load_busy(db, service, start - timedelta(days=1), end + timedelta(days=1), now)
        if any(b.start < end and b.end > start for b in clash):
            raise SlotUnavailable("That time overlaps another booking.")
    else:
        slot = slots.check_personal_start(db, service, start, now)
        if slot is None:
            raise SlotUnavailable("That time is not available; send custom_time to use it anyway.")
        start, end = slot.start, slot.end
    client = find_or_create_client(db, expert, client_name or client_email.split("@")[0], client_email, None)
    terms = one_off if service.slug == ONE_OFF_SLUG and one_off is not None else None
    booking = Booking(id=public_id("bk"), expert_id=expert.id, service_id=service.id, client_id=client.id,
                      start=start, end=end, buffer_before_minutes=service.buffer_before_minutes,
                      buffer_after_minutes=service.buffer_after_minutes, timezone=timezone or expert.timezone,
                      status=BookingStatus.PENDING, message="", answers={},
                      price_amount=terms.price_amount if terms else service.price_amount,
                      price_currency=terms.price_currency if terms else service.price_currency,
                      title=terms.title if terms else None,
                      offered_payment_options=list(terms.payment_options) if terms else None,
                      expires_at=expires_at, payment_option=None, source="expert")
    share_url = links.issue(booking)
    db.add(booking)
    db.flush()
    db.add(BookingEvent(booking_id=booking.id, type="created", actor="expert", data={"status": BookingStatus.PENDING}))
    notifications.booking_event(db, booking, "created", actor="expert")
    notifications.booking_event(db, booking, "shared", actor="expert")
    db.flush()
    return booking, share_url


def set_up_session(db: Session, expert: Expert, data: dict[str, Any], *, now: datetime,
                   links: Links) -> tuple[Booking, str]:
    """``create_expert_booking`` from a loaded ``ExpertBookingCreate`` (the expert API and the dashboard).

    ``data["service"]`` is a slug, or None for a one-off; an unknown or archived slug is NotFound.
    """
    service = experts.get_service(db, expert, data["service"]) if data.get("service") else None
    price = data.get("price")
    one_off = None if service else OneOffTerms(
        title=data.get("name") or None, price_amount=price["amount"] if price else None,
        price_currency=price["currency"] if price else None, payment_options=tuple(data.get("payment_options") or ()))
    return create_expert_booking(
        db, expert, service, start=data["start"], duration_minutes=data.get("duration_minutes"),
        custom_time=data["custom_time"], client_name=data["client"]["name"], client_email=data["client"]["email"],
        timezone=data.get("timezone"), now=now, links=links, one_off=one_off, expires_at=data.get("expires_at"))
