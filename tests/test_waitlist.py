"""Waitlists of full sessions, on SQLite and PostgreSQL.

A session fills up; clients join its waitlist; a seat frees and the first person waiting is
emailed a link that holds the seat for them for the service's hold_minutes; nobody else can take
it meanwhile; they book it with the link, or the offer lapses (the worker's sweep) and the next
person is asked. The expert sees the queue and can remove people.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

from sqlalchemy import select

from backend import worker
from backend.extensions import db
from backend.models import OutboxMessage
from tests.conftest import next_weekday


def full_session(client, expert, capacity=2, hold_minutes=30):
    response = client.post("/api/v1/admin/services", headers=expert["headers"], json={
        "slug": "yoga", "name": "Yoga class", "kind": "group", "duration_minutes": 60, "capacity": capacity,
        "hold_minutes": hold_minutes})
    assert response.status_code == 201, response.get_json()
    day = next_weekday(2)
    start = datetime(day.year, day.month, day.day, 18, tzinfo=ZoneInfo("Europe/Paris"))
    response = client.post("/api/v1/admin/services/yoga/sessions", headers=expert["headers"], json={
        "start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat(), "capacity": capacity})
    assert response.status_code == 201, response.get_json()
    session = response.get_json()["session"]["id"]
    booked = [book(client, session, f"member{n}@example.com") for n in range(capacity)]
    assert all(r.status_code == 201 for r in booked)
    return session, [r.get_json()["booking"] for r in booked]


def book(client, session, email, **extra):
    return client.post("/api/v1/experts/jane/services/yoga/bookings", json={
        "session": session, "timezone": "Europe/Paris", "client": {"name": email.split("@")[0], "email": email},
        **extra})


def join(client, session, email):
    return client.post("/api/v1/experts/jane/services/yoga/waitlist", json={
        "session": session, "timezone": "Europe/Paris", "client": {"name": email.split("@")[0], "email": email}})


def offers(app):
    with app.app_context():
        return [m.payload for m in db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.topic == "waitlist_offer").order_by(OutboxMessage.id))]


def offer_link(app, entry_id):
    """The link the worker puts in the offer email (built the way it builds it)."""
    from backend.links import links_for
    from backend.models import WaitlistEntry
    with app.app_context():
        entry = db.session.get(WaitlistEntry, entry_id)
        return links_for(app.config["KAIROS"]).waitlist_url("jane", "yoga", entry.id, entry.offer_nonce)


def token(link):
    return parse_qs(urlparse(link).query)["waitlist"][0]


def cancel(client, booking, expert):
    """A member tells the expert they cannot come; the expert cancels their seat (group seats are
    changed by the expert, policy.py)."""
    response = client.post(f"/api/v1/admin/bookings/{booking['id']}/cancel", headers=expert["headers"],
                           json={"reason": "Cannot come"})
    assert response.status_code == 200, response.get_json()


def test_a_freed_seat_is_offered_to_the_first_person_waiting_and_booked_with_the_link(app, client, expert):
    session, members = full_session(client, expert)
    first = join(client, session, "first@example.com")
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["waitlist"]["position"] == 1 and first.get_json()["waitlist"]["status"] == "waiting"
    second = join(client, session, "second@example.com").get_json()["waitlist"]
    assert second["position"] == 2
    assert join(client, session, "FIRST@example.com").get_json()["waitlist"]["id"] == first.get_json()["waitlist"]["id"]

    cancel(client, members[0], expert)
    [offer] = offers(app)
    assert offer["waitlist_entry_id"] == first.get_json()["waitlist"]["id"] and offer["to"] == "first@example.com"
    # The seat is held: a stranger cannot take it, and the slot list shows the session full.
    assert book(client, session, "stranger@example.com").status_code == 409
    link = offer_link(app, offer["waitlist_entry_id"])
    assert link.startswith("http://kairos.test/book/jane/yoga?waitlist=wt_")
    shown = client.get(f"/api/v1/waitlist/{token(link)}").get_json()["offer"]
    assert shown["status"] == "offered" and shown["session"] == session and shown["service"] == "yoga"
    assert shown["client"]["email"] == "first@example.com" and shown["offer_expires_at"]

    response = book(client, session, "first@example.com", waitlist=token(link))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["booking"]["status"] == "confirmed"
    again = book(client, session, "first@example.com", waitlist=token(link))
    assert again.status_code == 403
    listed = client.get(f"/api/v1/admin/services/yoga/sessions/{session}/waitlist",
                        headers=expert["headers"]).get_json()["waitlist"]
    assert [(e["client"]["email"], e["status"], e["position"]) for e in listed] == [("second@example.com", "waiting", 1)]


def test_an_offer_that_lapses_goes_to_the_next_person(app, client, expert):
    session, members = full_session(client, expert, capacity=1, hold_minutes=20)
    ids = [join(client, session, f"w{n}@example.com").get_json()["waitlist"]["id"] for n in range(3)]
    cancel(client, members[0], expert)
    assert [o["waitlist_entry_id"] for o in offers(app)] == ids[:1]
    link = offer_link(app, ids[0])
    assert worker.sweep_waitlists(app) == 0  # still held: nothing new
    later = datetime.now(timezone.utc) + timedelta(minutes=21)
    assert worker.sweep_waitlists(app, later) == 1
    assert [o["waitlist_entry_id"] for o in offers(app)] == ids[:2]
    # The lapsed link no longer holds anything.
    assert client.get(f"/api/v1/waitlist/{token(link)}").get_json()["offer"]["status"] == "lapsed"


def test_the_waitlist_is_for_full_sessions_only(app, client, expert):
    session, members = full_session(client, expert, capacity=2)
    cancel(client, members[0], expert)
    response = join(client, session, "early@example.com")
    assert response.status_code == 403 and response.get_json()["error"]["reason"] == "seats_left"
    assert client.post("/api/v1/experts/jane/services/intro-call/waitlist", json={
        "session": session, "client": {"name": "A", "email": "a@example.com"}}).status_code == 403
    assert client.get("/api/v1/waitlist/wt_nope.abc").status_code == 404


def test_the_expert_removes_someone_holding_an_offer_and_the_seat_moves_on(app, client, expert):
    session, members = full_session(client, expert, capacity=1)
    ids = [join(client, session, f"w{n}@example.com").get_json()["waitlist"]["id"] for n in range(2)]
    cancel(client, members[0], expert)
    response = client.delete(f"/api/v1/admin/waitlist/{ids[0]}", headers=expert["headers"])
    assert response.status_code == 204
    assert [o["waitlist_entry_id"] for o in offers(app)] == ids
    assert client.delete(f"/api/v1/admin/waitlist/{ids[0]}", headers=expert["headers"]).status_code == 403


def test_the_offer_email_carries_the_link(app, client, expert, tmp_path):
    session, members = full_session(client, expert, capacity=1)
    entry = join(client, session, "first@example.com").get_json()["waitlist"]["id"]
    cancel(client, members[0], expert)
    worker.deliver_due(app)
    written = sorted((tmp_path / "outbox").glob("*.eml")) if (tmp_path / "outbox").exists() else []
    texts = [p.read_text() for p in written]
    offer_mail = [t for t in texts if "A seat is free" in t]
    assert offer_mail, [t.splitlines()[:5] for t in texts]
    assert offer_link(app, entry).split("?waitlist=")[1][:20] in offer_mail[0]


def test_a_full_series_has_one_queue_kept_on_its_first_date(app, client, expert):
    response = client.post("/api/v1/admin/services", headers=expert["headers"], json={
        "slug": "course", "name": "Pottery course", "kind": "series", "duration_minutes": 60, "capacity": 1})
    assert response.status_code == 201, response.get_json()
    ids = []
    for week in (1, 2):
        day = next_weekday(3, weeks=week)
        start = datetime(day.year, day.month, day.day, 18, tzinfo=ZoneInfo("Europe/Paris"))
        created = client.post("/api/v1/admin/services/course/sessions", headers=expert["headers"], json={
            "start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat(), "capacity": 1})
        ids.append(created.get_json()["session"]["id"])
    member = client.post("/api/v1/experts/jane/services/course/bookings", json={
        "session": ids[0], "timezone": "Europe/Paris", "client": {"name": "M", "email": "m@example.com"}})
    assert member.status_code == 201, member.get_json()
    joined = client.post("/api/v1/experts/jane/services/course/waitlist", json={
        "session": ids[1], "timezone": "Europe/Paris", "client": {"name": "W", "email": "w@example.com"}})
    assert joined.status_code == 201 and joined.get_json()["waitlist"]["session"] == ids[0]
    cancel(client, member.get_json()["booking"], expert)
    [offer] = offers(app)
    assert offer["waitlist_entry_id"] == joined.get_json()["waitlist"]["id"]


def test_the_expert_sees_the_waitlists_on_the_dashboard_and_removes_someone(app, client, expert):
    from tests.test_dashboard import post_action, sign_in
    session, members = full_session(client, expert, capacity=1)
    join(client, session, "first@example.com")
    second = join(client, session, "second@example.com").get_json()["waitlist"]["id"]
    assert sign_in(app, client).status_code == 302
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Waitlists" in page and "first@example.com" in page and "second@example.com" in page
    done = post_action(client, f"/dashboard/waitlist/{second}/remove").get_data(as_text=True)
    assert "second is off the waitlist." in done
    listed = client.get(f"/api/v1/admin/services/yoga/sessions/{session}/waitlist",
                        headers=expert["headers"]).get_json()["waitlist"]
    assert [e["client"]["email"] for e in listed] == ["first@example.com"]
