"""Slots computed once per change, on SQLite and PostgreSQL.

A page view asks for Jane's slots; the answer is cached under her change counter, so the next view
is served without computing. Every change to what the slots read moves the counter in its own
transaction, so the very next view shows it: a booking, a cancellation, her hours, a day off, a
service's length, a busy time from her own calendar, a workshop she schedules, a mini-session day, a
waitlist offer, her zone. Time moves slots too: a hold that lapses mid-minute frees its slot at once.
A browser that holds the answer revalidates it and gets a 304. Redis shares answers between workers;
when it is down, answers are computed.
"""
from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from backend.extensions import db
from backend.models import Booking, Client, Expert
from tests.calendar_servers import FeedServer, vcalendar, vevent
from tests.conftest import next_weekday
from tests.test_booking_api import book, slots_for
from tests.test_booking_statements import statements
from tests.test_client_auth import bearer, first_start, make_clients_only, sign_in
from tests.test_sessions import add_session, book_session, make_service

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def app_env() -> dict[str, str]:
    """The calendar feed of these stories listens on 127.0.0.1."""
    return {"KAIROS_CALENDAR_ALLOW_PRIVATE": "1"}


def counter(app) -> int:
    with app.app_context():
        value = db.session.scalar(select(Expert.booking_lock).where(Expert.slug == "jane"))
        db.session.rollback()
        return value


def starts(client, day: date, service: str = "intro-call") -> list[str]:
    return [s["start"][11:16] for s in slots_for(client, day, service=service)]


class Moves:
    """Asserts that what happens inside moves Jane's counter (and so reaches the next page view)."""

    def __init__(self, app) -> None:
        self.app = app

    def __enter__(self) -> Moves:
        self.before = counter(self.app)
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is None:
            assert counter(self.app) > self.before, "the change did not move the expert's change counter"


def test_a_repeat_view_gets_304_until_a_booking_changes_the_slots(client, expert):
    day = next_weekday(1)
    path = f"/api/v1/experts/jane/services/intro-call/slots?start={day}&end={day}&timezone=Europe/Paris"
    first = client.get(path)
    etag = first.headers["ETag"]
    assert first.status_code == 200 and etag.startswith('W/"')
    assert first.headers["Cache-Control"] == "no-cache"  # kept by the browser, but asked again every time
    assert first.get_json()["slots"][0]["start"][11:16] == "09:00"

    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag

    assert book(client, first.get_json()["slots"][0]["start"]).status_code == 201
    after = client.get(path, headers={"If-None-Match": etag})
    assert after.status_code == 200 and after.headers["ETag"] != etag
    assert after.get_json()["slots"][0]["start"][11:16] == "09:30"


def test_the_answer_is_gzipped_for_browsers_and_the_same_json(client, expert):
    day = next_weekday(1)
    path = f"/api/v1/experts/jane/services/intro-call/slots?start={day}&end={day + timedelta(days=6)}" \
           "&timezone=Europe/Paris"
    plain = client.get(path)
    zipped = client.get(path, headers={"Accept-Encoding": "gzip, br"})
    assert zipped.headers["Content-Encoding"] == "gzip" and zipped.headers["Vary"] == "Accept-Encoding"
    import gzip
    assert gzip.decompress(zipped.data) == plain.data and zipped.headers["ETag"] == plain.headers["ETag"]


def test_a_booking_takes_its_slot_and_a_cancellation_frees_it_at_once(app, client, expert):
    day = next_weekday(2)
    assert starts(client, day)[:2] == ["09:00", "09:30"]
    with Moves(app):
        booking = book(client, slots_for(client, day)[0]["start"]).get_json()["booking"]
    assert starts(client, day)[0] == "09:30"
    with Moves(app):
        response = client.post(f"/api/v1/admin/bookings/{booking['id']}/cancel", headers=expert["headers"],
                               json={"reason": "Ill"})
        assert response.status_code == 200
    assert starts(client, day)[0] == "09:00"


def test_her_hours_a_day_off_and_her_zone_reach_the_next_view(app, client, expert):
    tuesday = next_weekday(1)
    assert starts(client, tuesday)[0] == "09:00"
    weekly = {d: [["10:00", "12:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    with Moves(app):
        client.put("/api/v1/admin/availability", headers=expert["headers"],
                   json={"timezone": "Europe/Paris", "weekly": weekly, "overrides": []})
    assert starts(client, tuesday) == ["10:00", "10:30", "11:00", "11:30"]
    with Moves(app):
        client.put("/api/v1/admin/availability", headers=expert["headers"], json={
            "timezone": "Europe/Paris", "weekly": weekly, "overrides": [{"date": tuesday.isoformat(), "intervals": []}]})
    assert starts(client, tuesday) == []
    with Moves(app):  # her zone (the zone of her places, and of her hours when she has none) moves it too
        response = client.patch("/api/v1/admin/profile", headers=expert["headers"], json={"timezone": "Europe/Rome"})
        assert response.status_code == 200, response.get_json()


def test_a_change_to_the_service_reaches_the_next_view(app, client, expert):
    day = next_weekday(3)
    assert slots_for(client, day)[0]["end"][11:16] == "09:30"
    with Moves(app):
        response = client.patch("/api/v1/admin/services/intro-call", headers=expert["headers"],
                                json={"duration_minutes": 60, "slot_interval_minutes": 60})
        assert response.status_code == 200
    assert [(s["start"][11:16], s["end"][11:16]) for s in slots_for(client, day)][:2] == [("09:00", "10:00"),
                                                                                          ("10:00", "11:00")]
    with Moves(app):
        assert client.delete("/api/v1/admin/services/intro-call", headers=expert["headers"]).status_code in (200, 204)
    response = client.get(f"/api/v1/experts/jane/services/intro-call/slots?start={day}&end={day}&timezone=UTC")
    assert response.status_code == 404


def test_a_busy_time_synced_from_her_calendar_blocks_at_once_and_leaves_with_the_calendar(app, client, expert):
    day = next_weekday(4)
    feed = FeedServer()
    try:
        feed.files["/jane.ics"] = vcalendar()
        created = client.post("/api/v1/admin/calendars", headers=expert["headers"],
                              json={"type": "ics", "url": feed.url("/jane.ics")}).get_json()["calendar"]
        assert client.post(f"/api/v1/admin/calendars/{created['id']}/sync", headers=expert["headers"]).status_code == 200
        assert "10:00" in starts(client, day)
        feed.files["/jane.ics"] = vcalendar(vevent("dentist@jane", "SUMMARY:Dentist",
                                                   f"DTSTART;TZID=Europe/Paris:{day:%Y%m%d}T100000",
                                                   f"DTEND;TZID=Europe/Paris:{day:%Y%m%d}T110000"))
        with Moves(app):
            assert client.post(f"/api/v1/admin/calendars/{created['id']}/sync",
                               headers=expert["headers"]).status_code == 200
        assert "10:00" not in starts(client, day) and "10:30" not in starts(client, day)
        with Moves(app):  # its busy times go with it (ON DELETE CASCADE)
            assert client.delete(f"/api/v1/admin/calendars/{created['id']}",
                                 headers=expert["headers"]).status_code in (200, 204)
        assert "10:00" in starts(client, day)
    finally:
        feed.close()


def test_a_workshop_a_mini_day_and_their_seats_reach_the_next_view(app, client, expert):
    day = next_weekday(2)
    make_service(client, expert, slug="workshop", name="Workshop", kind="group", duration_minutes=60, capacity=1)
    assert "14:00" in starts(client, day)
    with Moves(app):
        session = add_session(client, expert, "workshop", day, "14:00", "15:00", capacity=1)
    assert "14:00" not in starts(client, day), "her workshop blocks her personal time"
    assert [s["seats_left"] for s in slots_for(client, day, service="workshop")] == [1]
    with Moves(app):
        assert book_session(client, "workshop", session["id"], "ann@example.com").status_code == 201
    assert slots_for(client, day, service="workshop") == []

    make_service(client, expert, slug="minis", name="Minis", kind="mini", duration_minutes=20)
    saturday = next_weekday(5)
    assert slots_for(client, saturday, service="minis") == []
    with Moves(app):
        response = client.post("/api/v1/admin/services/minis/mini-days", headers=expert["headers"], json={
            "date": saturday.isoformat(), "start_time": "10:00", "end_time": "11:00", "gap_minutes": 10,
            "location": {"type": "in_person", "name": "Riverside Park", "address": "Quai de la Seine"}})
        assert response.status_code == 201, response.get_json()
    assert starts(client, saturday, service="minis") == ["10:00", "10:30"]


def test_a_waitlist_offer_holds_the_freed_seat_at_once(app, client, expert):
    day = next_weekday(2)
    make_service(client, expert, slug="yoga", name="Yoga", kind="group", duration_minutes=60, capacity=1)
    session = add_session(client, expert, "yoga", day, "18:00", "19:00", capacity=1)
    member = book_session(client, "yoga", session["id"], "member@example.com").get_json()["booking"]
    joined = client.post("/api/v1/experts/jane/services/yoga/waitlist", json={
        "session": session["id"], "timezone": "Europe/Paris", "client": {"name": "Wai", "email": "wai@example.com"}})
    assert joined.status_code == 201, joined.get_json()
    full = f"/api/v1/experts/jane/services/yoga/slots?start={day}&end={day}&timezone=Europe/Paris&include_full=1"
    assert [s["seats_left"] for s in client.get(full).get_json()["slots"]] == [0]
    with Moves(app):  # the freed seat is offered to Wai, who holds it: still no seat for anyone else
        client.post(f"/api/v1/admin/bookings/{member['id']}/cancel", headers=expert["headers"], json={})
    assert [s["seats_left"] for s in client.get(full).get_json()["slots"]] == [0]
    with app.app_context():
        from backend.services import slot_answers
        now = datetime.now(UTC)
        jane = db.session.scalar(select(Expert.id).where(Expert.slug == "jane"))
        lapse = slot_answers.next_lapse(db.session, jane, now - timedelta(days=3), now + timedelta(days=30), now)
    assert lapse is not None and lapse > now, "the cached answer ends when the offer lapses"


def test_a_hold_lapsing_mid_minute_frees_its_slot_at_once_and_never_before(app, client, expert):
    """Time alone moves no counter: the cached answer carries the instant its first hold lapses."""
    from backend import slot_cache
    from backend.services import slot_answers
    day = next_weekday(3)
    start = slots_for(client, day)[0]["start"]
    booking = book(client, start).get_json()["booking"]
    # A minute of our choosing, not the wall clock's: 10 s past it the hold has 20 s left.
    now = datetime.now(UTC).replace(second=10, microsecond=0)
    with Moves(app), app.app_context():  # a bulk UPDATE of a booking's hold moves the counter too
        db.session.execute(update(Booking).where(Booking.id == booking["id"]).values(
            status="pending_payment", hold_expires_at=now + timedelta(seconds=20)))
        db.session.commit()

    def read(at: datetime) -> list[str]:
        with app.test_request_context():
            store, namespace = slot_cache.current()
            found = slot_answers.head(db.session, "jane", "intro-call")
            entry = slot_answers.answer(db.session, store, namespace, found, day, day, "Europe/Paris", False, at)
            db.session.rollback()
            import json
            return [s["start"] for s in json.loads(entry.body)["slots"]]

    assert start not in read(now)
    assert start not in read(now + timedelta(seconds=19)), "still held: the cached answer is right"
    assert start in read(now + timedelta(seconds=20)), "lapsed: freed at once, not at the end of the minute"


def test_the_last_seconds_before_the_notice_do_not_offer_a_session(app, client, expert):
    """A session may start at any second; the answer stops being true when the notice reaches it."""
    from backend import slot_cache
    from backend.services import slot_answers
    make_service(client, expert, slug="talk", name="Talk", kind="group", duration_minutes=60, capacity=5,
                 min_notice_minutes=60)
    day = next_weekday(2)
    begins = datetime(day.year, day.month, day.day, 18, 0, 30, tzinfo=PARIS)
    response = client.post("/api/v1/admin/services/talk/sessions", headers=expert["headers"], json={
        "start": begins.isoformat(), "end": (begins + timedelta(hours=1)).isoformat()})
    assert response.status_code == 201, response.get_json()
    last_moment = begins - timedelta(minutes=60)  # 17:00:30, the last instant the notice allows

    def offered(at: datetime) -> bool:
        with app.test_request_context():
            store, namespace = slot_cache.current()
            found = slot_answers.head(db.session, "jane", "talk")
            entry = slot_answers.answer(db.session, store, namespace, found, day, day, "Europe/Paris", False, at)
            db.session.rollback()
            return b'"session"' in entry.body

    assert offered(last_moment - timedelta(seconds=20))
    assert not offered(last_moment + timedelta(seconds=1)), "the same minute's cached answer is not reused"


def test_unrelated_writes_leave_the_counter_alone(app, client, expert):
    day = next_weekday(1)
    booking = book(client, slots_for(client, day)[0]["start"]).get_json()["booking"]
    before = counter(app)
    with app.app_context():
        db.session.execute(update(Booking).where(Booking.id == booking["id"]).values(
            reminder_sent_at=datetime.now(UTC)))
        client_row = db.session.scalar(select(Client))
        client_row.name = "Ann Lee-Smith"
        db.session.commit()
    assert counter(app) == before


def test_a_bulk_insert_that_hides_its_expert_is_refused(app, expert):
    from sqlalchemy import insert

    from backend.models import CalendarBusy
    with app.app_context():
        with pytest.raises(RuntimeError, match="change counter"):
            db.session.execute(insert(CalendarBusy).values(source_id="cal_x", start=datetime.now(UTC),
                                                           end=datetime.now(UTC)))
        db.session.rollback()


def test_a_clients_only_answer_is_never_served_to_a_signed_out_visitor(app, client, expert):
    make_clients_only(client, expert)
    day = next_weekday(1).isoformat()
    path = f"/api/v1/experts/jane/services/inner-circle/slots?start={day}&end={day}&timezone=Europe/Paris"
    assert book(client, first_start(client), email="ann@example.com").status_code == 201
    token = sign_in(client, app, "ann@example.com")
    seen = client.get(path, headers=bearer(token))
    assert seen.status_code == 200 and seen.get_json()["slots"]
    assert seen.headers["Cache-Control"] == "private, no-cache"
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"If-None-Match": seen.headers["ETag"]}).status_code == 401


@pytest.mark.parametrize("app_env", [{"KAIROS_REDIS_URL": "redis://127.0.0.1:6379/0"}])
def test_answers_are_shared_through_redis(app, client, expert):
    import redis as redis_lib
    try:
        redis_lib.Redis.from_url("redis://127.0.0.1:6379/0", socket_timeout=2).ping()
    except redis_lib.RedisError as error:
        pytest.skip(f"Redis is not running here: {error}")
    from backend import create_app, slot_cache
    from backend.services import slot_answers
    day = next_weekday(2)
    seen = client.get(f"/api/v1/experts/jane/services/intro-call/slots?start={day}&end={day}&timezone=Europe/Paris")
    # Another worker (another app on the same database) finds the answer in Redis.
    other = create_app({"KAIROS_DATABASE_URL": app.config["KAIROS"].database_url,
                        "KAIROS_INSTANCE_DIR": str(app.config["KAIROS"].instance_dir),
                        "KAIROS_SECRET_KEY": "test-secret-key-0123456789",
                        "KAIROS_REDIS_URL": "redis://127.0.0.1:6379/0"})
    with other.test_request_context():
        store, namespace = slot_cache.current()
        assert isinstance(store, slot_cache.RedisStore)
        found = slot_answers.head(db.session, "jane", "intro-call")
        now = datetime.now(UTC)
        key = slot_answers.cache_key(namespace, found, day, day, "Europe/Paris", False, now)
        entry = store.get(key)
        db.session.remove()
        db.engine.dispose()
    if entry is None:  # the minute turned between the two reads: the key moved on, as it should
        assert now.second < 5
    else:
        assert entry.etag == seen.headers["ETag"]


@pytest.mark.parametrize("app_env", [{"KAIROS_REDIS_URL": "redis://127.0.0.1:9/0"}])  # nothing listens there
def test_a_redis_outage_costs_speed_never_an_answer(app, client, expert):
    day = next_weekday(2)
    assert starts(client, day)[0] == "09:00"
    assert book(client, slots_for(client, day)[0]["start"]).status_code == 201
    assert starts(client, day)[0] == "09:30"


class Doors:
    """Notes which requests reached Flask behind the slots lane (the real app still answers them)."""

    def __init__(self, app) -> None:
        self.lane = app.wsgi_app
        self.flask = self.lane.wsgi_app
        self.reached_flask = 0
        self.lane.wsgi_app = self._flask

    def _flask(self, environ, start_response):
        self.reached_flask += 1
        return self.flask(environ, start_response)


def headers_of(response) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in response.headers.items():
        found[name] = f"{found[name]}, {value}" if name in found else value
    found.pop("X-Request-ID")
    return found


@pytest.mark.parametrize("extra", [{}, {"Accept-Encoding": "gzip"}, {"Origin": "https://jane.example"}])
def test_the_lane_answers_a_repeat_view_exactly_as_the_route_did(app, client, expert, extra):
    doors = Doors(app)
    day = next_weekday(2)
    path = (f"/api/v1/experts/jane/services/intro-call/slots?start={day}&end={day + timedelta(days=6)}"
            "&timezone=Europe/Paris&include_full=true")
    deadline = time.monotonic() + 120
    while True:  # the two views must fall in one minute for the second to be a repeat
        doors.reached_flask = 0
        by_route = client.get(path, headers=extra)
        by_lane = client.get(path, headers=extra)
        if doors.reached_flask == 1 or time.monotonic() > deadline:
            break
    assert doors.reached_flask == 1, "the second view was served before Flask"
    assert (by_lane.status_code, by_lane.data, headers_of(by_lane)) == (200, by_route.data, headers_of(by_route))
    assert by_lane.headers["X-Request-ID"] != by_route.headers["X-Request-ID"]
    not_modified = client.get(path, headers={**extra, "If-None-Match": by_lane.headers["ETag"]})
    assert not_modified.status_code == 304 and not_modified.data == b""


def test_the_lane_leaves_what_it_cannot_read_exactly_to_flask(app, client, expert):
    doors = Doors(app)
    make_clients_only(client, expert)
    day = next_weekday(2)
    base = f"/api/v1/experts/jane/services/intro-call/slots?start={day}&end={day}&timezone=Europe/Paris"
    client.get(base)
    for path, status in ((base + "&colour=blue", 200), (base.replace(f"start={day}", "start=tomorrow"), 422),
                         (base + "&include_full=maybe", 422), (base.replace("intro-call", "inner-circle"), 401),
                         (base.replace("intro-call", "nothing-here"), 404)):
        doors.reached_flask = 0
        response = client.get(path)
        assert (doors.reached_flask, response.status_code) == (1, status), path


def test_the_widget_page_carries_the_first_answers_the_widget_would_ask_for(app, client, expert):
    import json
    import re

    response = client.patch("/api/v1/admin/profile", headers=expert["headers"],
                            json={"name": "Jane </script><script>alert(1)</script> & co"})
    assert response.status_code == 200, response.get_json()
    html = client.get("/widget/jane/intro-call").get_data(as_text=True)
    block = re.search(r'<script type="application/json" id="kairos-data">(.*?)</script>', html, re.S).group(1)
    assert "<" not in block and "&" not in block, "no text can close the data block"
    data = json.loads(block)
    assert data["answers"]["/experts/jane"]["name"] == "Jane </script><script>alert(1)</script> & co"
    assert data["signed_out"] == ["/experts/jane"]
    # Her first slots, in no zone (tests/test_first_answers.py: every zone's very answer of the API).
    assert data["slots"]["service"] == "intro-call" and data["slots"]["starts"]
    assert "unsafe-inline" not in client.get("/widget/jane/intro-call").headers["Content-Security-Policy"]


@pytest.mark.parametrize("today, end", [("2026-12-02", "2026-12-31"), ("2026-12-23", "2027-01-31"),
                                        ("2027-02-20", "2027-03-31"), ("2028-02-20", "2028-02-29"), ("2028-02-21", "2028-03-31")])
def test_the_first_window_is_the_widgets(today, end):
    from backend.api.first_answers import first_range
    assert first_range(date.fromisoformat(today)) == (date.fromisoformat(today), date.fromisoformat(end))


def test_a_view_the_cache_answers_costs_one_statement_and_one_it_computes_five(app, client, expert):
    """A page view served from the cache reads only Jane's counter; one computed reads the counter once
    (the lane before Flask hands it on), the service with her and her hours together, what blocks the
    week, and when a hold or an offer lapses next (bookings, waitlist)."""
    day = next_weekday(2)
    path = (f"/api/v1/experts/jane/services/intro-call/slots?start={day}&end={day + timedelta(days=6)}"
            "&timezone=Europe/Paris")
    with statements(app) as computed:
        first = client.get(path)
    assert first.status_code == 200 and first.get_json()["slots"]
    assert len(computed) <= 5, "\n".join(computed)
    with statements(app) as cached:
        again = client.get(path)
    assert again.get_data() == first.get_data()
    assert len(cached) == 1, "\n".join(cached)
