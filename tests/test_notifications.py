"""Emails with calendar files, read from a real SMTP server (aiosmtpd); reminders; the expert's .ics feed.

The fixtures here (a real SMTP server, an app that sends to it, ``drain``) are shared by
tests/test_outbox_worker.py and tests/test_webhooks.py.
"""
from __future__ import annotations

import email
import email.policy
import logging
import threading
import time
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from icalendar import Calendar

from tests.conftest import base_env, next_weekday
from tests.ports import free_port
from tests.test_booking_api import book, slots_for

UTC = timezone.utc
PARIS = ZoneInfo("Europe/Paris")


# --- shared fixtures ----------------------------------------------------------------------------

class SmtpServer:
    """A real SMTP server on a fixed port that can be stopped (down) and started again (back)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.delay = 0.0  # seconds spent per message: widens race windows
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd handler hook
        if self.delay:
            time.sleep(self.delay)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)
        return "250 OK"

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str, subject_start: str = "") -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if address in m["To"] and m["Subject"].startswith(subject_start)]


@pytest.fixture
def smtp():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


def make_app(tmp_path, database_url: str, **env: str):
    from backend.app import create_app
    app = create_app(base_env(tmp_path, database_url, **env))
    app.config["TESTING"] = True
    return app


@pytest.fixture
def smtp_url(smtp) -> str | None:
    """Where the app sends mail; a test parametrizes it to None for the .eml default."""
    return f"smtp://127.0.0.1:{smtp.port}"


@pytest.fixture
def app(database_url: str, tmp_path, smtp_url, app_env):
    """The conftest app, sending mail to the test SMTP server."""
    app = make_app(tmp_path, database_url, **({"KAIROS_SMTP_URL": smtp_url} if smtp_url else {}), **app_env)
    yield app
    from backend.extensions import db
    stop = app.extensions.get("kairos_worker_stop")
    if stop is not None:
        stop.set()
        app.extensions["kairos_worker"].join(10)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def drain(app, now: datetime | None = None) -> int:
    """Deliver everything due at ``now`` (default: now), until nothing is left; return the attempts."""
    from backend.worker import deliver_due
    total = 0
    while attempted := deliver_due(app, now=now):
        total += attempted
    return total


def outbox(app, **where: Any) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from backend.extensions import db
    from backend.models import OutboxMessage
    with app.app_context():
        rows = db.session.scalars(select(OutboxMessage).filter_by(**where).order_by(OutboxMessage.id))
        return [{"id": r.id, "kind": r.kind, "topic": r.topic, "status": r.status, "attempts": r.attempts,
                 "payload": r.payload, "last_error": r.last_error, "dedupe_key": r.dedupe_key} for r in rows]


def text_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def html_of(message: EmailMessage) -> str:
    return message.get_body(("html",)).get_content()


def calendar_parts(message: EmailMessage) -> list:
    return [p for p in message.walk() if p.get_content_type() == "text/calendar"]


def calendar_of(message: EmailMessage) -> tuple[Calendar, bytes]:
    parts = calendar_parts(message)
    assert len(parts) == 1, [p.get_content_type() for p in message.walk()]
    raw = parts[0].get_payload(decode=True)
    return Calendar.from_ical(raw), raw


def event_of(cal: Calendar):
    events = cal.walk("VEVENT")
    assert len(events) == 1
    return events[0]


def token_of(booking: dict) -> str:
    return booking["manage_url"].rsplit("/", 1)[1]


# --- emails ---------------------------------------------------------------------------------------

def test_confirmation_email_has_local_time_call_link_manage_link_and_ics(app, client, expert, smtp):
    h = expert["headers"]
    assert client.patch("/api/v1/admin/profile", headers=h, json={
        "notification_email": "alerts@jane.example.com", "brand_color": "#aa3311"}).status_code == 200
    client.patch("/api/v1/admin/services/intro-call", headers=h, json={"confirmation_note": "Bring your notes."})
    day = next_weekday(2)
    start = slots_for(client, day, tz="Asia/Kolkata")[0]["start"]
    response = book(client, start, tz="Asia/Kolkata", message="<script>alert(1)</script>")
    assert response.status_code == 201, response.get_json()
    booking = response.get_json()["booking"]
    assert drain(app) == 2

    (mail,) = smtp.to("ann@example.com")
    local = datetime.fromisoformat(booking["start"])  # in Kolkata: UTC+05:30, a half-hour zone
    assert local.utcoffset() == timedelta(hours=5, minutes=30)
    text, html = text_of(mail), html_of(mail)
    assert mail["Subject"].startswith("Confirmed: Intro call with Jane Doe")
    assert f"{local:%H:%M}–" in text and f"{local.day} " in text
    assert "Asia/Kolkata (UTC+05:30)" in text
    assert "https://meet.example.com/jane" in text and "https://meet.example.com/jane" in html
    assert booking["manage_url"] in text and booking["manage_url"] in html
    assert "Bring your notes." in text
    assert "#aa3311" in html and "Jane Doe" in html
    assert mail["Reply-To"] == "alerts@jane.example.com"

    cal, raw = calendar_of(mail)
    event = event_of(cal)
    assert str(cal["METHOD"]) == "REQUEST"
    assert str(event["UID"]) == f"{booking['id']}@kairos"
    assert int(event["SEQUENCE"]) == 0
    dtstart = event.decoded("DTSTART")
    assert dtstart == local and dtstart.utcoffset() == timedelta(0)
    assert f"DTSTART:{local.astimezone(UTC):%Y%m%dT%H%M%S}Z".encode() in raw
    assert event.decoded("DTEND") == datetime.fromisoformat(booking["end"])

    (alert,) = smtp.to("alerts@jane.example.com")
    assert alert["Subject"].startswith("New booking: Ann Lee")
    assert "<script>alert(1)</script>" in text_of(alert)
    assert "<script>" not in html_of(alert) and "&lt;script&gt;" in html_of(alert)
    assert booking["manage_url"] not in text_of(alert)  # the client's key stays the client's
    assert f"{local.astimezone(PARIS):%H:%M}–" in text_of(alert) and "Europe/Paris" in text_of(alert)
    assert not calendar_parts(alert)


def test_ics_keeps_its_uid_and_raises_sequence_through_reschedule_and_cancel(app, client, expert, smtp):
    day = next_weekday(1)
    slots = slots_for(client, day)
    booking = book(client, slots[0]["start"]).get_json()["booking"]
    token = token_of(booking)
    moved = client.post(f"/api/v1/manage/{token}/reschedule",
                        json={"start": slots[4]["start"], "timezone": "America/New_York"})
    assert moved.status_code == 200, moved.get_json()
    cancelled = client.post(f"/api/v1/manage/{token}/cancel", json={"reason": "Sick, sorry"})
    assert cancelled.status_code == 200
    drain(app)

    mails = smtp.to("ann@example.com")
    assert [m["Subject"].split(":")[0] for m in mails] == ["Confirmed", "New time", "Cancelled"]
    seen = []
    for mail in mails:
        cal, raw = calendar_of(mail)
        event = event_of(cal)
        seen.append((str(cal["METHOD"]), str(event["UID"]), int(event["SEQUENCE"]), event.decoded("DTSTART")))
        assert event.decoded("DTSTART").utcoffset() == timedelta(0) and b"DTSTART:" in raw and b"Z\r\n" in raw
    new_start = datetime.fromisoformat(slots[4]["start"])
    uid = f"{booking['id']}@kairos"
    assert seen == [("REQUEST", uid, 0, datetime.fromisoformat(slots[0]["start"])),
                    ("REQUEST", uid, 1, new_start), ("CANCEL", uid, 2, new_start)]
    # The rescheduled email speaks the client's new zone and says what the time was.
    rescheduled = text_of(mails[1])
    new_local = datetime.fromisoformat(moved.get_json()["booking"]["start"])  # New York time
    assert f"{new_local:%H:%M}–" in rescheduled and "America/New_York" in rescheduled
    assert "Previously: " in rescheduled
    assert "Sick, sorry" in text_of(mails[2])
    assert str(event_of(calendar_of(mails[2])[0])["STATUS"]) == "CANCELLED"

    expert_mails = smtp.to("jane@example.com")
    assert [m["Subject"].split(":")[0] for m in expert_mails] == ["New booking", "Rescheduled", "Cancelled"]
    assert "Sick, sorry" in text_of(expert_mails[2])


def test_emails_speak_the_experts_language(app, client, expert, smtp):
    client.patch("/api/v1/admin/profile", headers=expert["headers"], json={"locale": "fr"})
    monday = next_weekday(0)
    book(client, slots_for(client, monday)[0]["start"])
    drain(app)
    (mail,) = smtp.to("ann@example.com")
    assert mail["Subject"].startswith("Confirmé : Intro call avec Jane Doe, lundi")
    assert "Gérer votre réservation" in text_of(mail) and "Appel vidéo" in text_of(mail)


def test_a_session_set_up_by_the_expert_is_shared_then_confirmed(app, client, expert, smtp):
    h = expert["headers"]
    start = slots_for(client, next_weekday(3))[0]["start"]
    created = client.post("/api/v1/admin/bookings", headers=h, json={
        "service": "intro-call", "start": start, "client": {"email": "bob@example.com", "name": "Bob"}})
    assert created.status_code == 201, created.get_json()
    booking = created.get_json()["booking"]
    drain(app)
    (shared,) = smtp.to("bob@example.com")  # no confirmation while it is pending
    assert "set up a session" in shared["Subject"] and booking["share_url"] in text_of(shared)
    assert not calendar_parts(shared)
    assert client.post(f"/api/v1/admin/bookings/{booking['id']}/confirm", headers=h).status_code == 200
    drain(app)
    assert len(smtp.to("bob@example.com")) == 2
    confirmed = smtp.to("bob@example.com", "Confirmed")
    assert len(confirmed) == 1 and str(calendar_of(confirmed[0])[0]["METHOD"]) == "REQUEST"
    assert smtp.to("jane@example.com") == []  # the expert did it all: nothing to tell them


def test_a_confirmation_is_queued_once_even_if_reported_twice(app, client, expert):
    """A payment path may say "paid" twice (webhook and widget return): one confirmation."""
    from backend import notifications
    from backend.extensions import db
    from backend.models import Booking
    booking_id = book(client, slots_for(client, next_weekday(4))[0]["start"]).get_json()["booking"]["id"]
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        notifications.booking_event(db.session, booking, "confirmed", actor="system")
        notifications.booking_event(db.session, booking, "payment_succeeded", actor="system")
        db.session.commit()
    topics = [row["topic"] for row in outbox(app, kind="email")]
    assert topics.count("booking_confirmed") == 1 and topics.count("expert_booking_created") == 1


@pytest.mark.parametrize("smtp_url", [None])
def test_without_smtp_each_email_is_written_as_an_eml_file(app, client, expert, tmp_path):
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("kairos.worker")
    logger.addHandler(handler)
    try:
        booking = book(client, slots_for(client, next_weekday(1))[0]["start"]).get_json()["booking"]
        drain(app)
    finally:
        logger.removeHandler(handler)
    files = sorted((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 2
    mails = [email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in files]
    client_mail = next(m for m in mails if "ann@example.com" in m["To"])
    assert booking["manage_url"] in text_of(client_mail)
    assert len(calendar_parts(client_mail)) == 1
    logged = [r for r in records if r.getMessage() == "email written"]
    assert booking["manage_url"] in {r.manage_url for r in logged}
    assert any(r.subject.startswith("Confirmed") for r in logged)
    assert all(row["status"] == "sent" for row in outbox(app))


# --- reminders -----------------------------------------------------------------------------------

def test_a_reminder_is_queued_once_and_again_after_a_reschedule(app, client, expert, smtp):
    from sqlalchemy import select

    from backend.extensions import db
    from backend.models import Booking
    from backend.worker import schedule_reminders
    slots = slots_for(client, next_weekday(2))
    booking = book(client, slots[0]["start"]).get_json()["booking"]
    start = datetime.fromisoformat(booking["start"])
    assert schedule_reminders(app, now=start - timedelta(hours=25)) == 0  # not yet: 24 h by default

    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(schedule_reminders(app, now=start - timedelta(hours=23))))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(results) == 1
    assert schedule_reminders(app, now=start - timedelta(hours=2)) == 0
    reminders = outbox(app, topic="booking_reminder")
    assert len(reminders) == 1 and reminders[0]["dedupe_key"] == f"reminder:{booking['id']}:{start.astimezone(UTC).isoformat()}"
    with app.app_context():
        assert db.session.scalar(select(Booking.reminder_sent_at).where(Booking.id == booking["id"])) is not None

    drain(app)
    (mail,) = smtp.to("ann@example.com", "Reminder")
    assert booking["manage_url"] in text_of(mail) and "https://meet.example.com/jane" in text_of(mail)

    # A new time earns a new reminder.
    moved = client.post(f"/api/v1/manage/{token_of(booking)}/reschedule",
                        json={"start": slots[2]["start"], "timezone": "Europe/Paris"}).get_json()["booking"]
    new_start = datetime.fromisoformat(moved["start"])
    assert schedule_reminders(app, now=new_start - timedelta(hours=1)) == 1
    assert len(outbox(app, topic="booking_reminder")) == 2


def test_no_reminder_when_the_service_turns_them_off_or_for_cancelled_bookings(app, client, expert):
    from backend.worker import schedule_reminders
    slots = slots_for(client, next_weekday(3))
    kept = book(client, slots[0]["start"]).get_json()["booking"]
    gone = book(client, slots[2]["start"], email="bob@example.com").get_json()["booking"]
    client.post(f"/api/v1/manage/{token_of(gone)}/cancel", json={})
    start = datetime.fromisoformat(kept["start"])
    assert schedule_reminders(app, now=start - timedelta(hours=1)) == 1  # only the booking still confirmed
    # reminder_hours is not in the service API (yet): the database says "no reminders" here.
    _set_reminder_hours(app, None)
    book(client, slots[4]["start"], email="cy@example.com")
    assert schedule_reminders(app, now=start - timedelta(hours=1)) == 0


def _set_reminder_hours(app, hours: int | None) -> None:
    from sqlalchemy import update

    from backend.extensions import db
    from backend.models import Service
    with app.app_context():
        db.session.execute(update(Service).values(reminder_hours=hours))
        db.session.commit()


# --- the calendar feed ---------------------------------------------------------------------------------

def test_the_secret_calendar_feed_lists_confirmed_bookings(app, client, expert):
    h = expert["headers"]
    slots = slots_for(client, next_weekday(1))
    kept = book(client, slots[0]["start"]).get_json()["booking"]
    gone = book(client, slots[2]["start"], email="bob@example.com").get_json()["booking"]
    client.post(f"/api/v1/manage/{token_of(gone)}/cancel", json={})

    url = client.get("/api/v1/admin/calendar-feed", headers=h).get_json()["url"]
    assert url.startswith("http://kairos.test/feeds/") and url.endswith(".ics")
    assert client.get("/api/v1/admin/calendar-feed", headers=h).get_json()["url"] == url  # stable
    path = url.removeprefix("http://kairos.test")
    response = client.get(path)
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    cal = Calendar.from_ical(response.data)
    events = cal.walk("VEVENT")
    assert [str(e["UID"]) for e in events] == [f"{kept['id']}@kairos"]
    assert events[0].decoded("DTSTART") == datetime.fromisoformat(kept["start"])
    assert "Ann Lee" in str(events[0]["SUMMARY"])

    assert client.get(path.replace(".ics", "x.ics")).status_code == 404
    assert client.get("/feeds/1.nope.ics").status_code == 404
    assert client.get("/api/v1/admin/calendar-feed").status_code == 401
    rotated = client.post("/api/v1/admin/calendar-feed", headers=h).get_json()["url"]
    assert rotated != url and client.get(path).status_code == 404
    assert client.get(rotated.removeprefix("http://kairos.test")).status_code == 200


@pytest.mark.parametrize("colour", ["#ffd400", "#2f5d8a", "#e91e63", "#767676", "#777777", "#00bcd4", "#111827",
                                    "#ffffff", "#000000", "#008080", "#607d8b"])
def test_email_text_on_the_brand_colour_always_reads(colour):
    """The email's header and button put text on the expert's colour: black or white, at least 4.5:1."""
    from backend.colours import text_on
    from tests.colours import contrast, rgb
    assert contrast(rgb(colour), rgb(text_on(colour))) >= 4.5, (colour, text_on(colour))
