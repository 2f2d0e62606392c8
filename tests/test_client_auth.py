"""Existing clients sign in with an emailed code, and only they see clients-only services
(SQLite and PostgreSQL)."""
from __future__ import annotations

import statistics
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from backend.extensions import db
from backend.models import Client, ClientLoginCode, OutboxMessage
from backend.types import utcnow
from tests.conftest import next_weekday
from tests.test_booking_api import book, slots_for


@pytest.fixture
def app_env() -> dict[str, str]:
    return {"KAIROS_RATE_LIMITS": "booking=0,client_auth=0,client_auth_email=0"}


def last_code(app, email: str) -> dict:
    """What the sign-in email says (the outbox row the worker sends)."""
    with app.app_context():
        row = db.session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "client_sign_in")
                                 .order_by(OutboxMessage.id.desc())).first()
        assert row is not None and row.payload["to"].casefold() == email.casefold()
        return dict(row.payload)


def sign_in(client, app, email: str, expert: str = "jane") -> str:
    assert client.post(f"/api/v1/experts/{expert}/client-auth/start", json={"email": email}).status_code == 202
    code = last_code(app, email)["code"]
    response = client.post(f"/api/v1/experts/{expert}/client-auth/verify", json={"email": email, "code": code})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["client_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def first_start(client) -> str:
    return slots_for(client, next_weekday(1))[0]["start"]


def test_a_client_signs_in_with_the_code_once_and_the_other_case_is_the_same_client(app, client, expert):
    assert book(client, first_start(client), email="Ann.Lee@Example.com").status_code == 201
    response = client.post("/api/v1/experts/jane/client-auth/start", json={"email": "ann.lee@example.COM"})
    assert response.status_code == 202 and response.get_json() == {"sent": True}
    sent = last_code(app, "ann.lee@example.com")
    assert len(sent["code"]) == 6 and sent["code"].isdigit() and "/book/jane?signin=" in sent["link"]
    with app.app_context():  # stored hashed, never the code itself
        row = db.session.scalars(select(ClientLoginCode)).one()
        assert sent["code"] not in row.code_hash and row.link_hash != sent["link"].rsplit("=", 1)[1]

    verified = client.post("/api/v1/experts/jane/client-auth/verify",
                           json={"email": "ANN.LEE@example.com", "code": sent["code"]})
    assert verified.status_code == 200, verified.get_json()
    body = verified.get_json()
    assert body["client"] == {"name": "Ann Lee", "email": "Ann.Lee@Example.com"}
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(Client)) == 1

    again = client.post("/api/v1/experts/jane/client-auth/verify",
                        json={"email": "ann.lee@example.com", "code": sent["code"]})
    assert again.status_code == 401 and again.get_json()["error"]["code"] == "unauthorized"

    me = client.get("/api/v1/experts/jane/client-auth/me", headers=bearer(body["client_token"]))
    assert me.status_code == 200, me.get_json()
    mine = me.get_json()
    assert mine["client"]["email"] == "Ann.Lee@Example.com"
    assert [b["manage_url"].startswith("http://kairos.test/manage/") for b in mine["bookings"]] == [True]
    assert mine["packages"] == [] and mine["cards"] == []

    # Booking signed in: no name or email, and it is Ann's.
    later = slots_for(client, next_weekday(2))[0]["start"]
    booked = client.post("/api/v1/experts/jane/services/intro-call/bookings", headers=bearer(body["client_token"]),
                         json={"start": later, "timezone": "Europe/Paris"})
    assert booked.status_code == 201, booked.get_json()
    assert booked.get_json()["booking"]["client"]["email"] == "Ann.Lee@Example.com"
    anonymous = client.post("/api/v1/experts/jane/services/intro-call/bookings",
                            json={"start": slots_for(client, next_weekday(3))[0]["start"], "timezone": "Europe/Paris"})
    assert anonymous.status_code == 422 and "client" in anonymous.get_json()["error"]["fields"]

    out = client.post("/api/v1/experts/jane/client-auth/sign-out", headers=bearer(body["client_token"]))
    assert out.status_code == 204
    assert client.get("/api/v1/experts/jane/client-auth/me", headers=bearer(body["client_token"])).status_code == 401


def test_the_link_signs_in_once(app, client, expert):
    client.post("/api/v1/experts/jane/client-auth/start", json={"email": "bo@example.com"})
    link = last_code(app, "bo@example.com")["link"].rsplit("signin=", 1)[1]
    first = client.post("/api/v1/experts/jane/client-auth/verify", json={"link_token": link})
    assert first.status_code == 200 and first.get_json()["client"]["email"] == "bo@example.com"
    assert client.post("/api/v1/experts/jane/client-auth/verify", json={"link_token": link}).status_code == 401


def test_a_code_expires_and_dies_after_five_wrong_tries(app, client, expert):
    client.post("/api/v1/experts/jane/client-auth/start", json={"email": "cy@example.com"})
    code = last_code(app, "cy@example.com")["code"]
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        answer = client.post("/api/v1/experts/jane/client-auth/verify", json={"email": "cy@example.com", "code": wrong})
        assert answer.status_code == 401
    dead = client.post("/api/v1/experts/jane/client-auth/verify", json={"email": "cy@example.com", "code": code})
    assert dead.status_code == 401, "the right code after 5 wrong ones must not work"

    client.post("/api/v1/experts/jane/client-auth/start", json={"email": "cy@example.com"})
    code = last_code(app, "cy@example.com")["code"]
    with app.app_context():  # 15 minutes pass
        db.session.execute(update(ClientLoginCode).where(ClientLoginCode.used_at.is_(None))
                           .values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    expired = client.post("/api/v1/experts/jane/client-auth/verify", json={"email": "cy@example.com", "code": code})
    assert expired.status_code == 401


def test_known_and_unknown_emails_get_the_same_answer_in_the_same_time(app, client, expert):
    assert book(client, first_start(client), email="known@example.com").status_code == 201

    def timed(email: str) -> tuple[int, dict, float]:
        began = time.perf_counter()
        response = client.post("/api/v1/experts/jane/client-auth/start", json={"email": email})
        return response.status_code, response.get_json(), time.perf_counter() - began

    known = [timed("known@example.com") for _ in range(5)]
    unknown = [timed(f"nobody{i}@example.com") for i in range(5)]
    assert {(s, str(b)) for s, b, _ in known} == {(s, str(b)) for s, b, _ in unknown} == {(202, "{'sent': True}")}
    fast, slow = sorted([statistics.median(t for *_, t in known), statistics.median(t for *_, t in unknown)])
    assert slow < fast * 4 + 0.05, (fast, slow)  # same work for both: one code row, one email
    with app.app_context():
        topics = db.session.scalars(select(OutboxMessage.payload).where(OutboxMessage.topic == "client_sign_in")).all()
        assert len(topics) == 10


def test_the_start_endpoint_is_rate_limited_per_email(app, client, expert):
    app.config["KAIROS_RATE_LIMITS"] = {"client_auth_email": 2}
    answers = [client.post("/api/v1/experts/jane/client-auth/start", json={"email": "Dee@example.com"}).status_code
               for _ in range(2)]
    answers.append(client.post("/api/v1/experts/jane/client-auth/start",
                               json={"email": "dee@EXAMPLE.com"}).status_code)
    assert answers == [202, 202, 429]
    assert client.post("/api/v1/experts/jane/client-auth/start", json={"email": "eve@example.com"}).status_code == 202


def make_clients_only(client, expert, slug: str = "inner-circle") -> None:
    response = client.post("/api/v1/admin/services", headers=expert["headers"], json={
        "slug": slug, "name": "Inner circle", "duration_minutes": 60, "slot_interval_minutes": 60,
        "visibility": "clients", "location": {"type": "video", "url": "https://meet.example.com/x"},
        "max_advance_days": 90})
    assert response.status_code == 201, response.get_json()


def test_a_signed_out_visitor_sees_nothing_of_a_clients_only_service(app, client, expert):
    make_clients_only(client, expert)
    day = next_weekday(1).isoformat()
    paths = [("get", "/api/v1/experts/jane/services/inner-circle", None),
             ("get", f"/api/v1/experts/jane/services/inner-circle/slots?start={day}&end={day}&timezone=Europe/Paris",
              None),
             ("post", "/api/v1/experts/jane/services/inner-circle/bookings",
              {"start": f"{day}T09:00:00+01:00", "timezone": "Europe/Paris",
               "client": {"name": "Zed", "email": "zed@example.com"}})]
    for method, path, body in paths:
        response = getattr(client, method)(path, json=body) if body else getattr(client, method)(path)
        assert response.status_code == 401, path
        assert response.get_json()["error"]["code"] == "sign_in_required"
        assert "Inner" not in response.get_data(as_text=True) and "slots" not in response.get_json()
    page = client.get("/api/v1/experts/jane").get_json()
    assert [s["slug"] for s in page["services"]] == ["intro-call"]

    # Signed in but never booked: still not a client.
    stranger = sign_in(client, app, "zed@example.com")
    assert client.get("/api/v1/experts/jane/services/inner-circle", headers=bearer(stranger)).status_code == 401

    # A client (a confirmed booking) sees it, books it, and finds it on the booking page.
    assert book(client, first_start(client), email="ann@example.com").status_code == 201
    token = sign_in(client, app, "ann@example.com")
    assert client.get("/api/v1/experts/jane/services/inner-circle", headers=bearer(token)).status_code == 200
    found = client.get("/api/v1/experts/jane/services/inner-circle/slots", headers=bearer(token),
                       query_string={"start": day, "end": day, "timezone": "Europe/Paris"})
    assert found.status_code == 200 and found.get_json()["slots"]
    booked = client.post("/api/v1/experts/jane/services/inner-circle/bookings", headers=bearer(token),
                         json={"start": found.get_json()["slots"][-1]["start"], "timezone": "Europe/Paris"})
    assert booked.status_code == 201, booked.get_json()
    page = client.get("/api/v1/experts/jane", headers=bearer(token)).get_json()
    assert [s["slug"] for s in page["services"]] == ["intro-call", "inner-circle"]


def test_a_client_of_another_expert_is_not_a_client_here(app, client, expert):
    from backend.services import experts
    with app.app_context():
        _, other_token = experts.create_expert(db.session, "omar", email="omar@example.com", name="Omar",
                                               timezone="Europe/Paris")
        db.session.commit()
    other = {"headers": {"Authorization": f"Bearer {other_token}"}}
    client.put("/api/v1/admin/availability", headers=other["headers"], json={
        "timezone": "Europe/Paris", "weekly": {"tue": [["09:00", "12:00"]]}, "overrides": []})
    make_clients_only(client, other, "private")
    # Ann is Jane's client, signed in at Jane's.
    assert book(client, first_start(client), email="ann@example.com").status_code == 201
    jane_token = sign_in(client, app, "ann@example.com")
    refused = client.get("/api/v1/experts/omar/services/private", headers=bearer(jane_token))
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "sign_in_required"
    # Signed in at Omar's too, she still has no booking there.
    omar_token = sign_in(client, app, "ann@example.com", expert="omar")
    assert client.get("/api/v1/experts/omar/services/private", headers=bearer(omar_token)).status_code == 401


def test_a_clients_only_collection_says_nothing_to_a_signed_out_visitor(app, client, expert):
    make_clients_only(client, expert)
    hidden = client.post("/api/v1/admin/services", headers=expert["headers"], json={
        "slug": "deep-dive", "name": "Deep dive", "duration_minutes": 60, "slot_interval_minutes": 60,
        "visibility": "unlisted", "location": {"type": "video", "url": "https://meet.example.com/x"},
        "max_advance_days": 90})
    assert hidden.status_code == 201
    made = client.post("/api/v1/admin/collections", headers=expert["headers"], json={
        "slug": "alumni", "name": "Alumni corner", "description": "For people I coached",
        "items": [{"service": "deep-dive"}, {"service": "inner-circle"}], "clients_only": True})
    assert made.status_code == 201, made.get_json()
    public = client.post("/api/v1/admin/collections", headers=expert["headers"], json={
        "slug": "start", "name": "Start here", "items": [{"service": "intro-call"}, {"service": "nope"}]})
    assert public.status_code == 422 and "items" in public.get_json()["error"]["fields"]

    day = next_weekday(1).isoformat()
    for path in ("/api/v1/experts/jane/collections/alumni", "/api/v1/experts/jane/services/deep-dive",
                 f"/api/v1/experts/jane/services/deep-dive/slots?start={day}&end={day}&timezone=Europe/Paris"):
        response = client.get(path)
        assert response.status_code == 401 and response.get_json()["error"]["code"] == "sign_in_required", path
        text = response.get_data(as_text=True)
        assert "Alumni" not in text and "Deep" not in text and "deep-dive" not in text
    booking = client.post("/api/v1/experts/jane/services/deep-dive/bookings", json={
        "start": f"{day}T09:00:00+01:00", "timezone": "Europe/Paris",
        "client": {"name": "Zed", "email": "zed@example.com"}})
    assert booking.status_code == 401 and booking.get_json()["error"]["code"] == "sign_in_required"

    assert book(client, first_start(client), email="ann@example.com").status_code == 201
    token = sign_in(client, app, "ann@example.com")
    shown = client.get("/api/v1/experts/jane/collections/alumni", headers=bearer(token))
    assert shown.status_code == 200, shown.get_json()
    body = shown.get_json()["collection"]
    assert body["name"] == "Alumni corner" and [s["slug"] for s in body["services"]] == ["deep-dive", "inner-circle"]
    assert client.get("/api/v1/experts/jane/services/deep-dive", headers=bearer(token)).status_code == 200
    listed = client.get("/api/v1/admin/collections", headers=expert["headers"]).get_json()["collections"]
    assert [c["slug"] for c in listed] == ["alumni"]
    assert client.delete("/api/v1/admin/collections/alumni", headers=expert["headers"]).status_code == 204
