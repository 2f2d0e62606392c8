"""Group sessions, series and mini sessions: seats, all-or-nothing series, mini days and leads."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import next_weekday
from tests.test_booking_api import slots_for
from tests.test_lifecycle import token_of


def make_service(client, expert, **body):
    response = client.post("/api/v1/admin/services", headers=expert["headers"], json=body)
    assert response.status_code == 201, response.get_json()


def add_session(client, expert, service, day, start, end, capacity=None, **extra):
    body = {"start": f"{day}T{start}:00+01:00", "end": f"{day}T{end}:00+01:00", **extra}
    if capacity:
        body["capacity"] = capacity
    response = client.post(f"/api/v1/admin/services/{service}/sessions", headers=expert["headers"], json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["session"]


def book_session(client, service, session, email):
    return client.post(f"/api/v1/experts/jane/services/{service}/bookings", json={
        "session": session, "timezone": "Europe/Paris", "client": {"name": email.split("@")[0], "email": email}})


def test_a_group_session_sells_its_seats_and_then_is_full(client, expert):
    make_service(client, expert, slug="workshop", name="Workshop", kind="group", duration_minutes=120, capacity=2,
                 location={"type": "in_person", "name": "Studio", "address": "1 Rue de Rivoli"})
    day = next_weekday(2)
    session = add_session(client, expert, "workshop", day, "14:00", "16:00")
    slots = slots_for(client, day, service="workshop")
    assert [(s["session"], s["seats_left"]) for s in slots] == [(session["id"], 2)]
    assert slots[0]["location"]["name"] == "Studio"  # a group's place is public
    assert book_session(client, "workshop", session["id"], "a@example.com").status_code == 201
    assert slots_for(client, day, service="workshop")[0]["seats_left"] == 1
    assert book_session(client, "workshop", session["id"], "b@example.com").status_code == 201
    assert slots_for(client, day, service="workshop") == []
    full = book_session(client, "workshop", session["id"], "c@example.com")
    assert full.status_code == 409 and full.get_json()["error"]["code"] == "slot_unavailable"


def test_a_group_seat_cannot_be_changed_through_the_link(client, expert):
    make_service(client, expert, slug="workshop", name="Workshop", kind="group", duration_minutes=60, capacity=5)
    session = add_session(client, expert, "workshop", next_weekday(3), "10:00", "11:00")
    booking = book_session(client, "workshop", session["id"], "a@example.com").get_json()["booking"]
    view = client.get(f"/api/v1/manage/{token_of(booking)}").get_json()
    assert (view["can_cancel"], view["can_reschedule"], view["reason"]) == (False, False, "group_session")
    assert "contact" in view["reason_text"]


def test_a_scheduled_session_blocks_the_experts_personal_slots(client, expert):
    make_service(client, expert, slug="workshop", name="Workshop", kind="group", duration_minutes=60, capacity=5)
    day = next_weekday(1)
    add_session(client, expert, "workshop", day, "10:00", "11:00")
    starts = [s["start"][11:16] for s in slots_for(client, day)]
    assert "09:30" in starts and "10:00" not in starts and "10:30" not in starts and "11:00" in starts


def test_a_series_is_booked_whole_or_not_at_all(client, expert):
    make_service(client, expert, slug="course", name="Four-week course", kind="series", duration_minutes=90,
                 capacity=3)
    first = next_weekday(0)
    sessions = [add_session(client, expert, "course", first + timedelta(weeks=w), "18:00", "19:30",
                            capacity=1 if w == 2 else 3) for w in range(4)]
    slots = slots_for(client, first, service="course")
    assert len(slots) == 1 and slots[0]["seats_left"] == 1  # the smallest session decides
    assert [s["start"][:10] for s in slots[0]["sessions"]] == [(first + timedelta(weeks=w)).isoformat() for w in range(4)]
    won = book_session(client, "course", sessions[0]["id"], "a@example.com")
    assert won.status_code == 201, won.get_json()
    assert len(won.get_json()["booking"]["sessions"]) == 4
    # The third week is now full, so nobody gets any of it — not even the weeks with seats.
    lost = book_session(client, "course", sessions[0]["id"], "b@example.com")
    assert lost.status_code == 409
    assert slots_for(client, first, service="course") == []
    # A series is booked from its first session only.
    assert book_session(client, "course", sessions[1]["id"], "c@example.com").status_code == 409


def test_a_mini_session_day_is_cut_booked_and_rescheduled(client, expert):
    make_service(client, expert, slug="portraits", name="Portrait minis", kind="mini", duration_minutes=20,
                 policy={"cutoff_hours": 0})
    day = next_weekday(5)
    response = client.post("/api/v1/admin/services/portraits/mini-days", headers=expert["headers"], json={
        "date": day.isoformat(), "start_time": "10:00", "end_time": "11:00", "gap_minutes": 10,
        "location": {"type": "in_person", "name": "Riverside Park", "address": "Quai de la Seine"}})
    assert response.status_code == 201, response.get_json()
    assert [s["start"][11:16] for s in response.get_json()["sessions"]] == ["10:00", "10:30"]
    slots = slots_for(client, day, service="portraits")
    assert [s["location"]["name"] for s in slots] == ["Riverside Park", "Riverside Park"]
    booking = book_session(client, "portraits", slots[0]["session"], "a@example.com").get_json()["booking"]
    assert book_session(client, "portraits", slots[0]["session"], "b@example.com").status_code == 409
    token = token_of(booking)
    view = client.get(f"/api/v1/manage/{token}").get_json()
    assert view["can_reschedule"] and view["can_cancel"]
    moved = client.post(f"/api/v1/manage/{token}/reschedule",
                        json={"session": slots[1]["session"], "timezone": "Europe/Paris"})
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["booking"]["start"][11:16] == "10:30"
    assert [s["session"] for s in slots_for(client, day, service="portraits")] == [slots[0]["session"]]


@pytest.mark.parametrize("body, field", [
    ({"start_time": "11:00", "end_time": "10:00"}, "end_time"),
    ({"start_time": "10:00", "end_time": "10:10"}, "end_time"),
    ({"start_time": "ten", "end_time": "11:00"}, "start_time"),
])
def test_bad_mini_days_are_refused(client, expert, body, field):
    make_service(client, expert, slug="portraits", name="Portrait minis", kind="mini", duration_minutes=20)
    response = client.post("/api/v1/admin/services/portraits/mini-days", headers=expert["headers"], json={
        "date": next_weekday(5).isoformat(), "location": {"type": "in_person", "name": "Park"}, **body})
    assert response.status_code == 422 and field in response.get_json()["error"]["fields"], response.get_json()


def test_a_lead_stays_in_progress_until_booked_and_survives_cancellation(app, client, expert):
    from datetime import datetime, timezone

    from sqlalchemy import update

    from backend.extensions import db
    from backend.models import Booking
    slots = slots_for(client, next_weekday(4))
    first = client.post("/api/v1/experts/jane/services/intro-call/bookings", json={
        "start": slots[0]["start"], "timezone": "UTC", "client": {"name": "Ann", "email": "ann@example.com"}})
    assert first.status_code == 201
    with app.app_context():  # as if it were an online payment hold that then expired
        db.session.execute(update(Booking).values(status="pending_payment",
                                                  hold_expires_at=datetime.now(timezone.utc)))
        from backend.models import Lead
        db.session.execute(update(Lead).values(status="scheduling_in_progress"))
        db.session.commit()
    leads = client.get("/api/v1/admin/leads", headers=expert["headers"]).get_json()["leads"]
    assert leads[0]["status"] == "scheduling_in_progress"  # an expired hold leaves it open for follow-up
    closed = client.post(f"/api/v1/admin/leads/{leads[0]['id']}/close", headers=expert["headers"])
    assert closed.get_json()["lead"]["status"] == "closed"
    again = client.post("/api/v1/experts/jane/services/intro-call/bookings", json={
        "start": slots[1]["start"], "timezone": "UTC", "client": {"name": "Ann", "email": "ANN@example.com"}})
    assert again.status_code == 201
    leads = client.get("/api/v1/admin/leads", headers=expert["headers"]).get_json()["leads"]
    assert len(leads) == 1 and leads[0]["status"] == "booked"
    client.post(f"/api/v1/manage/{token_of(again.get_json()['booking'])}/cancel", json={})
    assert client.get("/api/v1/admin/leads", headers=expert["headers"]).get_json()["leads"][0]["status"] == "booked"
