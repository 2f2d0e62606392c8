"""Waitlists (public join, the offer link, the expert's view) and coupons (the expert's CRUD)."""
from __future__ import annotations

from typing import Any

from backend.api.auth import current_expert, login_required
from backend.api.blueprint import Blueprint
from backend.errors import NotFound
from backend.extensions import db
from backend.links import app_links
from backend.models import Coupon, WaitlistEntry
from backend.ratelimit import limit
from backend.schemas.promotions import (
    CouponEnvelope,
    CouponSchema,
    CouponsEnvelope,
    WaitlistEnvelope,
    WaitlistJoin,
    WaitlistListEnvelope,
    WaitlistOfferEnvelope,
)
from backend.services import coupons, experts, waitlist
from backend.timeutil import iso_in, iso_utc
from backend.types import utcnow

blp = Blueprint("promotions", __name__, url_prefix="/api/v1", description="Waitlists and coupons")


def entry_view(entry: WaitlistEntry, *, tz: str | None = None, position: int | None = None) -> dict[str, Any]:
    tz = tz or entry.timezone
    view: dict[str, Any] = {"id": entry.id, "status": entry.status, "session": entry.session_id,
            "start": iso_in(entry.session.start, tz), "end": iso_in(entry.session.end, tz), "timezone": tz,
            "offer_expires_at": iso_in(entry.offer_expires_at, tz) if entry.offer_expires_at else None,
            "client": {"name": entry.client.name, "email": entry.client.email},
            "created_at": iso_utc(entry.created_at)}
    if position is not None:
        view["position"] = position
    return view


def coupon_view(coupon: Coupon) -> dict[str, Any]:
    return {"code": coupon.code, "percent_off": coupon.percent_off, "amount_off": coupon.amount_off,
            "currency": coupon.currency, "services": coupon.services, "max_uses": coupon.max_uses,
            "uses": coupon.uses, "expires_at": coupon.expires_at, "created_at": iso_utc(coupon.created_at)}


@blp.route("/experts/<expert>/services/<service>/waitlist", methods=["POST"])
@limit("booking", per_minute=30)
@blp.arguments(WaitlistJoin)
@blp.response(201, WaitlistEnvelope)
@blp.alt_response(403, description="not_allowed: seats_left (book it instead) or no_waitlist")
def join_waitlist(data: dict, expert: str, service: str):
    """Join the waitlist of a full group, series or mini session; the first person waiting is
    emailed a link holding a freed seat for ``hold_minutes``."""
    found_expert = experts.get_expert(db.session(), expert)
    found = experts.get_service(db.session(), found_expert, service)
    if found.visibility == "clients":
        raise NotFound(f"No service '{service}' for this expert.")
    entry = waitlist.join(db.session(), found_expert, found, session_id=data["session"], name=data["client"]["name"],
                          email=data["client"]["email"], phone=data["client"].get("phone"),
                          timezone=data["timezone"], now=utcnow())
    view = entry_view(entry, position=waitlist.position(db.session(), entry))
    db.session.commit()
    return {"waitlist": view}


@blp.route("/waitlist/<token>")
@blp.response(200, WaitlistOfferEnvelope)
def get_offer(token: str):
    """What a waitlist link holds: the session, and until when the seat is kept for its client."""
    entry = waitlist.find_offer(db.session(), token, app_links().waitlist_entry_id)
    view = entry_view(entry, position=waitlist.position(db.session(), entry))
    return {"offer": {**view, "expert": entry.service.expert.slug, "service": entry.service.slug}}


@blp.route("/admin/services/<service>/sessions/<session>/waitlist")
@login_required
@blp.response(200, WaitlistListEnvelope)
def list_waitlist(service: str, session: str):
    """The people waiting for one session (and any holding an offered seat), first first."""
    expert = current_expert()
    experts.get_service(db.session(), expert, service)
    entries = waitlist.list_for_session(db.session(), expert, session)
    return {"waitlist": [entry_view(e, tz=expert.timezone, position=n) for n, e in enumerate(entries, 1)]}


@blp.route("/admin/waitlist/<entry_id>", methods=["DELETE"])
@login_required
@blp.response(204)
def remove_from_waitlist(entry_id: str):
    """Take someone off a waitlist; a seat they were holding is offered to the next person."""
    waitlist.remove(db.session(), current_expert(), entry_id, utcnow())
    db.session.commit()


@blp.route("/admin/coupons")
@login_required
@blp.response(200, CouponsEnvelope)
def list_coupons():
    """The expert's coupons with their uses, newest first."""
    return {"coupons": [coupon_view(c) for c in coupons.list_coupons(db.session(), current_expert())]}


@blp.route("/admin/coupons", methods=["POST"])
@login_required
@blp.arguments(CouponSchema)
@blp.response(201, CouponEnvelope)
def create_coupon(data: dict):
    """A new discount code: percent or amount off, for some services or all, a maximum of uses, an expiry."""
    coupon = coupons.create_coupon(db.session(), current_expert(), data)
    view = coupon_view(coupon)
    db.session.commit()
    return {"coupon": view}


@blp.route("/admin/coupons/<code>", methods=["DELETE"])
@login_required
@blp.response(204)
def delete_coupon(code: str):
    """Remove a code (bookings made with it keep their discount)."""
    coupons.delete_coupon(db.session(), current_expert(), code)
    db.session.commit()
