"""A place keeps its own clock: in-person answers carry the place's zone, emails say the time there first."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.conftest import next_weekday
from tests.test_booking_api import slots_for
from tests.test_sessions import book_session, make_service, token_of


def add_minis(client, expert, location):
    make_service(client, expert, slug="portraits", name="Portrait minis", kind="mini", duration_minutes=20)
    day = next_weekday(5)
    response = client.post("/api/v1/admin/services/portraits/mini-days", headers=expert["headers"], json={
        "date": day.isoformat(), "start_time": "10:00", "end_time": "10:20", "gap_minutes": 0, "location": location})
    return day, response


def test_a_place_without_a_zone_keeps_the_experts(client, expert):
    day, response = add_minis(client, expert, {"type": "in_person", "name": "Jardin", "address": "Quai"})
    assert response.status_code == 201, response.get_json()
    slot = slots_for(client, day, tz="America/Los_Angeles", service="portraits")[0]
    assert slot["location"]["timezone"] == "Europe/Paris"
    booking = book_session(client, "portraits", slot["session"], "a@example.com").get_json()["booking"]
    assert booking["location"]["timezone"] == "Europe/Paris"
    assert client.get(f"/api/v1/manage/{token_of(booking)}").get_json()["booking"]["location"]["timezone"] == "Europe/Paris"


def test_a_place_may_name_its_own_zone_and_city(client, expert):
    location = {"type": "in_person", "name": "Common", "timezone": "America/New_York", "city": "Boston"}
    day, response = add_minis(client, expert, location)
    assert response.status_code == 201, response.get_json()
    slot = slots_for(client, day, tz="Europe/Paris", service="portraits")[0]
    assert slot["location"]["timezone"] == "America/New_York" and slot["location"]["city"] == "Boston"


def test_an_unknown_place_zone_is_refused(client, expert):
    _day, response = add_minis(client, expert, {"type": "in_person", "name": "Park", "timezone": "Mars/Olympus"})
    assert response.status_code == 422, response.get_json()


def test_video_sessions_have_no_place_clock(client, expert):
    body = client.get("/api/v1/experts/jane/services/intro-call").get_json()
    assert "timezone" not in body["location"]


@pytest.mark.parametrize("reader, expected", [
    ("America/Los_Angeles", ("Saturday 5 December 2026, 10:00–10:20 Boston time",
                             "Saturday 5 December 2026, 10:00–10:20 Boston time · 07:00–07:20 your time")),
    ("America/New_York", None),  # the reader's clock is the place's: said once
    ("Asia/Tokyo", ("Saturday 5 December 2026, 10:00–10:20 Boston time",
                    "Saturday 5 December 2026, 10:00–10:20 Boston time · Sunday 6 December 2026, 00:00–00:20 your time")),
])
def test_emails_say_the_time_at_the_place_first(reader, expected):
    from backend.notifications.emails import place_when
    start = datetime(2026, 12, 5, 15, 0, tzinfo=UTC)
    end = datetime(2026, 12, 5, 15, 20, tzinfo=UTC)
    location = {"type": "in_person", "name": "Common", "city": "Boston"}
    assert place_when(location, "America/New_York", start, end, reader, "en") == expected
