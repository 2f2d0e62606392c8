"""The data model. Every instant is a ``UTCDateTime``; every id a client sees is opaque."""
from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.extensions import db
from backend.statuses import (
    BookingStatus,
    CalendarStatus,
    LeadStatus,
    OutboxStatus,
    PaymentStatus,
    WaitlistStatus,
    values,
)
from backend.types import UTCDateTime, utcnow

# Kinds and options live here once (statuses in backend/statuses.py); schemas and services import them.
SERVICE_KINDS = ("personal", "group", "series", "mini")
BOOKING_STATUSES = values(BookingStatus)
#: Statuses whose time is taken (a pending_payment hold only until it expires).
BLOCKING_STATUSES = (BookingStatus.PENDING_PAYMENT, BookingStatus.PENDING, BookingStatus.CONFIRMED)
PAYMENT_OPTIONS = ("online", "outside", "package")
VISIBILITIES = ("public", "unlisted", "clients")
PHONE_MODES = ("hidden", "optional", "required")
LOCATION_TYPES = ("video", "phone", "in_person", "custom")
LEAD_STATUSES = values(LeadStatus)


def public_id(prefix: str) -> str:
    """An unguessable public id such as ``bk_3J9x…``."""
    return f"{prefix}_{secrets.token_urlsafe(12)}"


class Expert(db.Model):
    __tablename__ = "expert"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    bio: Mapped[str] = mapped_column(Text, default="")
    avatar_url: Mapped[str | None] = mapped_column(String(1000))
    timezone: Mapped[str] = mapped_column(String(64))
    brand_color: Mapped[str | None] = mapped_column(String(7))
    locale: Mapped[str | None] = mapped_column(String(16))
    notification_email: Mapped[str | None] = mapped_column(String(320))
    allowed_origins: Mapped[list[str]] = mapped_column(JSON, default=list)
    password_hash: Mapped[str | None] = mapped_column(String(300))
    # Bumped by every booking transaction: the UPDATE is the per-expert write lock
    # (row lock on PostgreSQL, the database write lock on SQLite). It is also the expert's change
    # counter: every change to what the slots read moves it in its own transaction
    # (backend/change_counter.py), and the slots cache is keyed by it.
    booking_lock: Mapped[int] = mapped_column(Integer, default=0)
    # Nonce of the secret .ics feed URL (HMAC like manage links); rotating it revokes the old URL.
    feed_nonce: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    services: Mapped[list[Service]] = relationship(back_populates="expert", order_by="Service.position")


class ApiToken(db.Model):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    expert: Mapped[Expert] = relationship()


class Service(db.Model):
    __tablename__ = "service"
    __table_args__ = (UniqueConstraint("expert_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16), default="personal")
    duration_minutes: Mapped[int] = mapped_column(Integer)
    price_amount: Mapped[int | None] = mapped_column(Integer)
    price_currency: Mapped[str | None] = mapped_column(String(3))
    payment_options: Mapped[list[str]] = mapped_column(JSON, default=list)
    outside_payment_instructions: Mapped[str] = mapped_column(Text, default="")
    location: Mapped[dict[str, Any]] = mapped_column(JSON, default=lambda: {"type": "video"})
    visibility: Mapped[str] = mapped_column(String(16), default="public")
    capacity: Mapped[int] = mapped_column(Integer, default=1)
    min_notice_minutes: Mapped[int] = mapped_column(Integer, default=0)
    max_advance_days: Mapped[int | None] = mapped_column(Integer, default=60)
    buffer_before_minutes: Mapped[int] = mapped_column(Integer, default=0)
    buffer_after_minutes: Mapped[int] = mapped_column(Integer, default=0)
    slot_interval_minutes: Mapped[int | None] = mapped_column(Integer)
    daily_limit: Mapped[int | None] = mapped_column(Integer)
    hold_minutes: Mapped[int] = mapped_column(Integer, default=15)
    policy: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    confirmation_note: Mapped[str] = mapped_column(Text, default="")
    # "confirmed" or "pending": what a booking paid outside Kairos starts as (the expert's choice).
    outside_payment_status: Mapped[str] = mapped_column(String(16), default="confirmed")
    reminder_hours: Mapped[int | None] = mapped_column(Integer, default=24)
    # A deposit paid online when booking (in the price's currency); the rest is due as the expert says.
    deposit_amount: Mapped[int | None] = mapped_column(Integer)
    phone: Mapped[str] = mapped_column(String(16), default="optional")
    message: Mapped[bool] = mapped_column(Boolean, default=True)
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    expert: Mapped[Expert] = relationship(back_populates="services")
    service_sessions: Mapped[list[ServiceSession]] = relationship(viewonly=True, order_by="ServiceSession.start")


class Availability(db.Model):
    """An expert's weekly hours and date overrides, as local times in ``timezone``."""

    __tablename__ = "availability"

    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id", ondelete="CASCADE"), primary_key=True)
    timezone: Mapped[str] = mapped_column(String(64))
    # {"mon": [["09:00", "12:00"], ...], ...}: local wall times, never UTC.
    weekly: Mapped[dict[str, list[list[str]]]] = mapped_column(JSON, default=dict)
    # {"2026-12-24": [], ...}: keyed by the expert's local date, so a far-from-UTC
    # expert's day off never lands on the neighbouring day.
    overrides: Mapped[dict[str, list[list[str]]]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ServiceSession(db.Model):
    """A scheduled occurrence of a group, series or mini service."""

    __tablename__ = "service_session"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: public_id("ses"))
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), index=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id", ondelete="CASCADE"))
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    capacity: Mapped[int] = mapped_column(Integer, default=1)
    location: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_service_session_expert_start", "expert_id", "start"),)


class Client(db.Model):
    """A person who booked with one expert; one row per expert and case-folded email."""

    __tablename__ = "client"
    __table_args__ = (UniqueConstraint("expert_id", "email_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    email_key: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    stripe_customer_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Booking(db.Model):
    __tablename__ = "booking"
    __table_args__ = (
        # Serves the one query the slot check needs: this expert's bookings overlapping a window.
        Index("ix_booking_expert_start", "expert_id", "start"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: public_id("bk"))
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id", ondelete="CASCADE"))
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id"), index=True)
    session_id: Mapped[str | None] = mapped_column(ForeignKey("service_session.id"), index=True)
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    # The service's buffers at booking time: later edits of the service do not move them.
    buffer_before_minutes: Mapped[int] = mapped_column(Integer, default=0)
    buffer_after_minutes: Mapped[int] = mapped_column(Integer, default=0)
    timezone: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    hold_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    manage_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    manage_nonce: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text, default="")
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    price_amount: Mapped[int | None] = mapped_column(Integer)
    price_currency: Mapped[str | None] = mapped_column(String(3))
    payment_option: Mapped[str | None] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16), default="widget")
    client_package_id: Mapped[int | None] = mapped_column(ForeignKey("client_package.id"))
    # A coupon redeemed on this booking: the code and what it took off ``price_amount`` (already lowered).
    coupon_code: Mapped[str | None] = mapped_column(String(64))
    discount_amount: Mapped[int | None] = mapped_column(Integer)
    # The part of ``price_amount`` paid online when booking; the rest is due later.
    deposit_amount: Mapped[int | None] = mapped_column(Integer)
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ics_sequence: Mapped[int] = mapped_column(Integer, default=0)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    # A session set up by the expert: a one-off's title and payment options, and when the offer lapses.
    title: Mapped[str | None] = mapped_column(String(200))
    offered_payment_options: Mapped[list[str] | None] = mapped_column(JSON)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    expert: Mapped[Expert] = relationship()
    service: Mapped[Service] = relationship()
    client: Mapped[Client] = relationship()
    session: Mapped[ServiceSession | None] = relationship()
    events: Mapped[list[BookingEvent]] = relationship(back_populates="booking", order_by="BookingEvent.id")

    @property
    def session_name(self) -> str:
        """What the session is called: a one-off's own title, else its service's name."""
        return self.title or self.service.name


class BookingEvent(db.Model):
    """One row of a booking's history: what changed, when and by whom."""

    __tablename__ = "booking_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[str] = mapped_column(ForeignKey("booking.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(16))  # client | expert | system
    message: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    booking: Mapped[Booking] = relationship(back_populates="events")


class Lead(db.Model):
    """A client's interest in one service, from the first booking attempt on."""

    __tablename__ = "lead"
    __table_args__ = (UniqueConstraint("expert_id", "client_id", "service_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: public_id("ld"))
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id"))
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"))
    status: Mapped[str] = mapped_column(String(32), default=LeadStatus.SCHEDULING_IN_PROGRESS)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    client: Mapped[Client] = relationship()
    service: Mapped[Service] = relationship()


class IdempotencyRecord(db.Model):
    """The first answer to a creating POST, replayed for the same key and body."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("scope", "key_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(200))
    key_hash: Mapped[str] = mapped_column(String(64))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxMessage(db.Model):
    """An email or webhook written in the transaction that caused it, delivered by a worker."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # email | webhook
    topic: Mapped[str] = mapped_column(String(64))  # e.g. booking_confirmed
    expert_id: Mapped[int | None] = mapped_column(ForeignKey("expert.id", ondelete="CASCADE"), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING)
    # Set for messages that must exist once (a reminder per booking and start, say).
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebhookEndpoint(db.Model):
    """An expert's URL that receives signed booking events."""

    __tablename__ = "webhook_endpoint"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: public_id("we"))
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    secret: Mapped[str] = mapped_column(String(100))  # needed in clear to sign each delivery
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Payment(db.Model):
    """Money for one booking, as the provider (Stripe) reports it."""

    __tablename__ = "payment"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: public_id("pay"))
    booking_id: Mapped[str] = mapped_column(ForeignKey("booking.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(16), default="stripe")
    provider_payment_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    # requires_payment | processing | succeeded | failed | refunded | cancelled
    status: Mapped[str] = mapped_column(String(20), default=PaymentStatus.REQUIRES_PAYMENT)
    refunded_amount: Mapped[int] = mapped_column(Integer, default=0)
    provider_refund_id: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ProcessedEvent(db.Model):
    """A provider event already handled: duplicates are acknowledged and ignored."""

    __tablename__ = "processed_event"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    provider: Mapped[str] = mapped_column(String(16), default="stripe")
    type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ClientPackage(db.Model):
    """Session credits a client holds for some of an expert's services."""

    __tablename__ = "client_package"

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    service_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    credits_total: Mapped[int] = mapped_column(Integer)
    credits_used: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CalendarType(StrEnum):
    """Where an expert's busy times come from: a CalDAV calendar or a read-only ICS feed."""

    CALDAV = "caldav"
    ICS = "ics"


class CalendarSource(db.Model):
    """One of the expert's own calendars whose busy events block their time."""

    __tablename__ = "calendar_source"
    # Every worker pass asks which sources are due: an index range scan, however many experts there are.
    __table_args__ = (Index("ix_calendar_source_next_sync_at", "next_sync_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: public_id("cal"))
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(String(2000))
    username: Mapped[str | None] = mapped_column(String(320))
    # Fernet token (key derived from KAIROS_SECRET_KEY, see calendars/secrets.py); never returned.
    password_encrypted: Mapped[str | None] = mapped_column(Text)
    # CalDAV only: bookings are written to this calendar as events.
    write_bookings: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default=CalendarStatus.PENDING)
    last_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Claimed by a worker (pushed forward) before it syncs: two workers never sync one source at once.
    next_sync_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CalendarBusy(db.Model):
    """A busy interval of a calendar source, as last synced (pieces of at most a day, see calendars/expand.py)."""

    __tablename__ = "calendar_busy"
    __table_args__ = (
        # Serves the slots query's third branch, like ix_booking_expert_start.
        Index("ix_calendar_busy_expert_start", "expert_id", "start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[str] = mapped_column(ForeignKey("calendar_source.id", ondelete="CASCADE"), index=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id", ondelete="CASCADE"))
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)


class Coupon(db.Model):
    """A discount code of an expert's: percent or amount off, some services or all, counted uses."""

    __tablename__ = "coupon"
    __table_args__ = (UniqueConstraint("expert_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))  # stored upper case: codes are read case-insensitively
    percent_off: Mapped[int | None] = mapped_column(Integer)
    amount_off: Mapped[int | None] = mapped_column(Integer)
    currency: Mapped[str | None] = mapped_column(String(3))
    services: Mapped[list[str] | None] = mapped_column(JSON)  # service slugs, or None for all
    max_uses: Mapped[int | None] = mapped_column(Integer)
    # Raised only by a conditional UPDATE (``uses < max_uses``): the database keeps the limit.
    uses: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WaitlistEntry(db.Model):
    """A client waiting for a seat of a full session; offered a held seat when one frees up."""

    __tablename__ = "waitlist_entry"
    __table_args__ = (Index("ix_waitlist_session_status", "session_id", "status"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: public_id("wl"))
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id", ondelete="CASCADE"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"))
    session_id: Mapped[str] = mapped_column(ForeignKey("service_session.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id"))
    status: Mapped[str] = mapped_column(String(16), default=WaitlistStatus.WAITING)
    timezone: Mapped[str] = mapped_column(String(64))
    # The offer link is an HMAC of the id and this nonce (links.py); a new offer gets a new nonce.
    offer_nonce: Mapped[str | None] = mapped_column(String(32))
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    offer_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    booking_id: Mapped[str | None] = mapped_column(ForeignKey("booking.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    client: Mapped[Client] = relationship()
    service: Mapped[Service] = relationship()
    session: Mapped[ServiceSession] = relationship()


# --- existing clients (issue 15): sign-in codes, client sessions, package plans, collections ------

class ClientLoginCode(db.Model):
    """A 6-digit code and a link emailed to sign a client in; both stored hashed, single use."""

    __tablename__ = "client_login_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    email_key: Mapped[str] = mapped_column(String(320))
    code_hash: Mapped[str] = mapped_column(String(64))
    link_hash: Mapped[str] = mapped_column(String(64), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_client_login_code_email", "expert_id", "email_key"),)


class ClientSession(db.Model):
    """A signed-in client: the hash of the bearer token the widget holds."""

    __tablename__ = "client_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    client: Mapped[Client] = relationship()


class PackagePlan(db.Model):
    """N sessions of some of an expert's services for one price, sold in the widget."""

    __tablename__ = "package_plan"
    __table_args__ = (UniqueConstraint("expert_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    sessions: Mapped[int] = mapped_column(Integer)
    service_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    price_amount: Mapped[int] = mapped_column(Integer)
    price_currency: Mapped[str] = mapped_column(String(3))
    expires_after_days: Mapped[int | None] = mapped_column(Integer)
    visibility: Mapped[str] = mapped_column(String(16), default="public")
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PackagePurchase(db.Model):
    """A client buying a package plan by card; its credits (``client_package_id``) appear once, when paid."""

    __tablename__ = "package_purchase"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: public_id("pur"))
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id", ondelete="CASCADE"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("package_plan.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="pending_payment")
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    provider_payment_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    client_package_id: Mapped[int | None] = mapped_column(ForeignKey("client_package.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    plan: Mapped[PackagePlan] = relationship()
    client: Mapped[Client] = relationship()


class Collection(db.Model):
    """Services and package plans grouped under one link; ``clients_only`` hides it from strangers."""

    __tablename__ = "collection"
    __table_args__ = (UniqueConstraint("expert_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    #: [{"service": slug} | {"package": slug}], in the expert's order
    items: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    clients_only: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
