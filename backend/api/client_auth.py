"""Signing an existing client in (API.md, "Existing clients"): start, verify, me, sign-out.

The widget runs in a third-party iframe where the host's cookies are blocked, so the client
token travels as ``Authorization: Bearer``; ``signed_in_client`` reads it for every public
endpoint (an expert's API token there is simply not a client token).
"""
from __future__ import annotations

from typing import Any

from flask import current_app, request

from backend.api.blueprint import Blueprint
from backend.errors import Unauthorized
from backend.extensions import db
from backend.links import app_links
from backend.models import Client, Expert
from backend.payments import cards, packages
from backend.ratelimit import limit, limit_by
from backend.schemas.clients import MeOut, SentOut, SignedInOut, SignInStart, SignInVerify
from backend.services import client_auth, experts
from backend.services.clients import email_key
from backend.timeutil import iso_utc
from backend.types import utcnow
from backend.views.bookings import booking_view

blp = Blueprint("client_auth", __name__, url_prefix="/api/v1",
                description="Existing clients: sign in with an emailed code, their bookings, credits and cards")


def bearer_token() -> str | None:
    """The ``Authorization: Bearer`` token of this request, if any."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def signed_in_client(expert: Expert) -> Client | None:
    """The client signed in at ``expert`` by this request's bearer token, or None (signed out)."""
    token = bearer_token()
    return client_auth.client_for_token(db.session(), expert, token, utcnow()) if token else None


def _email_of_request() -> str:
    """The rate-limit key of a start request: the email it asks a code for, case-folded."""
    body = request.get_json(silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    return "email:" + (email_key(email) if isinstance(email, str) else "")


@blp.route("/experts/<expert>/client-auth/start", methods=["POST"])
@limit("client_auth", per_minute=10)
@limit_by("client_auth_email", per_minute=3, key=_email_of_request)
@blp.arguments(SignInStart)
@blp.response(202, SentOut)
def start(data: dict, expert: str):
    """Email a 6-digit code and a sign-in link (15 minutes). The same answer whether or not the email is known."""
    settings = current_app.config["KAIROS"]
    client_auth.start(db.session(), experts.get_expert(db.session(), expert), data["email"],
                      secret=settings.secret_key, base_url=settings.base_url, now=utcnow())
    db.session.commit()
    return {"sent": True}


@blp.route("/experts/<expert>/client-auth/verify", methods=["POST"])
@limit("client_auth_verify", per_minute=30)
@blp.arguments(SignInVerify)
@blp.response(200, SignedInOut)
@blp.alt_response(401, description="unauthorized: a wrong, used or expired code or link")
def verify(data: dict, expert: str):
    """Exchange the emailed code (or link token) for a client token."""
    found = experts.get_expert(db.session(), expert)
    now = utcnow()
    try:
        if "link_token" in data:
            signed = client_auth.verify_link(db.session(), found, data["link_token"], now=now)
        else:
            signed = client_auth.verify_code(db.session(), found, data["email"], data["code"],
                                             secret=current_app.config["KAIROS"].secret_key, now=now)
    except Unauthorized:
        db.session.commit()  # a wrong try is counted even though the answer is an error
        raise
    db.session.commit()
    return {"client": {"name": signed.client.name, "email": signed.client.email},
            "client_token": signed.token, "expires_at": iso_utc(signed.expires_at)}


def _require_signed_in(expert: Expert) -> Client:
    client = signed_in_client(expert)
    if client is None:
        raise Unauthorized("Sign in again: this session has ended.")
    return client


@blp.route("/experts/<expert>/client-auth/me")
@blp.response(200, MeOut)
def me(expert: str):
    """The signed-in client: upcoming bookings (with manage links), package credits and saved cards."""
    found = experts.get_expert(db.session(), expert)
    client = _require_signed_in(found)
    links = app_links()
    now = utcnow()
    upcoming = [booking_view(b, manage_url=links.manage_url(b))
                for b in client_auth.upcoming_bookings(db.session(), client, now)]
    held: list[dict[str, Any]] = [packages.package_view(db.session(), p)
                                  for p in packages.usable_of_client(db.session(), client, now)]
    saved = cards.saved_cards(db.session(), client)  # ends the read before asking Stripe
    return {"client": {"name": client.name, "email": client.email}, "bookings": upcoming,
            "packages": held, "cards": saved}


@blp.route("/experts/<expert>/client-auth/sign-out", methods=["POST"])
@blp.response(204)
def sign_out(expert: str):
    """End this client token (any later request with it is signed out)."""
    experts.get_expert(db.session(), expert)
    token = bearer_token()
    if token:
        client_auth.sign_out(db.session(), token, utcnow())
    db.session.commit()
