"""The expert's side of notifications: webhook endpoints, the outbox (parked messages, retry), the .ics feed.

``blp`` (flask-smorest, under ``/api/v1/admin``) needs the bearer token; ``feed_bp`` serves the
secret feed URL itself, which calendar apps fetch without any header.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint as FlaskBlueprint
from flask import Response, current_app
from sqlalchemy import select

from backend import outbox
from backend.api.auth import current_expert, login_required
from backend.api.blueprint import Blueprint
from backend.errors import NotFound
from backend.extensions import db
from backend.models import OutboxMessage, WebhookEndpoint
from backend.notifications import feed, ics, webhooks
from backend.ratelimit import limit
from backend.schemas.notifications import (
    CalendarFeedOut,
    OutboxEnvelope,
    OutboxMessageEnvelope,
    OutboxQuery,
    WebhookCreate,
    WebhookEnvelope,
    WebhooksEnvelope,
)
from backend.security import signing_keys
from backend.timeutil import iso_utc
from backend.types import utcnow

blp = Blueprint("notifications", __name__, url_prefix="/api/v1/admin",
                description="Webhooks, the outbox and the calendar feed (Bearer token)")
feed_bp = FlaskBlueprint("feeds", __name__)


def _settings():
    return current_app.config["KAIROS"]


def webhook_view(endpoint: WebhookEndpoint, *, with_secret: bool = False) -> dict[str, Any]:
    view = {"id": endpoint.id, "url": endpoint.url, "events": list(endpoint.events or []),
            "active": endpoint.active, "created_at": iso_utc(endpoint.created_at)}
    if with_secret:
        view["secret"] = endpoint.secret
    return view


def outbox_view(row: OutboxMessage) -> dict[str, Any]:
    payload = row.payload or {}
    return {"id": row.id, "kind": row.kind, "topic": row.topic, "status": row.status,
            "booking": payload.get("booking_id"), "to": payload.get("to") or payload.get("endpoint_id"),
            "attempts": row.attempts, "last_error": row.last_error,
            "next_attempt_at": iso_utc(row.next_attempt_at) if row.status == "pending" else None,
            "created_at": iso_utc(row.created_at), "sent_at": iso_utc(row.sent_at) if row.sent_at else None}


def _endpoint(endpoint_id: str) -> WebhookEndpoint:
    endpoint = db.session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id,
                                                               WebhookEndpoint.expert_id == current_expert().id))
    if endpoint is None:
        raise NotFound("No such webhook.")
    return endpoint


@blp.route("/webhooks")
@login_required
@blp.response(200, WebhooksEnvelope)
def list_webhooks():
    """The expert's webhook endpoints (the secret is shown only when one is created)."""
    rows = db.session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.expert_id == current_expert().id)
                              .order_by(WebhookEndpoint.created_at))
    return {"webhooks": [webhook_view(row) for row in rows]}


@blp.route("/webhooks", methods=["POST"])
@login_required
@blp.arguments(WebhookCreate)
@blp.response(201, WebhookEnvelope)
def create_webhook(data: dict):
    """Subscribe a URL to event types; the answer carries the signing secret.

    A URL on a private or internal network (127.0.0.1, 10.x, 169.254.x, localhost, *.internal…) is
    refused with a 422; the address a name resolves to is checked again at every delivery.
    """
    endpoint = webhooks.subscribe(db.session(), current_expert().id, data["url"], data["events"],
                                  allow_private=_settings().webhook_allow_private)
    db.session.commit()
    return {"webhook": webhook_view(endpoint, with_secret=True)}


@blp.route("/webhooks/<endpoint_id>", methods=["DELETE"])
@login_required
@blp.response(204)
def delete_webhook(endpoint_id: str):
    """Stop sending to this URL; its undelivered events are parked (listed in the outbox)."""
    db.session.delete(_endpoint(endpoint_id))
    db.session.commit()


@blp.route("/outbox")
@login_required
@blp.arguments(OutboxQuery, location="query")
@blp.response(200, OutboxEnvelope)
def list_outbox(query: dict):
    """The expert's emails and webhooks, newest first; ``?status=parked`` shows what gave up."""
    rows = outbox.list_messages(db.session(), current_expert().id, status=query.get("status"), limit=query["limit"])
    return {"messages": [outbox_view(row) for row in rows]}


@blp.route("/outbox/<id:message_id>/retry", methods=["POST"])
@login_required
@blp.response(200, OutboxMessageEnvelope)
@blp.alt_response(403, description="not_allowed: only a parked message can be retried")
def retry_outbox(message_id: int):
    """Send a parked message again, with a fresh set of attempts."""
    row = outbox.retry_parked(db.session(), current_expert().id, message_id)
    db.session.commit()
    return {"message": outbox_view(row)}


@blp.route("/calendar-feed")
@login_required
@blp.response(200, CalendarFeedOut)
def get_calendar_feed():
    """The secret URL of the expert's .ics feed (confirmed bookings) for their calendar app."""
    expert = current_expert()
    settings = _settings()
    url = feed.feed_url(settings.base_url, settings.secret_key, expert)
    db.session.commit()  # keeps a nonce made just now
    return {"url": url}


@blp.route("/calendar-feed", methods=["POST"])
@login_required
@blp.response(200, CalendarFeedOut)
def rotate_calendar_feed():
    """A new secret feed URL; the old one stops working."""
    settings = _settings()
    url = feed.feed_url(settings.base_url, settings.secret_key, current_expert(), rotate=True)
    db.session.commit()
    return {"url": url}


@feed_bp.route("/feeds/<token>.ics")
@limit("feed", per_minute=60)
def calendar_feed(token: str) -> Response:
    """The expert's confirmed bookings as iCalendar, for the secret token only."""
    settings = _settings()
    expert = feed.expert_for_token(db.session(), signing_keys(settings.secret_key, settings.previous_secret_keys), token)
    if expert is None:
        raise NotFound("This feed address is not valid.")
    body = ics.feed(expert.name, feed.feed_bookings(db.session(), expert, utcnow()))
    return Response(body, mimetype="text/calendar", headers={
        "Content-Disposition": 'inline; filename="kairos.ics"',
        "Cache-Control": "private, max-age=300",
        "X-Robots-Tag": "noindex",
    })
