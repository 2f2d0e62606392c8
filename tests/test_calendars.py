"""The expert's own calendars block their time: a real Radicale (CalDAV) and an ICS feed over HTTP.

Jane works in Paris (Mon–Fri 09–12 and 13–17); her personal calendar is kept in New York time.
Each kind of event must block exactly what it should in her slots, a calendar server that goes down
must keep its last busy times (and tell her once), and her bookings are written back to a calendar.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from tests.calendar_servers import FeedServer, Radicale, vcalendar, vevent
from tests.conftest import next_weekday
from tests.test_booking_api import book, slots_for
from tests.test_notifications import app, drain, smtp, smtp_url  # noqa: F401  (fixtures)

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")

pytestmark = pytest.mark.slow


@pytest.fixture
def app_env() -> dict[str, str]:
    """Radicale and the feed listen on 127.0.0.1, which the SSRF guard refuses by default."""
    return {"KAIROS_CALENDAR_ALLOW_PRIVATE": "1"}


@pytest.fixture(scope="module")
def radicale(tmp_path_factory):
    server = Radicale(tmp_path_factory.mktemp("radicale"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def feed():
    server = FeedServer()
    yield server
    server.close()


# --- helpers ------------------------------------------------------------------------------------

def free_starts(client, day: date) -> set[datetime]:
    """UTC starts of Jane's free 30-minute slots on her (Paris) ``day``."""
    return {datetime.fromisoformat(s["start"]).astimezone(UTC) for s in slots_for(client, day)}


def paris(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), PARIS).astimezone(UTC)


def new_york(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), NEW_YORK).astimezone(UTC)


def next_transition(tz: ZoneInfo, after: date) -> date:
    """The first date after ``after`` on which ``tz`` changes its UTC offset (found with zoneinfo)."""
    day = after
    while True:
        nxt = day + timedelta(days=1)
        if datetime.combine(nxt, time(12), tz).utcoffset() != datetime.combine(day, time(12), tz).utcoffset():
            return nxt
        day = nxt


def add_calendar(client, expert, **body) -> dict:
    response = client.post("/api/v1/admin/calendars", headers=expert["headers"], json=body)
    assert response.status_code == 201, response.get_json()
    calendar = response.get_json()["calendar"]
    assert calendar["status"] == "pending" and "password" not in calendar
    return calendar


def sync(client, expert, calendar_id: str) -> dict:
    response = client.post(f"/api/v1/admin/calendars/{calendar_id}/sync", headers=expert["headers"])
    assert response.status_code == 200, response.get_json()
    return response.get_json()["calendar"]


def reach_far(client, expert, **changes) -> None:
    """Let clients book far enough ahead to cross the next DST change."""
    response = client.patch("/api/v1/admin/services/intro-call", headers=expert["headers"],
                            json={"max_advance_days": 365, **changes})
    assert response.status_code == 200, response.get_json()


# --- what blocks and what does not ----------------------------------------------------------------

def test_a_weekly_new_york_event_blocks_jane_across_dst_with_its_exceptions(client, expert, radicale):
    """RRULE across New York's DST change, one date removed (EXDATE), one moved (RECURRENCE-ID)."""
    reach_far(client, expert)
    change = next_transition(NEW_YORK, date.today() + timedelta(days=3))
    first = change - timedelta(days=change.weekday()) - timedelta(weeks=2)  # a Monday two weeks before
    if first <= date.today() + timedelta(days=2):
        first += timedelta(weeks=1)
    mondays = [first + timedelta(weeks=n) for n in range(6)]
    removed, moved = mondays[3], mondays[4]
    moved_to = moved + timedelta(days=1)  # Tuesday, 09:00 in New York
    stamp = "%Y%m%dT%H%M%S"
    series = vevent("standup@jane", "SUMMARY:Standup", f"DTSTART;TZID=America/New_York:{first:%Y%m%d}T100000",
                    f"DTEND;TZID=America/New_York:{first:%Y%m%d}T110000", "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=6",
                    f"EXDATE;TZID=America/New_York:{removed:%Y%m%d}T100000")
    exception = vevent("standup@jane", "SUMMARY:Standup (moved)",
                       f"RECURRENCE-ID;TZID=America/New_York:{moved:%Y%m%d}T100000",
                       f"DTSTART;TZID=America/New_York:{datetime.combine(moved_to, time(9)):{stamp}}",
                       f"DTEND;TZID=America/New_York:{datetime.combine(moved_to, time(10)):{stamp}}")
    url = radicale.make_calendar("work-dst")
    radicale.put(url, vcalendar(series, exception))
    calendar = add_calendar(client, expert, type="caldav", url=url, username="jane", password="s3cret")
    assert sync(client, expert, calendar["id"])["status"] == "ok"

    for monday in (mondays[0], mondays[1], mondays[2], mondays[5]):
        busy = new_york(monday, 10)  # 16:00 in Paris, or 15:00 while only New York has moved its clocks
        free = free_starts(client, monday)
        assert busy not in free and busy + timedelta(minutes=30) not in free, monday
        assert busy - timedelta(minutes=30) in free, f"the half hour before the event stays bookable ({monday})"
    assert mondays[0] < change <= mondays[5], "the series crosses New York's DST change"
    assert new_york(mondays[0], 10).astimezone(PARIS).hour == 16
    assert new_york(removed, 10) in free_starts(client, removed), "EXDATE: that Monday is free"
    assert new_york(moved, 10) in free_starts(client, moved), "RECURRENCE-ID: the old time is free"
    moved_free = free_starts(client, moved_to)
    assert new_york(moved_to, 9) not in moved_free and new_york(moved_to, 9, 30) not in moved_free
    assert new_york(moved_to, 10) in moved_free, "the moved occurrence lasts an hour, no more"

    taken = new_york(mondays[1], 10).astimezone(PARIS).isoformat()
    response = book(client, taken)
    assert response.status_code == 409, "the booking transaction re-checks against calendar busy times"


def test_all_day_transparent_and_cancelled_events_of_a_feed(client, expert, feed):
    monday = next_weekday(0, weeks=2)
    tuesday, wednesday, thursday, friday = (monday + timedelta(days=n) for n in range(1, 5))
    feed.files["/jane.ics"] = vcalendar(
        vevent("holiday@jane", "SUMMARY:Day off", f"DTSTART;VALUE=DATE:{wednesday:%Y%m%d}",
               f"DTEND;VALUE=DATE:{thursday:%Y%m%d}"),
        vevent("dentist@jane", "SUMMARY:Dentist", f"DTSTART;TZID=America/New_York:{tuesday:%Y%m%d}T090000",
               f"DTEND;TZID=America/New_York:{tuesday:%Y%m%d}T100000"),
        vevent("focus@jane", "SUMMARY:Focus time (free)", "TRANSP:TRANSPARENT",
               f"DTSTART;TZID=Europe/Paris:{thursday:%Y%m%d}T100000", f"DTEND;TZID=Europe/Paris:{thursday:%Y%m%d}T110000"),
        vevent("lunch@jane", "SUMMARY:Lunch (called off)", "STATUS:CANCELLED",
               f"DTSTART;TZID=Europe/Paris:{friday:%Y%m%d}T100000", f"DTEND;TZID=Europe/Paris:{friday:%Y%m%d}T110000"),
    )
    calendar = add_calendar(client, expert, type="ics", url=feed.url("/jane.ics"))
    synced = sync(client, expert, calendar["id"])
    assert synced["status"] == "ok" and synced["last_synced_at"] and synced["last_error"] is None

    assert free_starts(client, wednesday) == set(), "an all-day event blocks Jane's whole Paris day"
    assert paris(tuesday, 9) in free_starts(client, tuesday) and paris(thursday, 9) in free_starts(client, thursday)
    tuesday_free = free_starts(client, tuesday)
    assert paris(tuesday, 15) not in tuesday_free and paris(tuesday, 15, 30) not in tuesday_free  # 9–10 New York
    assert paris(tuesday, 14, 30) in tuesday_free and paris(tuesday, 16) in tuesday_free
    assert paris(thursday, 10) in free_starts(client, thursday), "a transparent event leaves the time free"
    assert paris(friday, 10) in free_starts(client, friday), "a cancelled event leaves the time free"

    # The same buffers rule as bookings: a 30-minute buffer after a session keeps it clear of the dentist.
    reach_far(client, expert, buffer_after_minutes=30, buffer_before_minutes=30)
    tuesday_free = free_starts(client, tuesday)
    assert paris(tuesday, 14, 30) not in tuesday_free and paris(tuesday, 16) not in tuesday_free
    assert paris(tuesday, 14) in tuesday_free and paris(tuesday, 16, 30) in tuesday_free


def test_slots_never_fetch_a_calendar(client, expert, feed):
    """Busy times come from the cache: the slots and booking endpoints never call the server."""
    feed.files["/jane.ics"] = vcalendar()
    calendar = add_calendar(client, expert, type="ics", url=feed.url("/jane.ics"))
    sync(client, expert, calendar["id"])
    fetched = feed.requests
    day = next_weekday(1)
    start = slots_for(client, day)[0]["start"]
    assert book(client, start).status_code == 201
    assert feed.requests == fetched


# --- health -----------------------------------------------------------------------------------

def test_a_calendar_server_that_goes_down_keeps_its_busy_times_and_tells_jane_once(
        app, client, expert, smtp, tmp_path):
    server = Radicale(tmp_path / "radicale")
    server.start()
    try:
        url = server.make_calendar("personal")
        thursday = next_weekday(3)
        server.put(url, vcalendar(vevent("gym@jane", f"DTSTART;TZID=Europe/Paris:{thursday:%Y%m%d}T100000",
                                         f"DTEND;TZID=Europe/Paris:{thursday:%Y%m%d}T110000")))
        calendar = add_calendar(client, expert, type="caldav", url=url)
        ok = sync(client, expert, calendar["id"])
        assert ok["status"] == "ok"
        assert paris(thursday, 10) not in free_starts(client, thursday)

        server.stop()
        failing = sync(client, expert, calendar["id"])
        assert failing["status"] == "failing" and failing["last_error"]
        assert failing["last_synced_at"] == ok["last_synced_at"], "last_synced_at is the last good sync"
        assert sync(client, expert, calendar["id"])["status"] == "failing"
        free = free_starts(client, thursday)
        assert paris(thursday, 10) not in free, "the last good busy times still block"
        assert paris(thursday, 9) in free, "and nothing else is closed"
        health = client.get("/healthz").get_json()
        assert health.get("calendars") == {"failing": 1}, health  # the whole report when it is not
        drain(app)
        notice = smtp.to("jane@example.com", "Kairos cannot read your calendar")
        assert len(notice) == 1
        body = notice[0].get_content()
        assert url in body and "keep blocking your availability" in body, body

        server.start()
        assert sync(client, expert, calendar["id"])["status"] == "ok"
        assert sync(client, expert, calendar["id"])["status"] == "ok"
        drain(app)
        assert len(smtp.to("jane@example.com", "Kairos cannot read your calendar")) == 1
        assert len(smtp.to("jane@example.com", "Kairos reads your calendar")) == 1
        health = client.get("/healthz").get_json()
        assert health.get("calendars") == {"failing": 0}, health  # the whole report when it is not
    finally:
        server.stop()


def test_the_worker_syncs_each_source_on_its_schedule(app, client, expert, feed):
    from backend.extensions import db
    from backend.worker import sync_calendars
    feed.files["/jane.ics"] = vcalendar()
    add_calendar(client, expert, type="ics", url=feed.url("/jane.ics"))
    settings = app.config["KAIROS"]
    now = datetime.now(UTC)
    with app.app_context():
        assert sync_calendars(db.session, settings, now) == 1
        assert sync_calendars(db.session, settings, now + timedelta(minutes=9)) == 0
        assert sync_calendars(db.session, settings, now + timedelta(minutes=10)) == 1
    assert client.get("/api/v1/admin/calendars", headers=expert["headers"]).get_json()["calendars"][0]["status"] == "ok"


# --- write-back -------------------------------------------------------------------------------

def stored(radicale: Radicale, url: str) -> list:
    return [component for data in radicale.events(url)
            for component in Calendar.from_ical(data).walk("VEVENT")]


def test_bookings_are_written_moved_and_removed_on_radicale_without_duplicates(app, client, expert, radicale):
    url = radicale.make_calendar("kairos-bookings")
    add_calendar(client, expert, type="caldav", url=url, username="jane", password="s3cret", write_bookings=True)
    day = next_weekday(2)
    first, later = slots_for(client, day)[0]["start"], slots_for(client, day)[4]["start"]
    booking = book(client, first).get_json()["booking"]
    drain(app)
    events = stored(radicale, url)
    assert len(events) == 1
    assert str(events[0]["UID"]) == f"{booking['id']}@kairos"
    assert events[0].start == datetime.fromisoformat(first).astimezone(UTC)

    token = booking["manage_url"].rsplit("/", 1)[1]
    response = client.post(f"/api/v1/manage/{token}/reschedule", json={"start": later, "timezone": "Europe/Paris"})
    assert response.status_code == 200, response.get_json()
    drain(app)
    events = stored(radicale, url)
    assert len(events) == 1 and events[0].start == datetime.fromisoformat(later).astimezone(UTC)

    # Connecting the same calendar again writes the upcoming booking again: still one event.
    again = add_calendar(client, expert, type="caldav", url=url, username="jane", password="s3cret",
                         write_bookings=True)
    drain(app)
    assert len(stored(radicale, url)) == 1
    # Reading it back does not make the booking block itself twice (its own UID is skipped).
    assert sync(client, expert, again["id"])["status"] == "ok"
    assert datetime.fromisoformat(first).astimezone(UTC) in free_starts(client, day)

    assert client.post(f"/api/v1/manage/{token}/cancel", json={"reason": "ill"}).status_code == 200
    drain(app)
    assert stored(radicale, url) == []


# --- the API's guard rails --------------------------------------------------------------------

@pytest.mark.parametrize("app_env", [{}])
def test_private_addresses_are_refused_by_default_and_passwords_never_leave(app, client, expert):
    response = client.post("/api/v1/admin/calendars", headers=expert["headers"],
                           json={"type": "ics", "url": "http://127.0.0.1:5232/jane.ics"})
    assert response.status_code == 422
    assert "public internet" in response.get_json()["error"]["fields"]["url"][0]
    response = client.post("/api/v1/admin/calendars", headers=expert["headers"], json={
        "type": "caldav", "url": "https://caldav.example.com/jane/work/", "username": "jane", "password": "s3cret"})
    assert response.status_code == 201
    listed = client.get("/api/v1/admin/calendars", headers=expert["headers"]).get_json()["calendars"]
    assert "s3cret" not in str(listed) and "password" not in listed[0]
    from sqlalchemy import select

    from backend.extensions import db
    from backend.models import CalendarSource
    with app.app_context():
        stored_password = db.session.scalar(select(CalendarSource.password_encrypted))
    assert stored_password and "s3cret" not in stored_password
    ics_with_write = client.post("/api/v1/admin/calendars", headers=expert["headers"], json={
        "type": "ics", "url": "https://example.com/jane.ics", "write_bookings": True})
    assert ics_with_write.status_code == 422
    calendar_id = listed[0]["id"]
    assert client.delete(f"/api/v1/admin/calendars/{calendar_id}", headers=expert["headers"]).status_code == 204
    assert client.delete(f"/api/v1/admin/calendars/{calendar_id}", headers=expert["headers"]).status_code == 404


def test_each_fetch_checks_the_address_again(feed):
    """Registration refuses obvious private URLs without DNS; the fetch itself resolves and refuses too,
    for ICS feeds and CalDAV alike, unless a calendar on the local network is allowed."""
    from backend.calendars import fetch
    feed.files["/jane.ics"] = vcalendar()
    for url in (feed.url("/jane.ics"), f"http://localhost:{feed.port}/jane.ics"):
        with pytest.raises(fetch.FetchError, match="public internet"):
            fetch.fetch_ics(url, allow_private=False)
    with pytest.raises(fetch.FetchError, match="public internet"):
        fetch.caldav_events(feed.url("/cal/"), None, None, datetime.now(UTC), datetime.now(UTC) + timedelta(days=1),
                            allow_private=False)
    requests_before = feed.requests
    assert fetch.fetch_ics(feed.url("/jane.ics"), allow_private=True).startswith(b"BEGIN:VCALENDAR")
    assert feed.requests == requests_before + 1


def test_passwords_survive_a_key_rotation_and_nothing_else_opens_them():
    from backend.calendars import credentials
    old, new = "old-secret-key-0123456789", "new-secret-key-0123456789"
    token = credentials.encrypt("s3cret", old)
    assert "s3cret" not in token
    assert credentials.decrypt(token, new, (old,)) == "s3cret"
    with pytest.raises(credentials.UnreadablePassword):
        credentials.decrypt(token, new)


@pytest.mark.parametrize("value", ["0", "abc", "1441"])
def test_a_bad_sync_interval_stops_the_start(value):
    from backend.config import ConfigError, Settings
    with pytest.raises(ConfigError, match="KAIROS_CALENDAR_SYNC_MINUTES"):
        Settings.from_env({"KAIROS_CALENDAR_SYNC_MINUTES": value, "KAIROS_SECRET_KEY": "x" * 20})
