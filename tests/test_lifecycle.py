"""A booking's life: holds, pending sessions, the manage link, cancel and reschedule."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update

from tests.conftest import next_weekday
from tests.test_booking_api import book, slots_for


def token_of(booking: dict) -> str:
    return booking["manage_url"].rsplit("/", 1)[1]


def set_policy(client, expert, **policy):
    response = client.patch("/api/v1/admin/services/intro-call", headers=expert["headers"], json={"policy": policy})
    assert response.status_code == 200, response.get_json()


def history(app, booking_id):
    from backend.extensions import db
    from backend.models import BookingEvent
    with app.app_context():
        return [(e.type, e.actor, e.message) for e in db.session.scalars(
            select(BookingEvent).where(BookingEvent.booking_id == booking_id).order_by(BookingEvent.id))]


def test_a_client_reschedules_then_cancels_through_the_link(app, client, expert):
    day = next_weekday(1)
    slots = slots_for(client, day)
    booking = book(client, slots[0]["start"]).get_json()["booking"]
    token = token_of(booking)
    view = client.get(f"/api/v1/manage/{token}").get_json()
    assert view["can_cancel"] is True and view["can_reschedule"] is True and view["reason"] is None
    assert view["booking"]["id"] == booking["id"]

    moved = client.post(f"/api/v1/manage/{token}/reschedule",
                        json={"start": slots[3]["start"], "timezone": "Asia/Tokyo"})
    assert moved.status_code == 200, moved.get_json()
    moved = moved.get_json()["booking"]
    assert moved["id"] == booking["id"] and moved["timezone"] == "Asia/Tokyo"
    assert datetime.fromisoformat(moved["start"]) == datetime.fromisoformat(slots[3]["start"])
    offered = [s["start"] for s in slots_for(client, day)]
    assert slots[0]["start"] in offered and slots[3]["start"] not in offered  # old time freed, new one taken

    cancelled = client.post(f"/api/v1/manage/{token}/cancel", json={"reason": "Sick, sorry"})
    assert cancelled.status_code == 200 and cancelled.get_json()["booking"]["status"] == "cancelled"
    assert slots[3]["start"] in [s["start"] for s in slots_for(client, day)]
    assert history(app, booking["id"]) == [("created", "client", None), ("rescheduled", "client", None),
                                           ("cancelled", "client", "Sick, sorry")]


def test_an_old_link_cannot_bring_a_cancelled_booking_back(client, expert):
    slots = slots_for(client, next_weekday(2))
    token = token_of(book(client, slots[0]["start"]).get_json()["booking"])
    assert client.post(f"/api/v1/manage/{token}/cancel", json={}).status_code == 200
    again = client.post(f"/api/v1/manage/{token}/reschedule", json={"start": slots[1]["start"], "timezone": "UTC"})
    assert again.status_code == 403
    assert again.get_json()["error"]["code"] == "not_allowed" and again.get_json()["error"]["reason"] == "cancelled"
    twice = client.post(f"/api/v1/manage/{token}/cancel", json={})
    assert twice.status_code == 403 and twice.get_json()["error"]["reason"] == "cancelled"
    view = client.get(f"/api/v1/manage/{token}").get_json()
    assert view["can_cancel"] is False and view["reason"] == "cancelled"


def test_reschedule_to_a_taken_time_keeps_the_old_one(client, expert):
    slots = slots_for(client, next_weekday(3))
    mine = book(client, slots[0]["start"]).get_json()["booking"]
    book(client, slots[1]["start"], email="other@example.com")
    response = client.post(f"/api/v1/manage/{token_of(mine)}/reschedule",
                           json={"start": slots[1]["start"], "timezone": "Europe/Paris"})
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "slot_unavailable"
    view = client.get(f"/api/v1/manage/{token_of(mine)}").get_json()
    assert view["booking"]["start"] == slots[0]["start"] and view["booking"]["status"] == "confirmed"


def test_a_booking_can_move_by_half_its_length(client, expert):
    """Moving onto a time that overlaps only its own old slot is fine: the booking does not block itself."""
    client.patch("/api/v1/admin/services/intro-call", headers=expert["headers"],
                 json={"duration_minutes": 60, "slot_interval_minutes": 30})
    slots = slots_for(client, next_weekday(4))
    mine = book(client, slots[0]["start"]).get_json()["booking"]
    response = client.post(f"/api/v1/manage/{token_of(mine)}/reschedule",
                           json={"start": slots[1]["start"], "timezone": "Europe/Paris"})
    assert response.status_code == 200, response.get_json()


def test_cutoff_and_policy_are_enforced_with_a_reason(client, expert):
    slots = slots_for(client, next_weekday(1))
    token = token_of(book(client, slots[0]["start"]).get_json()["booking"])
    set_policy(client, expert, cutoff_hours=24 * 60)
    view = client.get(f"/api/v1/manage/{token}").get_json()
    assert (view["can_cancel"], view["can_reschedule"], view["reason"]) == (False, False, "past_cutoff")
    response = client.post(f"/api/v1/manage/{token}/cancel", json={})
    assert response.status_code == 403 and response.get_json()["error"]["reason"] == "past_cutoff"
    set_policy(client, expert, cutoff_hours=0, client_can_reschedule=False)
    view = client.get(f"/api/v1/manage/{token}").get_json()
    assert (view["can_cancel"], view["can_reschedule"], view["reason"]) == (True, False, "policy")


def test_a_past_booking_cannot_be_changed(app, client, expert):
    from backend.extensions import db
    from backend.models import Booking
    booking = book(client, slots_for(client, next_weekday(2))[0]["start"]).get_json()["booking"]
    with app.app_context():
        past = datetime.now(timezone.utc) - timedelta(days=2)
        db.session.execute(update(Booking).values(start=past, end=past + timedelta(minutes=30)))
        db.session.commit()
    view = client.get(f"/api/v1/manage/{token_of(booking)}").get_json()
    assert view["reason"] == "past" and not view["can_cancel"]


def test_unknown_tokens_reveal_nothing(client, expert):
    for token in ("nope", "mt_" + "a" * 43, "x" * 300):
        response = client.get(f"/api/v1/manage/{token}")
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_a_live_hold_blocks_and_an_expired_one_frees_the_slot(app, client, expert):
    from backend.extensions import db
    from backend.models import Booking
    day = next_weekday(3)
    start = slots_for(client, day)[0]["start"]
    booking = book(client, start).get_json()["booking"]
    with app.app_context():  # turn it into a hold, as an online payment would
        db.session.execute(update(Booking).where(Booking.id == booking["id"]).values(
            status="pending_payment", hold_expires_at=datetime.now(timezone.utc) + timedelta(minutes=10)))
        db.session.commit()
    assert start not in [s["start"] for s in slots_for(client, day)]
    assert book(client, start, email="late@example.com").status_code == 409
    with app.app_context():
        db.session.execute(update(Booking).where(Booking.id == booking["id"]).values(
            hold_expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
        db.session.commit()
    assert start in [s["start"] for s in slots_for(client, day)]  # no cron needed
    assert book(client, start, email="late@example.com").status_code == 201


def test_an_expert_sets_up_a_pending_session_that_blocks_the_time(app, client, expert):
    day = next_weekday(4)
    start = slots_for(client, day)[2]["start"]
    response = client.post("/api/v1/admin/bookings", headers=expert["headers"], json={
        "service": "intro-call", "start": start, "client": {"name": "Kim", "email": "kim@example.com"}})
    assert response.status_code == 201, response.get_json()
    pending = response.get_json()["booking"]
    assert pending["status"] == "pending" and pending["share_url"].startswith("http://kairos.test/manage/")
    # Pending bookings are inside the overlap guard: a client cannot take the same time.
    assert book(client, start).status_code == 409
    shared = client.post(f"/api/v1/admin/bookings/{pending['id']}/share", headers=expert["headers"]).get_json()
    assert shared["booking"]["share_url"] != pending["share_url"]
    assert client.get(f"/api/v1/manage/{token_of({'manage_url': pending['share_url']})}").status_code == 404
    confirmed = client.post(f"/api/v1/admin/bookings/{pending['id']}/confirm", headers=expert["headers"])
    assert confirmed.get_json()["booking"]["status"] == "confirmed"
    again = client.post(f"/api/v1/admin/bookings/{pending['id']}/confirm", headers=expert["headers"])
    assert again.status_code == 403


def test_a_custom_time_outside_hours_is_allowed_but_never_overlaps(client, expert):
    saturday = next_weekday(5)
    start = f"{saturday.isoformat()}T10:00:00+01:00"
    body = {"service": None, "start": start, "duration_minutes": 45, "custom_time": True,
            "client": {"name": "Lou", "email": "lou@example.com"}}
    assert client.post("/api/v1/admin/bookings", headers=expert["headers"], json=body).status_code == 201
    overlap = {**body, "start": f"{saturday.isoformat()}T10:30:00+01:00"}
    response = client.post("/api/v1/admin/bookings", headers=expert["headers"], json=overlap)
    assert response.status_code == 409
    listed = client.get("/api/v1/admin/bookings?status=pending", headers=expert["headers"]).get_json()["bookings"]
    assert len(listed) == 1 and listed[0]["service"]["slug"] == "one-off"


def test_an_idempotency_key_is_not_derived_from_the_slot(client, expert):
    """A freed slot can be booked again by someone else; keys belong to attempts, not to times."""
    start = slots_for(client, next_weekday(1))[0]["start"]
    first = book(client, start).get_json()["booking"]
    client.post(f"/api/v1/manage/{token_of(first)}/cancel", json={})
    again = book(client, start, email="second@example.com")
    assert again.status_code == 201 and again.get_json()["booking"]["id"] != first["id"]


def test_leads_follow_the_booking(client, expert):
    start = slots_for(client, next_weekday(2))[0]["start"]
    booking = book(client, start).get_json()["booking"]
    leads = client.get("/api/v1/admin/leads", headers=expert["headers"]).get_json()["leads"]
    assert [(l["status"], l["client"]["email"]) for l in leads] == [("booked", "ann@example.com")]
    client.post(f"/api/v1/manage/{token_of(booking)}/cancel", json={})
    leads = client.get("/api/v1/admin/leads", headers=expert["headers"]).get_json()["leads"]
    assert leads[0]["status"] == "booked"  # a cancellation does not close the lead
