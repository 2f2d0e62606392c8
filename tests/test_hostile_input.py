"""What attackers and broken clients send, each answered with a clear 4xx that changes nothing, or stored
and shown harmlessly: in the email bytes a real SMTP server (aiosmtpd) receives, in the .ics parsed back
with ``icalendar``, in the dashboard's HTML and the manage page. And no message is ever left unsendable
while the dashboard says every message went out: the real worker parks it at once, and the dashboard
and /healthz say so.
"""
from __future__ import annotations

import email
import email.policy
import json
import re
from email.message import EmailMessage

import pytest

from backend.models import Booking, OutboxMessage
from tests.conftest import next_weekday
from tests.test_booking_api import count, slots_for
from tests.test_dashboard import signed_in  # noqa: F401  (fixture)
from tests.test_notifications import SmtpServer, app, calendar_of, html_of, outbox, smtp_url, text_of  # noqa: F401

BOOKINGS = "/api/v1/experts/jane/services/intro-call/bookings"
SLOTS = "/api/v1/experts/jane/services/intro-call/slots"


class RecordingSmtp(SmtpServer):
    """The shared aiosmtpd server, keeping each message's bytes as received and refusing chosen
    recipients the way real servers do: ``550`` (no such user: permanent) or ``451`` (try later)."""

    def __init__(self) -> None:
        super().__init__()
        self.raw: list[bytes] = []
        self.recipients: list[str] = []  # every RCPT TO the server accepted
        self.refuse: dict[str, str] = {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:  # aiosmtpd hook
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        self.recipients.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        self.raw.append(envelope.original_content or envelope.content)
        return await super().handle_DATA(server, session, envelope)

    def raw_to(self, address: str) -> list[bytes]:
        """The bytes of the messages whose To header names ``address``."""
        return [raw for raw in self.raw
                if address in str(email.message_from_bytes(raw, policy=email.policy.default)["To"])]


@pytest.fixture
def smtp():
    server = RecordingSmtp()
    server.start()
    yield server
    server.stop()


def booking_body(start: str, **client: str) -> dict:
    return {"start": start, "timezone": "Europe/Paris",
            "client": {"name": "Ann Lee", "email": "ann@example.com", **client}}


def a_start(client, weekday: int = 2, index: int = 0) -> str:
    return slots_for(client, next_weekday(weekday))[index]["start"]


def assert_refused(response, status: int, code: str) -> dict:
    body = response.get_json()
    assert response.status_code == status, (response.status_code, body)
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"], body
    return body["error"]


def run_worker_once(app) -> None:
    """The real outbox loop (reminders, waitlists, delivery), until nothing is due."""
    from backend.worker import run_worker
    run_worker(app, once=True)


# --- bodies too big, too deep, of the wrong type, not UTF-8 ------------------------------------------

def test_a_body_far_too_big_is_a_413_in_the_envelope_and_books_nothing(app, client, expert):
    assert app.config["MAX_CONTENT_LENGTH"] == 256 * 1024
    body = booking_body(a_start(client), message="x" * (300 * 1024))
    assert_refused(client.post(BOOKINGS, json=body), 413, "payload_too_large")
    assert count(app, Booking) == 0


@pytest.mark.parametrize("depth", [33, 100_000])
def test_json_nested_far_too_deep_is_a_400_not_a_crash(app, client, expert, depth):
    nested = "[" * depth + "]" * depth
    body = json.dumps(booking_body(a_start(client)))[:-1] + f', "answers": {{"q": {nested}}}}}'
    error = assert_refused(client.post(BOOKINGS, data=body, content_type="application/json"), 400, "bad_request")
    assert "nested" in error["message"]
    assert count(app, Booking) == 0


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data",
                                          None])
def test_a_body_that_is_not_json_is_a_415(app, client, expert, content_type):
    start = a_start(client)
    data = f"start={start}&timezone=Europe/Paris&client.name=Ann&client.email=ann@example.com"
    if content_type == "text/plain":
        data = json.dumps(booking_body(start))  # JSON, but not said so: still refused, never guessed
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post(BOOKINGS, data=data.encode(), headers=headers)
    assert_refused(response, 415, "unsupported_media_type")
    assert count(app, Booking) == 0
    # An action that takes no body needs no Content-Type.
    assert client.post("/api/v1/admin/calendar-feed", headers=expert["headers"]).status_code == 200


def test_invalid_utf8_is_a_400(app, client, expert):
    body = json.dumps(booking_body(a_start(client), name="ANN")).encode().replace(b"ANN", b"\xff\xfe\xc3")
    assert_refused(client.post(BOOKINGS, data=body, content_type="application/json"), 400, "bad_request")
    # In a path or a query string it is a plain 404 or 422, never a 500.
    assert client.get("/api/v1/experts/%FF%FE").status_code == 404
    assert client.get(SLOTS + "?start=%FF&end=2026-12-01&timezone=Europe/Paris").status_code == 422
    assert count(app, Booking) == 0


# --- extreme dates and windows -----------------------------------------------------------------------

@pytest.mark.parametrize("start,end,field", [
    ("0001-01-01", "0001-01-05", "start"),            # year 1: a day before it in UTC does not exist
    ("9999-12-25", "9999-12-31", "start"),            # year 9999: the day after does not exist
    ("2026-12-01", "2036-12-01", "end"),              # ten years at once: the engine would walk them all
    ("0001-01-01", "9999-12-31", "start"),
])
def test_extreme_dates_and_windows_for_slots_are_a_422(client, expert, start, end, field):
    for tz in ("Europe/Paris", "Pacific/Kiritimati", "Pacific/Pago_Pago"):
        response = client.get(SLOTS, query_string={"start": start, "end": end, "timezone": tz})
        assert field in assert_refused(response, 422, "validation_error")["fields"]


def test_a_far_future_window_is_answered_empty_without_walking_to_it(client, expert):
    response = client.get(SLOTS, query_string={"start": "2999-11-01", "end": "2999-12-31", "timezone": "Europe/Paris"})
    assert response.status_code == 200 and response.get_json()["slots"] == []  # past max_advance_days


@pytest.mark.parametrize("instant", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:00-12:00",
                                     "1899-12-31T23:00:00+00:00", "3000-01-01T00:00:00+00:00"])
def test_extreme_instants_are_a_422_wherever_a_time_is_taken(app, client, expert, instant):
    h = expert["headers"]
    assert_refused(client.post(BOOKINGS, json=booking_body(instant)), 422, "validation_error")
    assert_refused(client.post("/api/v1/admin/bookings", headers=h, json={
        "start": instant, "duration_minutes": 30, "name": "One-off", "timezone": "Europe/Paris",
        "client": {"name": "Ann", "email": "ann@example.com"}}), 422, "validation_error")
    listed = client.get("/api/v1/admin/bookings", headers=h, query_string={"start": instant})
    assert "start" in assert_refused(listed, 422, "validation_error")["fields"]
    coupon = client.post("/api/v1/admin/coupons", headers=h, json={"code": "OLD", "percent_off": 5,
                                                                   "expires_at": instant})
    assert "expires_at" in assert_refused(coupon, 422, "validation_error")["fields"]
    override = client.put("/api/v1/admin/availability", headers=h, json={
        "timezone": "Europe/Paris", "weekly": {}, "overrides": [{"date": instant[:10], "intervals": []}]})
    assert_refused(override, 422, "validation_error")
    assert count(app, Booking) == 0


def test_a_huge_query_string_is_answered_not_crashed(client, expert):
    day = next_weekday(2).isoformat()
    noise = "&".join(f"x{i}=" + "y" * 50 for i in range(4000))  # about 230 KB of parameters
    response = client.get(f"{SLOTS}?start={day}&end={day}&timezone=Europe/Paris&{noise}")
    assert response.status_code == 200 and response.get_json()["slots"]
    too_long = client.get(SLOTS, query_string={"start": day, "end": day, "timezone": "Europe/" + "x" * 100_000})
    assert "timezone" in assert_refused(too_long, 422, "validation_error")["fields"]


# --- characters that break headers, calendar lines and pages --------------------------------------------

HEADER_BREAKERS = {
    "crlf": "Ann\r\nBcc: victim@example.com",
    "lf": "Ann\nSubject: pwned",
    "nul": "Ann\x00Lee",
    "escape": "Ann\x1b[31mLee",
    "line separator": "Ann\u2028Lee",
    "rtl override": "Ann \u202egpj.exe",
    "isolate": "Ann \u2066Lee\u2069",
    "c1 next line": "Ann\x85Lee",
}


@pytest.mark.parametrize("name", HEADER_BREAKERS.values(), ids=HEADER_BREAKERS.keys())
def test_a_name_that_would_break_a_header_or_reorder_a_page_is_a_422_and_books_nothing(app, client, expert, name):
    error = assert_refused(client.post(BOOKINGS, json=booking_body(a_start(client), name=name)), 422,
                           "validation_error")
    assert "client.name" in error["fields"], error
    assert count(app, Booking) == 0 and count(app, OutboxMessage) == 0


@pytest.mark.parametrize("path,body,field", [
    ("/api/v1/admin/profile", {"name": "Jane\r\nBcc: x@example.com"}, "name"),
    ("/api/v1/admin/services/intro-call", {"name": "Intro\u2028call"}, "name"),
    ("/api/v1/admin/services/intro-call", {"description": "Fine\x07bell"}, "description"),
    ("/api/v1/admin/services/intro-call", {"location": {"type": "in_person", "address": "1 Main St\r\nX"}},
     "location.address"),
    ("/api/v1/admin/services/intro-call", {"questions": [{"id": "q", "label": "Why?\nBcc: x"}]}, "questions.0.label"),
    ("/api/v1/admin/profile", {"bio": "About me \u202eevil"}, "bio"),
])
def test_expert_text_that_reaches_emails_and_calendars_is_checked_too(client, expert, path, body, field):
    before = client.get(path, headers=expert["headers"]).get_json()
    error = assert_refused(client.patch(path, headers=expert["headers"], json=body), 422, "validation_error")
    assert field in error["fields"], error
    assert client.get(path, headers=expert["headers"]).get_json() == before


def test_a_webhook_url_that_would_inject_a_header_is_refused(client, expert):
    for url in ("https://hooks.example.com/x\r\nX-Evil: 1", "https://hooks.example.com/\nHost: evil",
                "https://hooks.example.com/ x"):
        response = client.post("/api/v1/admin/webhooks", headers=expert["headers"],
                               json={"url": url, "events": ["booking.created"]})
        assert "url" in assert_refused(response, 422, "validation_error")["fields"]
    assert client.get("/api/v1/admin/webhooks", headers=expert["headers"]).get_json()["webhooks"] == []


HOSTILE_NAME = '<script>alert(1)</script> Zoë "Q" Lée; x:y'
HOSTILE_MESSAGE = "First line\r\nSecond line <img src=x onerror=alert(1)>\r\nBcc: victim@example.com"


def header_block(raw: bytes) -> bytes:
    return raw.split(b"\r\n\r\n", 1)[0]


def test_hostile_text_is_stored_and_sent_harmlessly_in_the_email_bytes_and_the_ics(app, client, expert, smtp):
    h = expert["headers"]
    assert client.patch("/api/v1/admin/services/intro-call", headers=h, json={
        "name": "Intro <b>call</b> \u05e9\u05dc\u05d5\u05dd", "confirmation_note": "Bring <script>x</script>\r\nand a pen"}
    ).status_code == 200
    response = client.post(BOOKINGS, json={**booking_body(a_start(client), name=HOSTILE_NAME,
                                                          email="zoe@example.com"), "message": HOSTILE_MESSAGE})
    assert response.status_code == 201, response.get_json()
    booking = response.get_json()["booking"]
    assert booking["client"]["name"] == HOSTILE_NAME.strip()
    run_worker_once(app)
    assert {m["status"] for m in outbox(app)} == {"sent"}

    raw = smtp.raw_to("zoe@example.com")
    assert len(raw) == 1
    assert sorted(smtp.recipients) == ["jane@example.com", "zoe@example.com"]
    headers = header_block(raw[0])
    # Every header line is a header or a folded continuation: no name or message became a header.
    names = [line.split(b":", 1)[0] for line in headers.split(b"\r\n") if not line[:1].isspace()]
    assert set(names) <= {b"Subject", b"From", b"To", b"Reply-To", b"Date", b"Message-ID", b"Content-Language",
                          b"MIME-Version", b"Content-Type"}, names
    assert b"Bcc" not in headers and b"victim" not in headers
    assert b"\n" not in headers.replace(b"\r\n", b"") and b"\r" not in headers.replace(b"\r\n", b"")
    message: EmailMessage = email.message_from_bytes(raw[0], policy=email.policy.default)
    assert message["To"].addresses[0].display_name == HOSTILE_NAME
    assert message["Subject"].startswith("Confirmed: Intro <b>call</b>")
    html = html_of(message)
    assert "<script>" not in html and "<img" not in html and "<b>call" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html or "&lt;script&gt;x&lt;/script&gt;" in html
    assert "Bring <script>x</script>" in text_of(message)  # plain text is shown as text

    cal, ics = calendar_of(message)
    lines = ics.split(b"\r\n")
    assert all(len(line) <= 75 for line in lines), [line for line in lines if len(line) > 75]  # folded
    assert b"\n" not in ics.replace(b"\r\n", b"")  # no bare line break starts a property of its own
    event = cal.walk("VEVENT")[0]
    assert str(event["summary"]) == "Intro <b>call</b> \u05e9\u05dc\u05d5\u05dd – Jane Doe"
    assert event["attendee"].params["cn"] == HOSTILE_NAME
    assert "Bring <script>x</script>\nand a pen" in str(event["description"])
    assert len(cal.walk("VEVENT")) == 1 and "ATTENDEE" not in str(event["description"])

    # The expert's email carries the client's message as text in its body, never in a header.
    expert_raw = smtp.raw_to("jane@example.com")
    assert len(expert_raw) == 1 and b"victim" not in header_block(expert_raw[0])
    assert email.message_from_bytes(expert_raw[0], policy=email.policy.default)["Reply-To"].addresses[0].addr_spec \
        == "zoe@example.com"
    expert_message = email.message_from_bytes(expert_raw[0], policy=email.policy.default)
    assert HOSTILE_NAME in expert_message["Subject"]
    assert "First line\nSecond line <img src=x onerror=alert(1)>\nBcc: victim@example.com" in text_of(expert_message).replace("\r\n", "\n")
    assert "<img" not in html_of(expert_message)


def test_a_name_stored_before_the_rules_still_sends_on_one_header_line(app, client, expert, smtp):
    """Rows written by an older version (or by hand) may hold line breaks: the email stays whole."""
    from sqlalchemy import update

    from backend.extensions import db
    from backend.models import Client
    response = client.post(BOOKINGS, json=booking_body(a_start(client), email="old@example.com"))
    assert response.status_code == 201
    with app.app_context():
        db.session.execute(update(Client).values(name="Old\r\nBcc: victim@example.com\u2028Name"))
        db.session.commit()
    run_worker_once(app)
    assert {m["status"] for m in outbox(app)} == {"sent"}
    raw = smtp.raw_to("old@example.com")
    assert len(raw) == 1
    assert sorted(smtp.recipients) == ["jane@example.com", "old@example.com"]  # nobody else was mailed
    assert not re.search(rb"^Bcc:", header_block(raw[0]), re.M | re.I)
    message = email.message_from_bytes(raw[0], policy=email.policy.default)
    assert message["To"].addresses[0].display_name == "Old Bcc: victim@example.com Name"
    event = calendar_of(message)[0].walk("VEVENT")[0]
    assert event["attendee"].params["cn"] == "Old Bcc: victim@example.com Name"


def test_hostile_text_is_escaped_on_the_dashboard_and_the_manage_page(app, signed_in):
    response = signed_in.post(BOOKINGS, json={**booking_body(a_start(signed_in), name=HOSTILE_NAME),
                                              "message": HOSTILE_MESSAGE})
    assert response.status_code == 201
    booking = response.get_json()["booking"]
    for page in (signed_in.get("/dashboard").text, signed_in.get(f"/dashboard/bookings/{booking['id']}").text):
        assert "<script>alert(1)</script>" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # The manage page carries its token (from the URL) in a JSON block: a crafted URL cannot escape it
    # (``<!--<script>`` would change how the browser reads the rest of a script element).
    page = signed_in.get("/manage/%3C!--%3Cscript%3Ealert(1)%22%3E").text
    config = re.search(r'<script type="application/json" id="kairos-config">(.*?)</script>', page, re.S).group(1)
    assert "<" not in config and ">" not in config
    assert json.loads(config)["token"] == '<!--<script>alert(1)">'



# --- no message left unsendable while the dashboard says all went out --------------------------------

def health(client) -> dict:
    response = client.get("/healthz")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["outbox"]


def test_an_address_the_mail_server_refuses_is_parked_at_once_and_shown(app, signed_in, smtp):
    smtp.refuse["gone@example.com"] = "550 5.1.1 No such user here"
    assert "Every message went out." in signed_in.get("/dashboard").text
    response = signed_in.post(BOOKINGS, json=booking_body(a_start(signed_in), email="gone@example.com"))
    assert response.status_code == 201
    run_worker_once(app)

    rows = {m["topic"]: m for m in outbox(app)}
    refused = rows["booking_confirmed"]
    assert refused["status"] == "parked" and refused["attempts"] == 1, refused  # not retried for 8 hours
    assert "refused the address" in refused["last_error"] and "550" in refused["last_error"]
    assert rows["expert_booking_created"]["status"] == "sent"  # the others go out as usual
    assert len(smtp.to("jane@example.com")) == 1 and smtp.to("gone@example.com") == []

    page = signed_in.get("/dashboard").text
    assert "Every message went out." not in page
    notice = re.search(r'<div class="note error" role="alert" id="undelivered">(.*?)</div>', page, re.S).group(1)
    assert "1 message could not be sent" in notice and "booking confirmed" in notice and "gone@example.com" in notice
    assert health(signed_in)["parked"] == 1


def test_a_temporary_refusal_is_retried_not_parked(app, client, expert, smtp):
    smtp.refuse["busy@example.com"] = "451 4.2.1 Mailbox busy, try later"
    assert client.post(BOOKINGS, json=booking_body(a_start(client), email="busy@example.com")).status_code == 201
    run_worker_once(app)
    row = next(m for m in outbox(app) if m["topic"] == "booking_confirmed")
    assert row["status"] == "pending" and row["attempts"] == 1 and "451" in row["last_error"], row
    assert health(client)["parked"] == 0


def test_an_international_address_the_server_cannot_take_is_parked_with_the_reason(app, signed_in, smtp):
    # A non-ASCII local part needs SMTPUTF8 end to end; Python's email headers cannot carry it either.
    response = signed_in.post(BOOKINGS, json=booking_body(a_start(signed_in), email="zoë@example.com"))
    assert response.status_code == 201
    run_worker_once(app)
    row = next(m for m in outbox(app) if m["topic"] == "booking_confirmed")
    assert row["status"] == "parked" and row["attempts"] == 1 and "cannot be written" in row["last_error"], row
    assert "1 message could not be sent" in signed_in.get("/dashboard").text
    assert health(signed_in)["parked"] == 1


def test_an_address_with_a_line_break_stored_before_the_rules_is_parked_and_nothing_is_injected(
        app, signed_in, expert, smtp):
    from sqlalchemy import select

    from backend.extensions import db
    response = signed_in.post(BOOKINGS, json=booking_body(a_start(signed_in), email="ann@example.com"))
    assert response.status_code == 201
    with app.app_context():  # as an older version could have stored it
        row = db.session.scalar(select(OutboxMessage).where(OutboxMessage.topic == "booking_confirmed"))
        row.payload = {**row.payload, "to": "ann@example.com\r\nBcc: victim@example.com"}
        db.session.commit()
    run_worker_once(app)
    row = next(m for m in outbox(app) if m["topic"] == "booking_confirmed")
    assert row["status"] == "parked" and row["attempts"] == 1 and "cannot be written" in row["last_error"], row
    assert smtp.to("victim@example.com") == [] and not any(b"victim" in raw for raw in smtp.raw)
    page = signed_in.get("/dashboard").text
    assert "1 message could not be sent" in page
    # Retrying after fixing nothing parks it again at once, never loops.
    message_id = row["id"]
    assert signed_in.post(f"/api/v1/admin/outbox/{message_id}/retry",
                          headers=expert["headers"]).status_code == 200
    run_worker_once(app)
    again = next(m for m in outbox(app) if m["id"] == message_id)
    assert again["status"] == "parked" and again["attempts"] == 1

