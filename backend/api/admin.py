"""The expert API (bearer token): profile, services, availability, sessions, bookings."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app

from backend.api.auth import current_expert, login_required
from backend.api.blueprint import Blueprint
from backend.errors import ValidationError
from backend.extensions import db
from backend.links import app_links
from backend.models import Availability, Lead, Service, ServiceSession
from backend.payments import checkout
from backend.schemas import (
    AvailabilitySchema,
    BookingEnvelope,
    BookingsPage,
    BookingsQuery,
    ClientsEnvelope,
    ExpertBookingCreate,
    ExpertCancelInput,
    LeadEnvelope,
    LeadsEnvelope,
    MiniDayCreate,
    PageCursor,
    PageQuery,
    ProfileSchema,
    ServiceEnvelope,
    ServiceSchema,
    ServicesEnvelope,
    SessionCreate,
    SessionEnvelope,
    SessionsEnvelope,
    ShareInput,
    patch_schema,
)
from backend.services import bookings, clients, experts, leads, sessions, slots
from backend.services.bookings import completion
from backend.timeutil import iso_in, iso_utc
from backend.types import utcnow
from backend.views import bookings as views

blp = Blueprint("admin", __name__, url_prefix="/api/v1/admin", description="The expert API (Bearer token)")


def _stripe_enabled() -> bool:
    return bool(current_app.config["KAIROS"].stripe_secret_key)


def service_view(service: Service) -> dict[str, Any]:
    price = ({"amount": service.price_amount, "currency": service.price_currency}
             if service.price_amount is not None else None)
    view = {key: getattr(service, key) for key in ServiceSchema().fields if hasattr(service, key)}
    view["price"] = price
    view["deposit"] = ({"amount": service.deposit_amount, "currency": service.price_currency}
                       if service.deposit_amount is not None else None)
    view["policy"] = {**experts.DEFAULT_POLICY, **(service.policy or {})}
    return view


@blp.route("/profile")
@login_required
@blp.response(200, ProfileSchema)
def get_profile():
    """The signed-in expert's profile."""
    return current_expert()


@blp.route("/profile", methods=["PATCH"])
@login_required
@blp.arguments(patch_schema(ProfileSchema))
@blp.response(200, ProfileSchema)
def patch_profile(data: dict):
    """Change some profile fields."""
    expert = experts.update_profile(current_expert(), data)
    db.session.commit()
    return expert


@blp.route("/services")
@login_required
@blp.response(200, ServicesEnvelope)
def list_services():
    expert = current_expert()
    return {"services": [service_view(s) for s in expert.services if not s.archived]}


@blp.route("/services", methods=["POST"])
@login_required
@blp.arguments(ServiceSchema)
@blp.response(201, ServiceEnvelope)
def create_service(data: dict):
    service = experts.create_service(db.session(), current_expert(), data, stripe_enabled=_stripe_enabled())
    db.session.commit()
    return {"service": service_view(service)}


@blp.route("/services/<service>")
@login_required
@blp.response(200, ServiceEnvelope)
def get_service(service: str):
    return {"service": service_view(experts.get_service(db.session(), current_expert(), service))}


@blp.route("/services/<service>", methods=["PATCH"])
@login_required
@blp.arguments(patch_schema(ServiceSchema))
@blp.response(200, ServiceEnvelope)
def patch_service(data: dict, service: str):
    expert = current_expert()
    found = experts.get_service(db.session(), expert, service)
    experts.apply_service_changes(db.session(), expert, found, data, stripe_enabled=_stripe_enabled())
    db.session.commit()
    return {"service": service_view(found)}


@blp.route("/services/<service>", methods=["DELETE"])
@login_required
@blp.response(204)
def delete_service(service: str):
    """Remove a service from offer; one with bookings is archived so its bookings stay whole."""
    experts.remove_service(db.session(), experts.get_service(db.session(), current_expert(), service))
    db.session.commit()


@blp.route("/availability")
@login_required
@blp.response(200, AvailabilitySchema)
def get_availability():
    expert = current_expert()
    av = db.session.get(Availability, expert.id)
    if av is None:
        return {"timezone": expert.timezone, "weekly": {}, "overrides": []}
    return experts.availability_view(av)


@blp.route("/availability", methods=["PUT"])
@login_required
@blp.arguments(AvailabilitySchema)
@blp.response(200, AvailabilitySchema)
def put_availability(data: dict):
    av = experts.set_availability(db.session(), current_expert(), data)
    db.session.commit()
    return experts.availability_view(av)


@blp.route("/services/<service>/sessions", methods=["POST"])
@login_required
@blp.arguments(SessionCreate)
@blp.response(201, SessionEnvelope)
def create_session(data: dict, service: str):
    """Schedule a session of a group, series or mini service."""
    expert = current_expert()
    session = sessions.create_session(db.session(), expert, experts.get_service(db.session(), expert, service), data)
    db.session.commit()
    return {"session": session_view(session, expert.timezone, taken=0)}


def session_view(session: ServiceSession, tz: str, *, taken: int) -> dict[str, Any]:
    return {"id": session.id, "start": iso_in(session.start, tz), "end": iso_in(session.end, tz),
            "capacity": session.capacity, "seats_left": max(session.capacity - taken, 0),
            "location": session.location}


@blp.route("/services/<service>/sessions")
@login_required
@blp.response(200, SessionsEnvelope)
def list_sessions(service: str):
    """The scheduled sessions of a group, series or mini service with their seats left."""
    expert = current_expert()
    found = experts.get_service(db.session(), expert, service)
    sessions = list(found.service_sessions)
    taken = slots.seats_taken(db.session(), found, [s.id for s in sessions], utcnow())
    return {"sessions": [session_view(s, expert.timezone, taken=taken.get(s.id, 0)) for s in sessions]}


@blp.route("/services/<service>/mini-days", methods=["POST"])
@login_required
@blp.arguments(MiniDayCreate)
@blp.response(201, SessionsEnvelope)
def create_mini_day(data: dict, service: str):
    """A mini-session day at a location, cut into single-seat slots of the service's length (or slot_minutes)."""
    expert = current_expert()
    created = sessions.create_mini_day(db.session(), expert, experts.get_service(db.session(), expert, service), data)
    db.session.commit()
    return {"sessions": [session_view(s, expert.timezone, taken=0) for s in created]}


@blp.route("/bookings")
@login_required
@blp.arguments(BookingsQuery, location="query")
@blp.response(200, BookingsPage)
def list_bookings(query: dict):
    """The expert's bookings, newest start first, in the expert's time zone, a page at a time
    (``limit``, default 200; follow ``next_cursor`` until it is null)."""
    expert = current_expert()
    found = bookings.list_bookings(db.session(), expert, status=query.get("status"), start=query.get("start"),
                                   end=query.get("end"), limit=query["limit"] + 1,
                                   after=_cursor(query, datetime, str))
    page, next_cursor = _page(found, query["limit"], lambda b: (b.start, b.id))
    return {"bookings": [views.booking_view(b, tz=expert.timezone) for b in page], "next_cursor": next_cursor}


def _cursor(query: dict, value_type: type, id_type: type) -> tuple | None:
    """The ``cursor`` of a page query, checked to belong to this list (a cursor of another list is a 422)."""
    cursor = query.get("cursor")
    if cursor is not None and not (isinstance(cursor[0], value_type) and isinstance(cursor[1], id_type)):
        raise ValidationError(fields={"cursor": ["Not a valid cursor: pass the next_cursor of the previous page."]})
    return cursor


def _page(rows: list, limit: int, key) -> tuple[list, str | None]:
    """One page of ``rows`` (fetched with one row too many) and the cursor of the next, or None."""
    if len(rows) <= limit:
        return rows, None
    return rows[:limit], PageCursor.encode(*key(rows[limit - 1]))


@blp.route("/clients")
@login_required
@blp.arguments(PageQuery, location="query")
@blp.response(200, ClientsEnvelope)
def list_clients(query: dict):
    """The expert's clients by name, a page at a time (``limit``, ``next_cursor``)."""
    found = clients.list_clients(db.session(), current_expert(), limit=query["limit"] + 1,
                                  after=_cursor(query, str, int))
    page, next_cursor = _page(found, query["limit"], lambda c: (c.name, c.id))
    return {"clients": [{"id": c.id, "name": c.name, "email": c.email, "phone": c.phone,
                         "created_at": iso_utc(c.created_at)} for c in page], "next_cursor": next_cursor}


@blp.route("/leads")
@login_required
@blp.arguments(PageQuery, location="query")
@blp.response(200, LeadsEnvelope)
def list_leads(query: dict):
    """The expert's leads, most recently changed first, a page at a time (``limit``, ``next_cursor``)."""
    found = leads.list_leads(db.session(), current_expert(), limit=query["limit"] + 1,
                             after=_cursor(query, datetime, str))
    page, next_cursor = _page(found, query["limit"], lambda lead: (lead.updated_at, lead.id))
    return {"leads": [lead_view(lead) for lead in page], "next_cursor": next_cursor}


def lead_view(lead: Lead) -> dict[str, Any]:
    return {"id": lead.id, "status": lead.status, "client": {"name": lead.client.name, "email": lead.client.email},
            "service": {"slug": lead.service.slug, "name": lead.service.name},
            "created_at": iso_utc(lead.created_at), "updated_at": iso_utc(lead.updated_at)}


@blp.route("/bookings", methods=["POST"])
@login_required
@blp.arguments(ExpertBookingCreate)
@blp.response(201, BookingEnvelope)
def create_booking(data: dict):
    """Set up a session for a client (from a service or one-off); it stays pending until they complete it."""
    expert = current_expert()
    booking, share_url = bookings.set_up_session(db.session(), expert, data, now=utcnow(), links=app_links())
    db.session.commit()
    view = views.booking_view(booking, tz=expert.timezone)
    view["share_url"] = share_url
    return {"booking": view}


@blp.route("/bookings/<booking_id>")
@login_required
@blp.response(200, BookingEnvelope)
def get_booking(booking_id: str):
    expert = current_expert()
    booking = bookings.get_booking(db.session(), expert, booking_id)
    view = views.booking_view(booking, tz=expert.timezone)
    view["history"] = views.history_view(booking)
    return {"booking": view}


@blp.route("/bookings/<booking_id>/confirm", methods=["POST"])
@login_required
@blp.response(200, BookingEnvelope)
def confirm_booking(booking_id: str):
    """Confirm a pending booking by hand (waives its payment)."""
    expert = current_expert()
    booking = bookings.confirm_booking(db.session(), bookings.get_booking(db.session(), expert, booking_id), actor="expert")
    db.session.commit()
    return {"booking": views.booking_view(booking, tz=expert.timezone)}


@blp.route("/bookings/<booking_id>/share", methods=["POST"])
@login_required
@blp.arguments(ShareInput)
@blp.response(200, BookingEnvelope)
def share_booking(data: dict, booking_id: str):
    """Email the pending session's link to the client again; returns the fresh ``share_url``.

    ``expires_at`` sets the offer's new expiry (null: none); a lapsed offer is reopened (without
    expiry unless one is sent) when its time is still free, else 409.
    """
    expert = current_expert()
    booking = bookings.get_booking(db.session(), expert, booking_id)
    now = utcnow()
    if "expires_at" in data or completion.lapsed(booking, now):
        completion.reopen(db.session(), booking, expires_at=data.get("expires_at"), now=now)
    url = bookings.share_booking(db.session(), booking, app_links())
    db.session.commit()
    view = views.booking_view(booking, tz=expert.timezone)
    view["share_url"] = url
    return {"booking": view}


@blp.route("/bookings/<booking_id>/cancel", methods=["POST"])
@login_required
@blp.arguments(ExpertCancelInput)
@blp.response(200, BookingEnvelope)
def cancel_booking(data: dict, booking_id: str):
    """Cancel any booking of the expert's (the client's cutoff does not apply); a paid booking is refunded
    in full, or with ``"refund": "policy"`` as the service's cancellation policy says."""
    expert = current_expert()
    booking = bookings.cancel_booking(db.session(), bookings.get_booking(db.session(), expert, booking_id),
                                      actor="expert", reason=data["reason"], now=utcnow(),
                                      refund_by_policy=data["refund"] == "policy")
    db.session.commit()
    checkout.after_booking_cancelled(db.session(), booking)  # refunds sent to Stripe, outside the lock
    return {"booking": views.booking_view(booking, tz=expert.timezone)}


@blp.route("/leads/<lead_id>/close", methods=["POST"])
@login_required
@blp.response(200, LeadEnvelope)
def close_lead(lead_id: str):
    """The expert closes a lead they have followed up (a new booking attempt reopens it)."""
    lead = leads.close_lead(db.session(), current_expert(), lead_id)
    db.session.commit()
    return {"lead": lead_view(lead)}
