"""A booking as its client, its expert, a webhook or the host page sees it."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from backend import places
from backend.models import Booking, Service
from backend.timeutil import iso_in, iso_utc
from backend.views.payments import payment_view


class Allowed(Protocol):
    """What the client may do through the manage link (``services.bookings.policy.Permissions``)."""

    # Read-only members: Permissions is a frozen dataclass.
    @property
    def can_cancel(self) -> bool: ...

    @property
    def can_reschedule(self) -> bool: ...

    @property
    def reason(self) -> str | None: ...

    @property
    def reason_text(self) -> str: ...


def series_dates(booking: Booking) -> list[tuple[datetime, datetime]] | None:
    """Every (start, end) of a series booking (the booking row stands for its first session)."""
    if booking.service.kind != "series":
        return None
    return [(s.start, s.end) for s in booking.service.service_sessions]


def private_location(booking: Booking) -> dict[str, Any] | None:
    """Where the session happens, details included: shown only to the booking's client and expert."""
    if booking.session is not None and booking.session.location:
        return places.with_zone(dict(booking.session.location), booking.expert.timezone)
    return places.with_zone(dict(booking.service.location or {}) or None, booking.expert.timezone)


def public_location(service: Service) -> dict[str, Any]:
    """What a public page may show: the type only for personal services (API.md)."""
    location = service.location or {"type": "video"}
    if service.kind == "personal":  # the kind, and for a place its clock (the address stays private)
        public = {key: location[key] for key in ("type", "city") if location.get(key)}
        return places.with_zone({"type": "video", **public}, service.expert.timezone)
    return places.with_zone(dict(location), service.expert.timezone)


def booking_view(booking: Booking, *, manage_url: str | None = None, tz: str | None = None) -> dict[str, Any]:
    """The booking as its client (or expert) sees it, times in ``tz`` or the client's zone."""
    tz = tz or booking.timezone
    view: dict[str, Any] = {
        "id": booking.id,
        "status": booking.status,
        "start": iso_in(booking.start, tz),
        "end": iso_in(booking.end, tz),
        "timezone": tz,
        "service": {"slug": booking.service.slug, "name": booking.session_name, "kind": booking.service.kind},
        "expert": {"slug": booking.expert.slug, "name": booking.expert.name},
        "client": {"name": booking.client.name, "email": booking.client.email},
        "location": private_location(booking),
        "session": booking.session_id,
        "message": booking.message,
        "answers": booking.answers,
        "confirmation_note": booking.service.confirmation_note,
        "payment": payment_view(booking),
        "created_at": iso_utc(booking.created_at),
    }
    if booking.coupon_code:
        view["coupon"] = {"code": booking.coupon_code, "discount": booking.discount_amount or 0}
    dates = series_dates(booking)
    if dates is not None:
        view["sessions"] = [{"start": iso_in(start, tz), "end": iso_in(end, tz)} for start, end in dates]
    if booking.expires_at is not None:
        view["expires_at"] = iso_in(booking.expires_at, tz)
    if manage_url:
        view["manage_url"] = manage_url
    return view


def history_view(booking: Booking) -> list[dict[str, Any]]:
    """The booking's changes, oldest first, and who made them (the expert's view)."""
    return [{"type": e.type, "actor": e.actor, "message": e.message, "at": iso_utc(e.at)} for e in booking.events]


def event_view(booking: Booking) -> dict[str, Any]:
    """What the host page may learn (API.md): no manage token, no private details."""
    return {key: value for key, value in booking_view(booking).items()
            if key in ("id", "status", "start", "end", "timezone", "service", "client")}


def manage_view(booking: Booking, allowed: Allowed, manage_url: str) -> dict[str, Any]:
    """The manage page's answer: the booking and what its client may do now."""
    view: dict[str, Any] = {"booking": booking_view(booking, manage_url=manage_url),
                            "can_cancel": allowed.can_cancel, "can_reschedule": allowed.can_reschedule,
                            "reason": allowed.reason}
    if allowed.reason:
        view["reason_text"] = allowed.reason_text
    return view
