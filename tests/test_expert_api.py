"""The expert API: tokens, profile, services and availability."""
from __future__ import annotations

import pytest


def test_requests_without_a_valid_token_are_401(client, expert):
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        response = client.get("/api/v1/admin/profile", headers=headers)
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "unauthorized"
    # Authentication comes before validation: no hints about the schema to strangers.
    assert client.post("/api/v1/admin/services", json={}).status_code == 401


def test_tokens_are_stored_hashed(app, expert):
    from sqlalchemy import select

    from backend.extensions import db
    from backend.models import ApiToken
    with app.app_context():
        stored = db.session.scalar(select(ApiToken.token_hash))
    assert expert["token"] not in stored


def test_profile_read_and_patch(client, expert):
    h = expert["headers"]
    assert client.get("/api/v1/admin/profile", headers=h).get_json()["slug"] == "jane"
    response = client.patch("/api/v1/admin/profile", headers=h, json={
        "bio": "Coach", "brand_color": "#112233", "timezone": "America/New_York",
        "allowed_origins": ["https://Jane.example.com/"]})
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["brand_color"] == "#112233" and body["allowed_origins"] == ["https://jane.example.com"]
    bad = client.patch("/api/v1/admin/profile", headers=h, json={
        "brand_color": "blue", "timezone": "Paris", "allowed_origins": ["https://x.com/path"]})
    assert bad.status_code == 422
    assert {"brand_color", "timezone", "allowed_origins.0"} <= set(bad.get_json()["error"]["fields"])


def test_service_lifecycle(client, expert):
    h = expert["headers"]
    created = client.post("/api/v1/admin/services", headers=h, json={
        "slug": "deep-dive", "name": "Deep dive", "duration_minutes": 90, "visibility": "unlisted",
        "buffer_after_minutes": 15, "policy": {"cutoff_hours": 48}})
    assert created.status_code == 201, created.get_json()
    service = created.get_json()["service"]
    assert service["policy"] == {"client_can_cancel": True, "client_can_reschedule": True,
                                 "cutoff_hours": 48, "refund": "full"}
    # Unlisted: reachable by direct link, not on the booking page.
    assert client.get("/api/v1/experts/jane/services/deep-dive").status_code == 200
    assert "deep-dive" not in [s["slug"] for s in client.get("/api/v1/experts/jane").get_json()["services"]]
    patched = client.patch("/api/v1/admin/services/deep-dive", headers=h, json={"duration_minutes": 60})
    assert patched.get_json()["service"]["duration_minutes"] == 60
    clash = client.post("/api/v1/admin/services", headers=h, json={
        "slug": "deep-dive", "name": "Again", "duration_minutes": 30})
    assert clash.status_code == 422 and "slug" in clash.get_json()["error"]["fields"]
    assert client.delete("/api/v1/admin/services/deep-dive", headers=h).status_code == 204
    assert client.get("/api/v1/admin/services/deep-dive", headers=h).status_code == 404


@pytest.mark.parametrize("body, field", [
    ({"slug": "Bad Slug", "name": "x", "duration_minutes": 30}, "slug"),
    ({"slug": "x", "name": "x", "duration_minutes": "30"}, "duration_minutes"),
    ({"slug": "x", "name": "x", "duration_minutes": 30, "payment_options": ["online"],
      "price": {"amount": 5000, "currency": "usd"}}, "payment_options"),
    ({"slug": "x", "name": "x", "duration_minutes": 30, "payment_options": ["outside"]}, "price"),
    ({"slug": "x", "name": "x", "duration_minutes": 30, "kind": "webinar"}, "kind"),
])
def test_bad_services_are_refused(client, expert, body, field):
    response = client.post("/api/v1/admin/services", headers=expert["headers"], json=body)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"], response.get_json()


def test_availability_round_trip_and_validation(client, expert):
    h = expert["headers"]
    body = {"timezone": "Europe/London", "weekly": {"mon": [["13:00", "17:00"], ["09:00", "12:00"]]},
            "overrides": [{"date": "2026-12-24", "intervals": []}, {"date": "2026-12-27", "intervals": [["10:00", "24:00"]]}]}
    response = client.put("/api/v1/admin/availability", headers=h, json=body)
    assert response.status_code == 200, response.get_json()
    got = client.get("/api/v1/admin/availability", headers=h).get_json()
    assert got["weekly"]["mon"] == [["09:00", "12:00"], ["13:00", "17:00"]]
    assert got["overrides"][0] == {"date": "2026-12-24", "intervals": []}
    for bad in ({"timezone": "Europe/London", "weekly": {"mon": [["12:00", "09:00"]]}},
                {"timezone": "Europe/London", "weekly": {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]}},
                {"timezone": "Europe/London", "weekly": {"funday": [["09:00", "12:00"]]}},
                {"timezone": "Europe/London", "weekly": {"mon": [["9am", "12:00"]]}},
                {"timezone": "London", "weekly": {}}):
        response = client.put("/api/v1/admin/availability", headers=h, json=bad)
        assert response.status_code == 422, bad
    assert client.get("/api/v1/admin/availability", headers=h).get_json() == got


def test_create_expert_command_prints_the_token_last(app):
    runner = app.test_cli_runner()
    from backend.cli import create_expert
    result = runner.invoke(create_expert, ["sam", "--email", "sam@example.com", "--name", "Sam",
                                           "--timezone", "Asia/Kolkata"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    client = app.test_client()
    profile = client.get("/api/v1/admin/profile", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert profile["slug"] == "sam" and profile["timezone"] == "Asia/Kolkata"
    bad = runner.invoke(create_expert, ["sam2", "--email", "s@x.com", "--name", "S", "--timezone", "Nowhere"])
    assert bad.exit_code != 0 and "timezone" in bad.output



def test_set_password_command_asks_twice_refuses_bad_input_and_lets_the_expert_sign_in(app, expert):
    from backend.cli import set_password
    from backend.extensions import db
    from backend.services import experts
    runner = app.test_cli_runner()
    short = runner.invoke(set_password, ["jane"], input="short\nshort\n")
    assert short.exit_code != 0 and "password" in short.output.lower()
    unknown = runner.invoke(set_password, ["nobody"], input="a-long-password\na-long-password\n")
    assert unknown.exit_code != 0 and "nobody" in unknown.output
    done = runner.invoke(set_password, ["jane"], input="a-long-password\na-long-password\n")
    assert done.exit_code == 0, done.output
    assert "a-long-password" not in done.output  # typed, never echoed
    with app.app_context():
        assert experts.authenticate(db.session, "jane@example.com", "a-long-password") is not None
        assert experts.authenticate(db.session, "jane@example.com", "short") is None

def _demo_token(app) -> dict[str, str]:
    """A fresh API token of the demo expert (the seed prints one only the first time)."""
    from backend.extensions import db
    from backend.services import experts
    with app.app_context():
        token = experts.issue_token(db.session, experts.get_expert(db.session, "demo"))
        db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_demo_seed_is_safe_twice(app):
    from backend.cli import demo
    runner = app.test_cli_runner()
    assert runner.invoke(demo).exit_code == 0
    second = runner.invoke(demo)
    assert second.exit_code == 0
    client = app.test_client()
    services = client.get("/api/v1/experts/demo").get_json()["services"]
    # Every kind of the product, once, however often it is seeded (the follow-up is unlisted).
    assert [s["slug"] for s in services] == ["intro-call", "coaching-session", "quick-question", "strategy-session",
                                             "saturday-workshop", "career-change-course", "headshot-minis"]
    assert [s["kind"] for s in services][4:] == ["group", "series", "mini"]
    token = _demo_token(app)
    minis = client.get("/api/v1/admin/services/headshot-minis/sessions", headers=token).get_json()["sessions"]
    assert len(minis) == 6 and {m["location"]["name"] for m in minis} == {"Riverside Park", "Harbour Studio"}
    workshop = client.get("/api/v1/admin/services/saturday-workshop/sessions", headers=token).get_json()["sessions"]
    assert len(workshop) == 3
    paid = services[3]
    assert paid["price"] == {"amount": 9000, "currency": "usd"}
    assert paid["payment_options"] == ["outside"]  # no Stripe keys here: online cannot be offered


# ---- bad input found by fuzzing the OpenAPI document (schemathesis): each was a 500 -----------------

def test_a_patch_with_an_incomplete_price_is_a_422_and_changes_nothing(client, expert):
    h = expert["headers"]
    client.post("/api/v1/admin/services", headers=h, json={
        "slug": "paid", "name": "Paid", "duration_minutes": 30, "price": {"amount": 5000, "currency": "EUR"}})
    for price in ({}, {"amount": 100}, {"currency": "usd"}):
        response = client.patch("/api/v1/admin/services/paid", headers=h, json={"price": price, "name": "Changed"})
        assert response.status_code == 422, response.get_json()
        assert any(f.startswith("price") for f in response.get_json()["error"]["fields"])
    service = client.get("/api/v1/admin/services/paid", headers=h).get_json()["service"]
    assert service["name"] == "Paid" and service["price"] == {"amount": 5000, "currency": "eur"}
    # Top-level fields stay optional in a PATCH; a whole nested object is accepted.
    ok = client.patch("/api/v1/admin/services/paid", headers=h, json={"price": {"amount": 6000, "currency": "EUR"}})
    assert ok.status_code == 200 and ok.get_json()["service"]["price"]["amount"] == 6000


def test_an_override_without_a_date_is_a_422(client, expert):
    response = client.put("/api/v1/admin/availability", headers=expert["headers"], json={
        "timezone": "Europe/Paris", "weekly": {}, "overrides": [{"intervals": []}]})
    assert response.status_code == 422
    assert "overrides.0.date" in response.get_json()["error"]["fields"]


@pytest.mark.parametrize("path", ["/api/v1/admin/clients/{}/packages", "/api/v1/admin/outbox/{}/retry"])
def test_an_id_too_large_for_the_database_is_a_404(client, expert, path):
    for number in (2**31, 409082154827814404096):
        response = client.post(path.format(number), headers=expert["headers"], json={"credits": 3, "name": "Pack"})
        assert response.status_code == 404, response.get_json()
        assert response.get_json()["error"]["code"] == "not_found"


def test_the_bookings_list_comes_a_page_at_a_time_without_gaps_or_repeats(client, expert):
    from tests.conftest import next_weekday
    from tests.test_booking_api import book, slots_for
    h = expert["headers"]
    starts = [s["start"] for s in slots_for(client, next_weekday(2))[:5]]
    for i, start in enumerate(starts):
        assert book(client, start, email=f"c{i}@example.com").status_code == 201
    seen, cursor, pages = [], None, 0
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(f"/api/v1/admin/bookings{query}", headers=h).get_json()
        seen += [b["id"] for b in page["bookings"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        # A booking made between pages does not disturb the paging (it starts later than the cursor).
        if pages == 1:
            later = slots_for(client, next_weekday(2, weeks=2))[0]["start"]
            assert book(client, later, email="late@example.com").status_code == 201
    everything = client.get("/api/v1/admin/bookings", headers=h).get_json()
    assert everything["next_cursor"] is None and len(everything["bookings"]) == 6
    assert pages == 3 and len(seen) == len(set(seen)) == 5
    starts_seen = [b["start"] for b in everything["bookings"]]
    assert starts_seen == sorted(starts_seen, reverse=True)  # newest start first
    for bad in ("nope", "bm9wZQ", "x" * 40):
        response = client.get(f"/api/v1/admin/bookings?cursor={bad}", headers=h)
        assert response.status_code == 422 and "cursor" in response.get_json()["error"]["fields"]
    assert client.get("/api/v1/admin/bookings?limit=0", headers=h).status_code == 422


def test_clients_and_leads_come_a_page_at_a_time_too(client, expert):
    from tests.conftest import next_weekday
    from tests.test_booking_api import slots_for
    h = expert["headers"]
    starts = [s["start"] for s in slots_for(client, next_weekday(2))[:5]]
    for i, start in enumerate(starts):  # two clients share a name: the id breaks the tie
        name = "Same Name" if i < 2 else f"Client {i}"
        made = client.post("/api/v1/experts/jane/services/intro-call/bookings", json={
            "start": start, "timezone": "UTC", "client": {"name": name, "email": f"c{i}@example.com"}})
        assert made.status_code == 201

    def walk(path: str, key: str) -> tuple[list, int]:
        seen, cursor, pages = [], None, 0
        while True:
            body = client.get(f"{path}?limit=2" + (f"&cursor={cursor}" if cursor else ""), headers=h).get_json()
            seen += body[key]
            pages += 1
            cursor = body["next_cursor"]
            if cursor is None:
                return seen, pages

    clients, pages = walk("/api/v1/admin/clients", "clients")
    assert pages == 3 and len({c["id"] for c in clients}) == 5
    assert [c["name"] for c in clients] == sorted(c["name"] for c in clients)
    found_leads, pages = walk("/api/v1/admin/leads", "leads")
    assert pages == 3 and len({lead["id"] for lead in found_leads}) == 5
    # A cursor from one list means nothing to another.
    bookings_cursor = client.get("/api/v1/admin/bookings?limit=1", headers=h).get_json()["next_cursor"]
    wrong = client.get(f"/api/v1/admin/clients?cursor={bookings_cursor}", headers=h)
    assert wrong.status_code == 422 and "cursor" in wrong.get_json()["error"]["fields"]
