"""Expert webhooks: registration, signed deliveries checked by a real receiver, retries with the same event id."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import next_weekday
from tests.test_booking_api import book, slots_for
from tests.test_notifications import app, drain, outbox, smtp, smtp_url, token_of  # noqa: F401  (fixtures)

ALL_EVENTS = ["booking.created", "booking.confirmed", "booking.rescheduled", "booking.cancelled",
              "payment.succeeded", "payment.refunded"]


def check_signature(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """The documented recipe, written out as a receiver would: HMAC-SHA256(secret, f"{t}.{raw body}")."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    timestamp = fields["t"]
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    fresh = abs(time.time() - int(timestamp)) <= tolerance
    return fresh and hmac.compare_digest(expected, fields["v1"])


@pytest.fixture
def app_env() -> dict[str, str]:
    """The receivers below listen on 127.0.0.1, which the default settings refuse (SSRF guard):
    these tests are about signing and retries, so they allow private destinations. The refusals
    themselves are tested with the default in test_webhook_destinations.py."""
    return {"KAIROS_WEBHOOK_ALLOW_PRIVATE": "1"}


class Receiver:
    """A real HTTP endpoint in a thread; answers ``status`` (plus ``headers``) and records what it got."""

    def __init__(self) -> None:
        self.secret = ""
        self.status = 200
        self.headers: dict[str, str] = {}  # sent with every answer, e.g. a Location for a redirect
        self.received: list[dict] = []  # every attempt: {"event", "valid", "answered", "host"}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                valid = check_signature(receiver.secret, self.headers.get("Kairos-Signature", "t=0,v1="), body)
                status = receiver.status if valid else 400
                receiver.received.append({"event": json.loads(body), "valid": valid, "answered": status,
                                          "host": self.headers.get("Host")})
                self.send_response(status)
                for name, value in receiver.headers.items():
                    self.send_header(name, value)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/kairos"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def accepted(self) -> list[dict]:
        return [r["event"] for r in self.received if r["answered"] == 200]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def subscribe(client, expert, receiver: Receiver, events=ALL_EVENTS) -> dict:
    response = client.post("/api/v1/admin/webhooks", headers=expert["headers"],
                           json={"url": receiver.url, "events": events})
    assert response.status_code == 201, response.get_json()
    webhook = response.get_json()["webhook"]
    receiver.secret = webhook["secret"]
    return webhook


def test_webhook_endpoints_are_created_listed_and_deleted(client, expert):
    h = expert["headers"]
    created = client.post("/api/v1/admin/webhooks", headers=h, json={
        "url": "https://hooks.example.com/kairos", "events": ["booking.cancelled", "booking.created"]})
    assert created.status_code == 201, created.get_json()
    webhook = created.get_json()["webhook"]
    assert webhook["id"].startswith("we_") and len(webhook["secret"]) > 30
    assert webhook["url"] == "https://hooks.example.com/kairos"
    assert webhook["events"] == ["booking.created", "booking.cancelled"]
    listed = client.get("/api/v1/admin/webhooks", headers=h).get_json()["webhooks"]
    assert [w["id"] for w in listed] == [webhook["id"]] and "secret" not in listed[0]

    bad = client.post("/api/v1/admin/webhooks", headers=h, json={"url": "ftp://x.example.com", "events": ["booking.nope"]})
    assert bad.status_code == 422
    assert {"url", "events.0"} <= set(bad.get_json()["error"]["fields"])
    empty = client.post("/api/v1/admin/webhooks", headers=h, json={"url": "https://x.example.com", "events": []})
    assert empty.status_code == 422 and "events" in empty.get_json()["error"]["fields"]
    assert client.post("/api/v1/admin/webhooks", json={"url": "https://x.example.com", "events": ALL_EVENTS}).status_code == 401

    assert client.delete(f"/api/v1/admin/webhooks/{webhook['id']}", headers=h).status_code == 204
    missing = client.delete(f"/api/v1/admin/webhooks/{webhook['id']}", headers=h)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    assert client.get("/api/v1/admin/webhooks", headers=h).get_json() == {"webhooks": []}


def test_signed_events_follow_the_bookings_life(app, client, expert, receiver):
    subscribe(client, expert, receiver)
    only_cancellations = Receiver()
    try:
        subscribe(client, expert, only_cancellations, ["booking.cancelled"])
        slots = slots_for(client, next_weekday(2))
        booking = book(client, slots[0]["start"]).get_json()["booking"]
        token = token_of(booking)
        assert client.post(f"/api/v1/manage/{token}/reschedule",
                           json={"start": slots[3]["start"], "timezone": "Asia/Tokyo"}).status_code == 200
        assert client.post(f"/api/v1/manage/{token}/cancel", json={"reason": "Busy"}).status_code == 200
        drain(app)
        assert [e["type"] for e in only_cancellations.accepted()] == ["booking.cancelled"]
    finally:
        only_cancellations.close()

    assert all(r["valid"] for r in receiver.received)
    events = receiver.accepted()
    assert [e["type"] for e in events] == ["booking.created", "booking.confirmed", "booking.rescheduled",
                                           "booking.cancelled"]
    assert len({e["id"] for e in events}) == 4 and all(e["id"].startswith("evt_") for e in events)
    assert all(isinstance(e["created"], int) and set(e) == {"id", "type", "created", "data"} for e in events)
    data = [e["data"]["booking"] for e in events]
    assert all(d["id"] == booking["id"] and "manage_url" not in d for d in data)
    assert data[0]["status"] == "confirmed" and data[3]["status"] == "cancelled"
    assert data[2]["start"].endswith("+01:00") or data[2]["start"].endswith("+02:00")  # the expert's zone
    assert data[0]["client"] == {"name": "Ann Lee", "email": "ann@example.com"}
    # Nothing in the outbox holds a manage token.
    assert token not in json.dumps([row["payload"] for row in outbox(app)])


def test_a_bad_signature_is_what_the_receiver_refuses(app, client, expert, receiver):
    subscribe(client, expert, receiver, ["booking.created"])
    receiver.secret = "whsec_not-the-right-one"
    book(client, slots_for(client, next_weekday(1))[0]["start"])
    drain(app)
    assert receiver.received and not any(r["valid"] for r in receiver.received)
    assert [r["status"] for r in outbox(app, kind="webhook")] == ["pending"]  # refused: retried later


def test_endpoint_down_then_back_gets_each_event_once_with_the_same_id(app, client, expert, receiver):
    from backend.types import utcnow
    subscribe(client, expert, receiver, ["booking.created", "booking.cancelled"])
    receiver.status = 503
    slots = slots_for(client, next_weekday(3))
    first = book(client, slots[0]["start"])
    second = book(client, slots[2]["start"], email="bob@example.com")
    assert first.status_code == second.status_code == 201  # the endpoint being down changes nothing here
    client.post(f"/api/v1/manage/{token_of(second.get_json()['booking'])}/cancel", json={})
    now = utcnow()
    drain(app, now)
    failed_ids = [r["event"]["id"] for r in receiver.received]
    # The second booking's cancellation waits behind its creation, which failed: in order per booking.
    assert len(failed_ids) == 2 and all(r["answered"] == 503 for r in receiver.received)
    hooks = outbox(app, kind="webhook")
    assert all(r["status"] == "pending" for r in hooks)
    assert [("503" in (r["last_error"] or "")) for r in hooks] == [True, True, False]

    receiver.status = 200
    for day in range(1, 4):
        drain(app, now + timedelta(days=day))
    accepted = [e["id"] for e in receiver.accepted()]
    assert len(accepted) == 3 and set(failed_ids) <= set(accepted)  # the very same ids resent, each once
    assert [e["type"] for e in receiver.accepted() if e["data"]["booking"]["id"] == second.get_json()["booking"]["id"]] \
        == ["booking.created", "booking.cancelled"]
    assert {r["status"] for r in outbox(app, kind="webhook")} == {"sent"}


def test_payment_and_expert_session_events(app, client, expert, receiver):
    from backend import notifications
    from backend.extensions import db
    from backend.models import Booking
    h = expert["headers"]
    subscribe(client, expert, receiver)
    start = slots_for(client, next_weekday(4))[0]["start"]
    created = client.post("/api/v1/admin/bookings", headers=h, json={
        "service": "intro-call", "start": start, "client": {"email": "bob@example.com", "name": "Bob"}})
    booking_id = created.get_json()["booking"]["id"]
    drain(app)
    assert [(e["type"], e["data"]["booking"]["status"]) for e in receiver.accepted()] == [("booking.created", "pending")]
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        booking.status = "confirmed"  # what the payments code does when Stripe says paid
        notifications.booking_event(db.session, booking, "payment_succeeded", actor="system")
        notifications.booking_event(db.session, booking, "payment_refunded", actor="system")
        db.session.commit()
    drain(app)
    assert [e["type"] for e in receiver.accepted()] == ["booking.created", "payment.succeeded", "booking.confirmed",
                                                       "payment.refunded"]
    assert all(r["valid"] for r in receiver.received)
    topics = [r["topic"] for r in outbox(app, kind="email")]
    # A session the expert set up, paid: the expert hears that the client completed it (not "new booking").
    assert topics == ["booking_shared", "booking_confirmed", "expert_booking_completed", "payment_refunded"]


def test_a_deleted_endpoints_undelivered_events_are_parked(app, client, expert, receiver):
    webhook = subscribe(client, expert, receiver, ["booking.created"])
    book(client, slots_for(client, next_weekday(1))[0]["start"])
    assert client.delete(f"/api/v1/admin/webhooks/{webhook['id']}", headers=expert["headers"]).status_code == 204
    drain(app)
    (row,) = outbox(app, kind="webhook")
    assert row["status"] == "parked" and "deleted" in row["last_error"] and receiver.received == []
