"""The manage page's "Add to calendar" file comes from the server, built as the emails' invitations are:
one UID for the booking's life, SEQUENCE rising with each change, CANCEL once it is cancelled."""
from __future__ import annotations

from icalendar import Calendar

from tests.conftest import next_weekday
from tests.test_lifecycle import token_of


def _book(client, day: str, hour: str = "10:00") -> dict:
    response = client.post("/api/v1/experts/jane/services/intro-call/bookings", json={
        "start": f"{day}T{hour}:00+01:00", "timezone": "Europe/Paris",
        "client": {"name": "Ann Lee", "email": "ann@example.com"}})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["booking"]


def _event(response):
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    calendar = Calendar.from_ical(response.data)
    (event,) = calendar.walk("VEVENT")
    return calendar, event


def test_the_client_downloads_the_booking_and_its_changes_as_ics(client, expert):
    day = next_weekday(1)
    booking = _book(client, day.isoformat())
    token = token_of(booking)

    calendar, event = _event(client.get(f"/api/v1/manage/{token}/booking.ics"))
    assert str(event["uid"]) == f"{booking['id']}@kairos"  # the UID of the invitation email
    assert event.decoded("dtstart").isoformat() == f"{day}T09:00:00+00:00"
    assert str(event["summary"]) == "Intro call – Jane Doe"
    assert "meet.example.com/jane" in str(event["location"])
    assert f"/manage/{token}" in str(event["description"])  # the file carries the client's own link
    first_sequence = int(event["sequence"])

    moved = client.post(f"/api/v1/manage/{token}/reschedule",
                        json={"start": f"{next_weekday(2)}T11:00:00+01:00", "timezone": "Europe/Paris"})
    assert moved.status_code == 200, moved.get_json()
    _, event = _event(client.get(f"/api/v1/manage/{token}/booking.ics"))
    assert int(event["sequence"]) > first_sequence and event.decoded("dtstart").hour == 10

    assert client.post(f"/api/v1/manage/{token}/cancel", json={"reason": ""}).status_code == 200
    calendar, event = _event(client.get(f"/api/v1/manage/{token}/booking.ics"))
    assert str(calendar["method"]) == "CANCEL" and str(event["status"]) == "CANCELLED"


def test_an_unknown_link_gets_no_file(client, expert):
    response = client.get("/api/v1/manage/mt_nothing/booking.ics")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
