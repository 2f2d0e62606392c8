"""Sessions the expert sets up, completed by the client through the link (SQLite and PostgreSQL).

The expert sets up a session for Ann; Ann opens the link, answers, chooses how to pay and completes
it; the expert hears of it. Card payments are in tests/test_completion_payments.py, the race between
the client and the expert in tests/test_completion_race.py.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from backend.extensions import db
from backend.models import Booking, BookingEvent, Lead, OutboxMessage
from tests.conftest import next_weekday
from tests.test_booking_api import slots_for

PARIS = ZoneInfo("Europe/Paris")


def at(hour: int, weekday: int = 1, weeks: int = 1) -> str:
    day = next_weekday(weekday, weeks=weeks)
    return datetime(day.year, day.month, day.day, hour, tzinfo=PARIS).isoformat()


def strategy_service(client, expert, **changes) -> None:
    body = {"slug": "strategy", "name": "Strategy session", "duration_minutes": 60, "slot_interval_minutes": 60,
            "price": {"amount": 12000, "currency": "eur"}, "payment_options": ["outside"],
            "outside_payment_instructions": "Bank transfer to FR76 1234, reference your name.",
            "questions": [{"id": "goal", "label": "What do you want to work on?", "required": True},
                          {"id": "level", "label": "Level", "type": "select", "options": ["new", "seasoned"]}],
            "phone": "required", "max_advance_days": 90, "location": {"type": "video", "url": "https://meet.example.com/j"}}
    body.update(changes)
    response = client.post("/api/v1/admin/services", headers=expert["headers"], json=body)
    assert response.status_code == 201, response.get_json()


def set_up(client, expert, **body) -> dict:
    body = {"service": "strategy", "start": at(10), "client": {"name": "Ann Lee", "email": "ann@example.com"}, **body}
    response = client.post("/api/v1/admin/bookings", headers=expert["headers"], json=body)
    assert response.status_code == 201, response.get_json()
    booking = response.get_json()["booking"]
    assert booking["status"] == "pending"
    return booking


def token_of(booking: dict) -> str:
    return (booking.get("share_url") or booking["manage_url"]).rsplit("/manage/", 1)[1]


def complete(client, booking: dict, **body):
    return client.post(f"/api/v1/manage/{token_of(booking)}/complete", json=body)


def rows(app, model, *where):
    with app.app_context():
        return list(db.session.scalars(select(model).where(*where)))


def outbox(app, booking_id: str) -> list[tuple[str, str]]:
    return [(m.kind, m.topic) for m in rows(app, OutboxMessage) if m.payload.get("booking_id") == booking_id]


def history(app, booking_id: str) -> list[tuple[str, str]]:
    return [(e.type, e.actor) for e in sorted(rows(app, BookingEvent, BookingEvent.booking_id == booking_id),
                                              key=lambda e: e.id)]


def test_ann_answers_and_completes_the_session_jane_set_up(app, client, expert):
    strategy_service(client, expert)
    hook = client.post("/api/v1/admin/webhooks", headers=expert["headers"],
                       json={"url": "https://hooks.example.com/kairos", "events": ["booking.confirmed"]})
    assert hook.status_code == 201, hook.get_json()
    booking = set_up(client, expert)

    view = client.get(f"/api/v1/manage/{token_of(booking)}").get_json()
    assert view["can_complete"] is True
    assert view["completion"]["price"] == {"amount": 12000, "currency": "eur"}
    assert view["completion"]["payment_options"] == ["outside"]
    assert view["completion"]["phone"] == "required" and view["completion"]["message"] is True
    assert [q["id"] for q in view["completion"]["questions"]] == ["goal", "level"]
    assert "Bank transfer" in view["completion"]["outside_payment_instructions"]

    missing = complete(client, booking, answers={"level": "expert"}, payment_option="outside")
    assert missing.status_code == 422
    fields = missing.get_json()["error"]["fields"]
    assert set(fields) == {"answers.goal", "answers.level", "phone"}
    assert client.get(f"/api/v1/manage/{token_of(booking)}").get_json()["booking"]["status"] == "pending"
    assert history(app, booking["id"]) == [("created", "expert")]  # nothing half-written

    done = complete(client, booking, answers={"goal": "Pricing", "level": "new"}, payment_option="outside",
                    phone="+33 6 12 34 56 78", message="See you then")
    assert done.status_code == 200, done.get_json()
    confirmed = done.get_json()["booking"]
    assert confirmed["status"] == "confirmed"
    assert confirmed["answers"] == {"goal": "Pricing", "level": "new"} and confirmed["message"] == "See you then"
    assert confirmed["payment"]["option"] == "outside" and confirmed["payment"]["status"] == "pay_outside"
    assert history(app, booking["id"]) == [("created", "expert"), ("completed", "client")]
    [lead] = rows(app, Lead)
    assert lead.status == "booked"
    sent = outbox(app, booking["id"])
    assert ("email", "booking_confirmed") in sent and ("email", "expert_booking_completed") in sent
    assert ("webhook", "booking.confirmed") in sent
    assert ("email", "expert_booking_created") not in sent

    again = complete(client, booking, answers={"goal": "Pricing"}, payment_option="outside", phone="+33 6")
    assert again.status_code == 403
    assert again.get_json()["error"]["code"] == "not_allowed" and again.get_json()["error"]["reason"] == "not_pending"
    view = client.get(f"/api/v1/manage/{token_of(booking)}").get_json()
    assert view["can_complete"] is False and "completion" not in view


def test_the_expert_is_told_who_completed_it_and_the_client_gets_the_ics(app, client, expert):
    from backend.links import links_for
    from backend.notifications import emails
    strategy_service(client, expert, phone="optional", questions=[])
    booking = set_up(client, expert)
    assert complete(client, booking, payment_option="outside").status_code == 200
    with app.app_context():
        row = db.session.get(Booking, booking["id"])
        links = links_for(app.config["KAIROS"])
        messages = {m.topic: m for m in db.session.scalars(select(OutboxMessage))}
        to_expert = emails.build("expert_booking_completed", messages["expert_booking_completed"].payload, row, links)
        to_client = emails.build("booking_confirmed", messages["booking_confirmed"].payload, row, links)
    assert to_expert["Subject"].startswith("Ann Lee completed the session you set up: Strategy session")
    assert "Ann Lee completed the session you set up" in to_expert.get_body(("plain",)).get_content()
    assert any(part.get_content_type() == "text/calendar" for part in to_client.iter_attachments())


def test_a_one_off_has_its_own_title_price_and_payment_options(app, client, expert):
    booking = set_up(client, expert, service=None, name="Portfolio review", duration_minutes=45, custom_time=True,
                     price={"amount": 8000, "currency": "EUR"}, payment_options=["outside"])
    assert booking["service"]["name"] == "Portfolio review"
    assert datetime.fromisoformat(booking["end"]) - datetime.fromisoformat(booking["start"]) == timedelta(minutes=45)
    view = client.get(f"/api/v1/manage/{token_of(booking)}").get_json()
    assert view["completion"]["price"] == {"amount": 8000, "currency": "eur"}
    assert view["completion"]["payment_options"] == ["outside"] and view["completion"]["questions"] == []
    wrong = complete(client, booking, payment_option="online")
    assert wrong.status_code == 422 and "payment_option" in wrong.get_json()["error"]["fields"]
    done = complete(client, booking)  # the only option is taken when none is sent
    assert done.status_code == 200 and done.get_json()["booking"]["status"] == "confirmed"
    assert done.get_json()["booking"]["payment"]["amount"] == 8000

    free = set_up(client, expert, service=None, name="Quick check-in", start=at(15), duration_minutes=30)
    assert client.get(f"/api/v1/manage/{token_of(free)}").get_json()["completion"]["price"] is None
    refused = complete(client, free, payment_option="outside")
    assert refused.status_code == 422 and "payment_option" in refused.get_json()["error"]["fields"]
    assert complete(client, free).get_json()["booking"]["status"] == "confirmed"


def test_one_off_terms_are_checked(client, expert):
    strategy_service(client, expert)
    base = {"start": at(11), "client": {"name": "Ann", "email": "ann@example.com"}}

    def post(**body):
        return client.post("/api/v1/admin/bookings", headers=expert["headers"], json={**base, **body})

    def fields(response):
        assert response.status_code == 422, response.get_json()
        return set(response.get_json()["error"]["fields"])

    assert fields(post(service=None, price={"amount": 5000, "currency": "eur"})) == {"payment_options"}
    assert fields(post(service=None, payment_options=["online"])) == {"payment_options"}
    assert fields(post(service=None, price={"amount": 5000, "currency": "eur"}, payment_options=["package"])) \
        == {"payment_options.0"}
    assert fields(post(service="strategy", price={"amount": 1, "currency": "eur"})) == {"price"}
    past = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
    assert fields(post(service="strategy", expires_at=past)) == {"expires_at"}
    assert fields(post(service="strategy", expires_at=at(12))) == {"expires_at"}  # after the session starts


def test_a_lapsed_offer_says_so_and_frees_the_time(app, client, expert):
    day = next_weekday(2)
    start = slots_for(client, day)[0]["start"]
    expires = (datetime.now(timezone.utc) + timedelta(hours=2)).replace(microsecond=0).isoformat()
    booking = set_up(client, expert, service="intro-call", start=start, expires_at=expires)
    assert datetime.fromisoformat(booking["expires_at"]) == datetime.fromisoformat(expires)
    assert start not in [s["start"] for s in slots_for(client, day)]  # reserved for Ann meanwhile

    with app.app_context():
        db.session.execute(update(Booking).where(Booking.id == booking["id"])
                           .values(expires_at=datetime.now(timezone.utc) - timedelta(minutes=1)))
        db.session.commit()
    view = client.get(f"/api/v1/manage/{token_of(booking)}").get_json()
    assert view["can_complete"] is False and view["reason"] == "lapsed" and "lapsed" in view["reason_text"]
    assert view["can_cancel"] is False
    late = complete(client, booking)
    assert late.status_code == 403 and late.get_json()["error"]["reason"] == "lapsed"
    assert start in [s["start"] for s in slots_for(client, day)]  # the time is free again

    shared = client.post(f"/api/v1/admin/bookings/{booking['id']}/share", headers=expert["headers"], json={})
    assert shared.status_code == 200, shared.get_json()
    fresh = shared.get_json()["booking"]
    assert "expires_at" not in fresh  # reopened without an expiry
    assert start not in [s["start"] for s in slots_for(client, day)]
    assert complete(client, fresh).get_json()["booking"]["status"] == "confirmed"


def test_a_lapsed_offer_whose_time_was_taken_cannot_be_shared_again(app, client, expert):
    from tests.test_booking_api import book
    day = next_weekday(3)
    start = slots_for(client, day)[0]["start"]
    expires = (datetime.now(timezone.utc) + timedelta(hours=2)).replace(microsecond=0).isoformat()
    booking = set_up(client, expert, service="intro-call", start=start, expires_at=expires)
    with app.app_context():
        db.session.execute(update(Booking).where(Booking.id == booking["id"])
                           .values(expires_at=datetime.now(timezone.utc) - timedelta(minutes=1)))
        db.session.commit()
    assert book(client, start, email="bob@example.com").status_code == 201
    shared = client.post(f"/api/v1/admin/bookings/{booking['id']}/share", headers=expert["headers"], json={})
    assert shared.status_code == 409 and shared.get_json()["error"]["code"] == "slot_unavailable"
    assert complete(client, booking).get_json()["error"]["reason"] == "lapsed"


def test_a_completion_after_the_expert_confirmed_or_cancelled_is_refused(app, client, expert):
    strategy_service(client, expert, phone="optional", questions=[])
    confirmed = set_up(client, expert)
    assert client.post(f"/api/v1/admin/bookings/{confirmed['id']}/confirm", headers=expert["headers"]).status_code == 200
    refused = complete(client, confirmed, payment_option="outside")
    assert refused.status_code == 403 and refused.get_json()["error"]["reason"] == "not_pending"

    cancelled = set_up(client, expert, start=at(14))
    assert client.post(f"/api/v1/admin/bookings/{cancelled['id']}/cancel", headers=expert["headers"],
                       json={"reason": "Ill"}).status_code == 200
    refused = complete(client, cancelled, payment_option="outside")
    assert refused.status_code == 403 and refused.get_json()["error"]["reason"] == "not_pending"
    assert client.get(f"/api/v1/manage/{token_of(cancelled)}").get_json()["can_complete"] is False


def test_outside_payment_the_expert_confirms_by_hand_stays_pending(app, client, expert):
    strategy_service(client, expert, phone="optional", questions=[], outside_payment_status="pending")
    booking = set_up(client, expert)
    done = complete(client, booking, payment_option="outside")
    assert done.status_code == 200 and done.get_json()["booking"]["status"] == "pending"
    assert client.get(f"/api/v1/manage/{token_of(booking)}").get_json()["can_complete"] is False
    assert complete(client, booking, payment_option="outside").get_json()["error"]["reason"] == "not_pending"
    assert ("email", "booking_confirmed") not in outbox(app, booking["id"])


def test_a_package_credit_pays_for_the_session(app, client, expert):
    from backend.models import Client, Expert
    from backend.payments import packages
    strategy_service(client, expert, phone="optional", questions=[], payment_options=["package", "outside"])
    booking = set_up(client, expert)
    no_credit = complete(client, booking, payment_option="package")
    assert no_credit.status_code == 403 and no_credit.get_json()["error"]["reason"] == "no_package_credit"
    assert history(app, booking["id"]) == [("created", "expert")]  # nothing half-written
    assert client.get(f"/api/v1/manage/{token_of(booking)}").get_json()["can_complete"] is True
    with app.app_context():
        jane = db.session.scalar(select(Expert).where(Expert.slug == "jane"))
        ann = db.session.scalar(select(Client).where(Client.email_key == "ann@example.com"))
        packages.grant(db.session, jane, ann, name="Five sessions", service_slugs=["strategy"], credits=5,
                       expires_at=None)
        db.session.commit()
    done = complete(client, booking, payment_option="package")
    assert done.status_code == 200, done.get_json()
    paid = done.get_json()["booking"]
    assert paid["status"] == "confirmed" and paid["payment"]["package"]["credits_left"] == 4


def test_the_clients_zone_is_kept_for_their_emails_and_a_bad_one_is_refused(app, client, expert):
    booking = set_up(client, expert, service="intro-call", start=slots_for(client, next_weekday(4))[0]["start"])
    bad = complete(client, booking, timezone="Mars/Olympus")
    assert bad.status_code == 422 and "timezone" in bad.get_json()["error"]["fields"]
    done = complete(client, booking, timezone="America/New_York")
    assert done.status_code == 200
    confirmed = done.get_json()["booking"]
    assert confirmed["timezone"] == "America/New_York" and confirmed["start"].endswith("-05:00")
    [email] = [m for m in rows(app, OutboxMessage) if m.topic == "booking_confirmed"]
    assert email.payload["timezone"] == "America/New_York"
