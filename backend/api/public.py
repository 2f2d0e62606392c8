"""The public API the widget uses (no login)."""
from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from backend import slot_cache
from backend.api import slots_lane
from backend.api.blueprint import Blueprint
from backend.api.client_auth import bearer_token, signed_in_client
from backend.errors import NotFound, ValidationError
from backend.extensions import db
from backend.links import app_links
from backend.payments import cards, checkout, saved_card
from backend.ratelimit import limit
from backend.schemas import (
    BookingCreate,
    BookingEnvelope,
    PublicExpertSchema,
    PublicServiceSchema,
    SlotsQuery,
    SlotsSchema,
)
from backend.services import bookings, client_auth, collections, experts, idempotency, package_plans, slot_answers
from backend.types import utcnow
from backend.views import bookings as views

blp = Blueprint("public", __name__, url_prefix="/api/v1", description="Booking page, slots and bookings")


def public_service_view(service) -> dict[str, Any]:
    price = ({"amount": service.price_amount, "currency": service.price_currency}
             if service.price_amount is not None else None)
    return {
        "slug": service.slug, "name": service.name, "description": service.description, "kind": service.kind,
        "duration_minutes": service.duration_minutes, "price": price,
        "deposit": ({"amount": service.deposit_amount, "currency": service.price_currency}
                    if service.deposit_amount is not None else None),
        "payment_options": list(service.payment_options or []),
        "location": views.public_location(service), "phone": service.phone, "message": service.message,
        "questions": service.questions or [], "capacity": service.capacity, "hold_minutes": service.hold_minutes,
        "outside_payment_instructions": service.outside_payment_instructions
        if "outside" in (service.payment_options or []) else "",
    }


def public_expert_view(expert, *, is_client: bool = False) -> dict[str, Any]:
    """The booking page; services and plans shown only to clients appear for a signed-in client of the expert."""
    shown = experts.public_services(expert)
    if is_client:
        shown = [s for s in expert.services if s.visibility in ("public", "clients") and not s.archived]
    return {
        "slug": expert.slug, "name": expert.name, "bio": expert.bio, "avatar_url": expert.avatar_url,
        "timezone": expert.timezone, "brand_color": expert.brand_color, "locale": expert.locale,
        "services": [public_service_view(s) for s in shown],
        "packages": [package_plans.plan_view(db.session(), p)
                     for p in package_plans.public_plans(db.session(), expert, is_client=is_client)],
    }


def visible_service(expert: str, service: str):
    """The expert and service asked for; a clients-only service needs a signed-in client of that expert
    (401 ``sign_in_required``, before anything of it is said)."""
    found_expert = experts.get_expert(db.session(), expert)
    found = experts.get_service(db.session(), found_expert, service)
    require_visible(found_expert, found)
    return found_expert, found


def require_visible(found_expert, found) -> None:
    """SignInRequired unless ``found`` may be shown to this request (clients-only needs a signed-in client)."""
    if found.visibility == "clients" or (
            found.visibility == "unlisted" and collections.behind_clients_only(db.session(), found_expert, "service",
                                                                               found.slug)):
        client_auth.require_client(db.session(), found_expert, signed_in_client(found_expert))


@blp.route("/experts/<expert>")
@blp.response(200, PublicExpertSchema)
def get_expert(expert: str):
    """The booking page: profile and public services (and clients-only ones for a signed-in client)."""
    found = experts.get_expert(db.session(), expert)
    return public_expert_view(found, is_client=client_auth.is_client(db.session(), found, signed_in_client(found)))


@blp.route("/experts/<expert>/services/<service>")
@blp.response(200, PublicServiceSchema)
def get_service(expert: str, service: str):
    """One service, public or unlisted (a direct link); clients-only needs a signed-in client."""
    return public_service_view(visible_service(expert, service)[1])


@blp.route("/experts/<expert>/services/<service>/slots")
@blp.arguments(SlotsQuery, location="query", as_kwargs=True)
@blp.response(200, SlotsSchema)
@blp.alt_response(304, description="Not modified: the slots are still those of the ETag given in If-None-Match")
def get_slots(expert: str, service: str, start, end, timezone: str, include_full: bool = False):
    """Bookable times of a service between two dates (inclusive) read in ``timezone``.

    Computed once per change of the expert's data and shared by every worker (services/slot_answers.py);
    the ``ETag`` lets a browser revalidate with ``If-None-Match`` and get a 304.
    """
    found = slots_head(expert, service)
    store, namespace = slot_cache.current()
    entry = slot_answers.answer(db.session(), store, namespace, found, start, end, timezone, include_full, utcnow())
    return cached_json(entry, shared=found.public)


def slots_head(expert: str, service: str) -> slot_answers.Head:
    """The cache key's expert counter and service, read first; a service that is not public goes through
    the full access check on every request (404, or 401 ``sign_in_required`` for clients only)."""
    # The lane before Flask read it already when the cache missed: read before anything is computed,
    # it is as new as a read here would be for what follows.
    found = request.environ.get(slots_lane.HEAD_KEY) or slot_answers.head(db.session(), expert, service)
    if found is None or not found.public:
        visible_service(expert, service)
        found = found or slot_answers.head(db.session(), expert, service)
        if found is None:
            raise NotFound()
    return found


def cached_json(entry: slot_cache.Entry, *, shared: bool) -> Response:
    """A cached answer as Flask's response (``slots_lane.representation`` decides it)."""
    status, headers, body = slots_lane.representation(
        entry, shared=shared, accept_encoding=request.headers.get("Accept-Encoding", ""),
        if_none_match=request.headers.get("If-None-Match"))
    return Response(body, status=status, headers=headers)


@blp.route("/experts/<expert>/services/<service>/bookings", methods=["POST"])
@limit("booking", per_minute=30)
@blp.arguments(BookingCreate)
@blp.response(201, BookingEnvelope)
@blp.alt_response(409, description="The time was just taken (slot_unavailable) or the Idempotency-Key was reused")
@blp.alt_response(422, description="validation_error")
def create_booking(data: dict, expert: str, service: str):
    """Book a time (or a session) of a service for a client. Honours ``Idempotency-Key``."""
    given = data.get("client") or {}
    raw_key = request.headers.get("Idempotency-Key")
    # One query for the expert, the service and what the booking needs of them (services/bookings/target);
    # the client is looked up by the body's email unless a bearer token may name another.
    read = bookings.read_target(db.session(), expert, service, key_hash=idempotency.hash_key(raw_key),
                                email=given.get("email") if bearer_token() is None else None)
    found_expert, found = read.expert, read.service
    require_visible(found_expert, found)
    signed_in = signed_in_client(found_expert)
    if signed_in is None and not given:
        raise ValidationError(fields={"client": ["Enter your name and email, or sign in."]})
    if signed_in is not None:  # the booking belongs to the signed-in client, whatever the body says
        given = {"name": signed_in.name, "email": signed_in.email, "phone": given.get("phone") or signed_in.phone}
    if data.get("card") and (signed_in is None or data.get("payment_option") != "online"):
        raise ValidationError(fields={"card": ["Sign in and pay online to use a saved card."]})
    if data.get("card") and signed_in is not None:  # checked with Stripe before anything is held
        cards.require_saved_card(db.session(), signed_in, data["card"])
    key = idempotency.make_key(idempotency.booking_scope(found_expert.id, found.id), raw_key,
                               request.get_json(silent=True))
    req = bookings.BookingRequest(
        timezone=data["timezone"], start=data.get("start"), session_id=data.get("session"),
        client_name=given["name"], client_email=given["email"],
        client_phone=given.get("phone"), message=data.get("message", ""),
        answers=data.get("answers", {}), payment_option=data.get("payment_option"),
        coupon=data.get("coupon"), waitlist_token=data.get("waitlist"),
        package_id=data.get("package"),
    )
    answer = bookings.create_booking(db.session(), found_expert, found, req, now=utcnow(), links=app_links(), key=key,
                                     read=read)
    db.session.commit()  # the booking's unit ends here, releasing the expert's lock
    if data.get("card") and signed_in is not None:  # one click: charge the saved card (units of its own)
        status, body = saved_card.pay_new_booking(db.session(), answer, signed_in, data["card"], utcnow())
    else:
        status, body = checkout.after_booking(db.session(), answer)  # Stripe card setup: units of its own
    response = jsonify(body)
    response.status_code = status
    return response
