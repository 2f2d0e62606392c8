"""Experts, their API tokens, services and availability."""
from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from backend.errors import NotFound, Unauthorized, ValidationError
from backend.models import ApiToken, Availability, Booking, Expert, Service
from backend.schemas import SLUG_RE, is_timezone
from backend.security import new_token, token_hash
from backend.types import utcnow


def create_expert(db: Session, slug: str, *, email: str, name: str, timezone: str,
                  password: str | None = None) -> tuple[Expert, str]:
    """Create an expert with an empty weekly availability; return it and a fresh API token."""
    if not re.fullmatch(SLUG_RE, slug):
        raise ValidationError(fields={"slug": ["Use lowercase letters, digits and dashes."]})
    if not is_timezone(timezone):
        raise ValidationError(fields={"timezone": ["Unknown time zone: use an IANA name such as Europe/Paris."]})
    if db.scalar(select(Expert.id).where(Expert.slug == slug)) is not None:
        raise ValidationError(fields={"slug": [f"An expert '{slug}' already exists."]})
    expert = Expert(slug=slug, email=email, name=name, timezone=timezone, bio="", allowed_origins=[],
                    password_hash=generate_password_hash(password) if password else None)
    db.add(expert)
    db.flush()
    db.add(Availability(expert_id=expert.id, timezone=timezone, weekly={}, overrides={}))
    token = issue_token(db, expert, label="cli")
    return expert, token


def issue_token(db: Session, expert: Expert, label: str = "") -> str:
    """A new API token for the expert; only its hash is stored."""
    token = new_token("kairos")
    db.add(ApiToken(expert_id=expert.id, token_hash=token_hash(token), label=label))
    return token


def expert_for_token(db: Session, token: str) -> Expert:
    """The expert a bearer token belongs to, or Unauthorized."""
    row = db.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(token)))
    if row is None:
        raise Unauthorized("This API token is not valid.")
    row.last_used_at = utcnow()
    return row.expert


MIN_PASSWORD_LENGTH = 8

# Checked when no expert matches the email, so a wrong email costs the same time as a wrong
# password and the answer's timing does not tell which emails have an account.
_DUMMY_HASH = generate_password_hash("kairos-no-such-expert")


def set_password(expert: Expert, password: str) -> None:
    """Set the dashboard password (stored as a werkzeug salted hash); too short is a ValidationError."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(fields={"password": [f"Use at least {MIN_PASSWORD_LENGTH} characters."]})
    expert.password_hash = generate_password_hash(password)


def authenticate(db: Session, email: str, password: str) -> Expert | None:
    """The expert whose email (any case) and dashboard password match, else None (never says which was wrong)."""
    key = email.strip().casefold()
    candidates = db.scalars(select(Expert).where(func.lower(Expert.email) == key,
                                                 Expert.password_hash.is_not(None)).order_by(Expert.id))
    checked = False
    for expert in candidates:
        checked = True
        # Never None here (the query asks for a hash): the None check only narrows the type.
        if expert.password_hash is not None and check_password_hash(expert.password_hash, password):
            return expert
    if not checked:
        check_password_hash(_DUMMY_HASH, password)
    return None


def get_expert(db: Session, slug: str) -> Expert:
    expert = db.scalar(select(Expert).where(Expert.slug == slug))
    if expert is None:
        raise NotFound(f"No expert '{slug}'.")
    return expert


def get_service(db: Session, expert: Expert, slug: str, *, include_archived: bool = False) -> Service:
    service = db.scalar(select(Service).where(Service.expert_id == expert.id, Service.slug == slug))
    if service is None or (service.archived and not include_archived):
        raise NotFound(f"No service '{slug}' for this expert.")
    return service


def public_services(expert: Expert) -> list[Service]:
    """What the booking page lists: public, not archived, in the expert's order."""
    return [s for s in expert.services if s.visibility == "public" and not s.archived]


def update_profile(expert: Expert, changes: dict[str, Any]) -> Expert:
    for key, value in changes.items():
        setattr(expert, key, value)
    return expert


_SERVICE_COLUMNS = (
    "slug", "name", "description", "kind", "duration_minutes", "payment_options",
    "outside_payment_instructions", "location", "visibility", "capacity", "min_notice_minutes",
    "max_advance_days", "buffer_before_minutes", "buffer_after_minutes", "slot_interval_minutes",
    "daily_limit", "hold_minutes", "confirmation_note", "phone", "message", "questions", "position",
    "outside_payment_status", "reminder_hours",
)

DEFAULT_POLICY = {"client_can_cancel": True, "client_can_reschedule": True, "cutoff_hours": 24, "refund": "full"}


def apply_service_changes(db: Session, expert: Expert, service: Service, data: dict[str, Any],
                          *, stripe_enabled: bool) -> Service:
    """Validate cross-field rules and write the changes onto ``service``."""
    if "slug" in data and data["slug"] != service.slug:
        clash = db.scalar(select(Service.id).where(Service.expert_id == expert.id, Service.slug == data["slug"]))
        if clash is not None:
            raise ValidationError(fields={"slug": [f"You already have a service '{data['slug']}'."]})
    for key in _SERVICE_COLUMNS:
        if key in data:
            setattr(service, key, data[key])
    if "price" in data:
        price = data["price"]
        service.price_amount = price["amount"] if price else None
        service.price_currency = price["currency"] if price else None
    if "deposit" in data:
        service.deposit_amount = data["deposit"]["amount"] if data["deposit"] else None
        if data["deposit"] and data["deposit"]["currency"] != service.price_currency:
            raise ValidationError(fields={"deposit": ["Ask the deposit in the price's currency."]})
    if "policy" in data:
        service.policy = {**DEFAULT_POLICY, **(service.policy or {}), **data["policy"]}
    elif not service.policy:
        service.policy = dict(DEFAULT_POLICY)
    options = service.payment_options or []
    if "online" in options and not stripe_enabled:
        raise ValidationError(fields={"payment_options": [
            "Online payment needs Stripe: set KAIROS_STRIPE_SECRET_KEY on the server first."]})
    if any(o in options for o in ("online", "outside")) and not service.price_amount:
        raise ValidationError(fields={"price": ["A service paid online or outside needs a price."]})
    if service.deposit_amount is not None and (not service.price_amount or service.deposit_amount <= 0
                                               or service.deposit_amount >= service.price_amount):
        raise ValidationError(fields={"deposit": ["A deposit is more than zero and less than the price."]})
    if service.deposit_amount is not None and "online" not in options:
        raise ValidationError(fields={"deposit": ["A deposit is paid online: offer online payment."]})
    if service.kind == "personal" and service.capacity != 1:
        raise ValidationError(fields={"capacity": ["A personal service has one seat; use a group service for more."]})
    return service


def create_service(db: Session, expert: Expert, data: dict[str, Any], *, stripe_enabled: bool) -> Service:
    service = Service(expert_id=expert.id, kind="personal", capacity=1, payment_options=[], questions=[],
                      location={"type": "video"}, policy=dict(DEFAULT_POLICY), description="",
                      outside_payment_instructions="", confirmation_note="", phone="optional", message=True,
                      visibility="public", min_notice_minutes=0, max_advance_days=60, buffer_before_minutes=0,
                      buffer_after_minutes=0, hold_minutes=15, archived=False,
                      position=len(expert.services))
    apply_service_changes(db, expert, service, data, stripe_enabled=stripe_enabled)
    if service.kind != "personal" and "location" not in data:
        service.location = {"type": "in_person"}  # dated sessions happen somewhere; each may say where
    expert.services.append(service)  # keeps expert.services (and the next position) current in this session
    return service


def remove_service(db: Session, service: Service) -> None:
    """Remove a service from offer; one with bookings is archived so its bookings stay whole."""
    has_bookings = db.scalar(select(func.count()).select_from(Booking).where(Booking.service_id == service.id))
    if has_bookings:
        archive_service(service)
    else:
        db.delete(service)
    db.flush()


def archive_service(service: Service) -> None:
    """Services with bookings are archived, not deleted: their bookings keep pointing at them."""
    service.archived = True
    service.slug = f"{service.slug}--archived-{service.id}"[:64]


def set_availability(db: Session, expert: Expert, data: dict[str, Any]) -> Availability:
    av = db.get(Availability, expert.id)
    if av is None:
        av = Availability(expert_id=expert.id)
        db.add(av)
    av.timezone = data["timezone"]
    av.weekly = {day: intervals for day, intervals in data["weekly"].items() if intervals is not None}
    av.overrides = {o["date"].isoformat(): o["intervals"] for o in data.get("overrides", [])}
    return av


def availability_view(av: Availability) -> dict[str, Any]:
    return {
        "timezone": av.timezone,
        "weekly": av.weekly,
        "overrides": [{"date": date.fromisoformat(d), "intervals": iv} for d, iv in sorted(av.overrides.items())],
    }


def parse_override_dates(av: Availability) -> dict[date, list[list[str]]]:
    return {date.fromisoformat(d): iv for d, iv in av.overrides.items()}
