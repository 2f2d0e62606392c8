"""The dashboard pages that set everything up (services, availability, sessions, embedding,
settings, bookings, clients, leads): each change goes through the expert API's schemas and
services, bad input is refused beside its field with nothing changed, every form needs its CSRF
token, and one expert never sees or touches another's things, by id in the URL either."""
from __future__ import annotations

import html
import re
from datetime import date, timedelta

import pytest

from tests.conftest import next_weekday
from tests.test_dashboard import PASSWORD, TOKEN_RE, book, csrf, set_password, slots_for

PAGES = ("/dashboard", "/dashboard/bookings", "/dashboard/services", "/dashboard/services/new",
         "/dashboard/services/intro-call/edit", "/dashboard/availability", "/dashboard/clients", "/dashboard/leads",
         "/dashboard/embed", "/dashboard/embed/preview?mode=floating", "/dashboard/settings",
         "/dashboard/settings/integrations", "/dashboard/sessions/new")


@pytest.fixture
def dash(app, client, expert):
    """Jane, signed in to the dashboard."""
    set_password(app)
    response = client.post("/dashboard/login", data={"email": "jane@example.com", "password": PASSWORD,
                                                     "csrf_token": csrf(client)})
    assert response.status_code == 302
    return client


def token(client, path: str = "/dashboard/services") -> str:
    return TOKEN_RE.search(client.get(path).text).group(1)


def post(client, path: str, data: dict | list, page: str = "/dashboard/services", follow: bool = False):
    """Submit a form the way its page does (with the page's CSRF token)."""
    from werkzeug.datastructures import MultiDict
    items = list(data.items()) if isinstance(data, dict) else list(data)
    return client.post(path, data=MultiDict([("csrf_token", token(client, page)), *items]), follow_redirects=follow)


def admin(client, expert, path: str) -> dict:
    response = client.get("/api/v1/admin" + path, headers=expert["headers"])
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def error_beside(page: str, field: str) -> str:
    """The message shown beside ``field`` (the element the field's aria-describedby names)."""
    match = re.search(rf'<p class="field-error" id="err-{re.escape(field.replace(".", "-"))}">([^<]*)</p>', page)
    assert match, f"no error beside {field}"
    return match.group(1)


def test_every_page_opens_with_the_navigation(dash):
    for path in PAGES:
        page = dash.get(path)
        assert page.status_code == 200, (path, page.status_code)
        if "preview" not in path:
            assert 'aria-label="Dashboard"' in page.text and "Embed &amp; links" in page.text, path
    assert 'aria-current="page">Services' in dash.get("/dashboard/services").text


def test_signed_out_pages_go_to_sign_in(client, expert):
    for path in PAGES:
        assert client.get(path).headers["Location"] == "/dashboard/login", path


def form_post(client, path: str, fields: list[tuple[str, str]], page: str = "/dashboard/services"):
    from werkzeug.datastructures import MultiDict
    return client.post(path, data=MultiDict([("csrf_token", token(client, page)), *fields]))


def assert_invalid(response, field: str, words: str) -> None:
    """A 422 with ``words`` in the message beside ``field``, and the field marked invalid."""
    assert response.status_code == 422, response.status_code
    message = error_beside(response.text, field)
    assert words in message, message
    assert f'err-{field.replace(".", "-")}' in response.text and 'aria-invalid="true"' in response.text


def paris_spring_forward() -> date:
    """The next last Sunday of March (02:00–03:00 does not exist in Paris that night)."""
    year = date.today().year + 1
    day = date(year, 3, 31)
    return day - timedelta(days=(day.weekday() + 1) % 7)


# --- services -----------------------------------------------------------------------------------

SERVICE = [("name", "Deep work session"), ("kind", "personal"), ("duration_minutes", "50"), ("location.type", "video"),
           ("min_notice_hours", "2"), ("max_advance_days", "30"), ("buffer_after_minutes", "15"), ("hold_minutes", "15"),
           ("phone", "optional"), ("visibility", "public"), ("policy.client_can_cancel", "on"),
           ("policy.cutoff_hours", "48"), ("policy.refund", "none"), ("price.amount", "80.50"), ("price.currency", "eur"),
           ("payment_options", "outside"), ("outside_payment_instructions", "Pay at the door."), ("question_rows", "1"),
           ("questions.0.label", "What is your goal?"), ("questions.0.type", "select"),
           ("questions.0.options", "Focus\nHabits"), ("questions.0.required", "on")]


def test_a_service_made_in_the_dashboard_is_the_one_the_api_serves(dash, expert):
    response = form_post(dash, "/dashboard/services/new", SERVICE)
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard/services/deep-work-session/edit"
    service = admin(dash, expert, "/services/deep-work-session")["service"]
    assert service["price"] == {"amount": 8050, "currency": "eur"} and service["payment_options"] == ["outside"]
    assert service["min_notice_minutes"] == 120 and service["max_advance_days"] == 30
    assert service["buffer_after_minutes"] == 15 and service["message"] is False
    assert service["policy"] == {"client_can_cancel": True, "client_can_reschedule": False, "cutoff_hours": 48,
                                 "refund": "none"}
    assert service["questions"] == [{"id": "what_is_your_goal", "label": "What is your goal?", "type": "select",
                                     "required": True, "options": ["Focus", "Habits"]}]
    page = dash.get("/dashboard/services/deep-work-session/edit").text
    assert 'value="80.50"' in page and 'src="/widget/jane/deep-work-session"' in page

    # Edited: the question kept (same id), the price removed, the service moved up, then archived.
    edited = [(k, v) for k, v in SERVICE if not k.startswith("price") and k != "payment_options"]
    edited += [("questions.0.id", "what_is_your_goal"), ("slug", "deep-work-session")]
    assert form_post(dash, "/dashboard/services/deep-work-session/edit", edited).status_code == 302
    service = admin(dash, expert, "/services/deep-work-session")["service"]
    assert service["price"] is None and service["questions"][0]["id"] == "what_is_your_goal"
    post(dash, "/dashboard/services/deep-work-session/move", {"direction": "up"})
    assert [s["slug"] for s in admin(dash, expert, "/services")["services"]] == ["deep-work-session", "intro-call"]
    post(dash, "/dashboard/services/deep-work-session/remove", {})
    assert [s["slug"] for s in admin(dash, expert, "/services")["services"]] == ["intro-call"]


@pytest.mark.parametrize("change, field, words", [
    ([("price.currency", "")], "price.currency", "Choose the currency"),
    ([("price.amount", "")], "price.amount", "Enter the price"),
    ([("price.amount", "12.345")], "price.amount", "at most two decimals"),
    ([("name", "")], "name", "Length must be between 1 and 200"),
    ([("duration_minutes", "an hour")], "duration_minutes", "whole number"),
    ([("duration_minutes", "2")], "duration_minutes", "greater than or equal to 5"),
    ([("slug", "Not A Slug!")], "slug", "lowercase letters"),
    ([("payment_options", "outside"), ("price.amount", ""), ("price.currency", "")], "price.amount", "needs a price"),
    ([("questions.0.options", "")], "questions.0.options", "Give the choices"),
    ([("min_notice_hours", "soon")], "min_notice_hours", "number of hours"),
])
def test_bad_service_input_is_refused_beside_its_field_and_nothing_is_made(dash, expert, change, field, words):
    names = {k for k, _ in change}
    fields = [(k, v) for k, v in SERVICE if k not in names] + [c for c in change if c[1]]
    response = form_post(dash, "/dashboard/services/new", fields)
    assert_invalid(response, field, words)
    assert 'value="Deep work session"' in response.text or field == "name"  # the form comes back as typed
    assert [s["slug"] for s in admin(dash, expert, "/services")["services"]] == ["intro-call"]


def test_add_a_question_shows_one_more_row_and_saves_nothing(dash, expert):
    response = form_post(dash, "/dashboard/services/intro-call/edit",
                         [("name", "Renamed"), ("duration_minutes", "30"), ("add_question", "1")])
    assert response.status_code == 200 and 'name="questions.0.label"' in response.text
    assert 'value="Renamed"' in response.text
    assert admin(dash, expert, "/services/intro-call")["service"]["name"] == "Intro call"


# --- scheduled sessions --------------------------------------------------------------------------

def make_service(client, name: str, kind: str, duration: str = "60") -> str:
    response = form_post(client, "/dashboard/services/new", [("name", name), ("kind", kind),
                                                             ("duration_minutes", duration), ("capacity", "6")])
    assert response.status_code == 302, error_beside(response.text, "form") if response.status_code == 422 else ""
    return response.headers["Location"].split("/")[-2]


def test_group_sessions_and_mini_days_are_scheduled_in_the_experts_zone(dash, expert):
    group = make_service(dash, "Evening circle", "group", "90")
    saturday = next_weekday(5)
    response = post(dash, f"/dashboard/services/{group}/sessions", {
        "date": saturday.isoformat(), "start_time": "18:30", "end_time": "20:00", "capacity": "6",
        "location.name": "Studio", "location.address": "1 Rue Haute"})
    assert response.status_code == 302
    sessions = admin(dash, expert, f"/services/{group}/sessions")["sessions"]
    assert [(s["start"][11:16], s["end"][11:16], s["capacity"]) for s in sessions] == [("18:30", "20:00", 6)]
    assert sessions[0]["location"] == {"type": "in_person", "name": "Studio", "address": "1 Rue Haute"}

    minis = make_service(dash, "Portrait minis", "mini", "20")
    response = post(dash, f"/dashboard/services/{minis}/sessions", {
        "date": saturday.isoformat(), "start_time": "10:00", "end_time": "11:10", "slot_minutes": "20",
        "gap_minutes": "5", "location.name": "Parc Monceau"}, follow=True)
    assert "3 mini sessions added: 10:00, 10:25, 10:50." in response.text
    slots = dash.get("/api/v1/experts/jane/services/" + minis + "/slots",
                     query_string={"start": saturday.isoformat(), "end": saturday.isoformat(),
                                   "timezone": "Europe/Paris"}).get_json()["slots"]
    assert [s["start"][11:16] for s in slots] == ["10:00", "10:25", "10:50"]


@pytest.mark.parametrize("change, field, words", [
    ({"end_time": "09:00"}, "end_time", "The end must be after the start"),
    ({"date": ""}, "date", "Choose the date"),
    ({"start_time": "02:30", "end_time": "04:00", "date": "SPRING"}, "start_time", "does not exist"),
    ({"capacity": "none"}, "capacity", "Not a valid integer"),
])
def test_bad_session_input_is_refused_beside_its_field(dash, expert, change, field, words):
    group = make_service(dash, "Evening circle", "group")
    fields = {"date": next_weekday(5).isoformat(), "start_time": "10:00", "end_time": "11:00", "capacity": "6"}
    fields.update(change)
    if fields["date"] == "SPRING":
        fields["date"] = paris_spring_forward().isoformat()
    assert_invalid(post(dash, f"/dashboard/services/{group}/sessions", fields), field, words)
    assert admin(dash, expert, f"/services/{group}/sessions")["sessions"] == []


def test_a_mini_day_needs_a_place(dash, expert):
    minis = make_service(dash, "Portrait minis", "mini", "20")
    response = post(dash, f"/dashboard/services/{minis}/sessions",
                    {"date": next_weekday(5).isoformat(), "start_time": "10:00", "end_time": "11:00"})
    assert_invalid(response, "location.name", "Say where")
    assert admin(dash, expert, f"/services/{minis}/sessions")["sessions"] == []


def test_the_sessions_page_shows_seats_taken_and_who(dash, expert):
    group = make_service(dash, "Evening circle", "group")
    post(dash, f"/dashboard/services/{group}/sessions",
         {"date": next_weekday(5).isoformat(), "start_time": "18:00", "end_time": "19:00", "capacity": "6"})
    session = admin(dash, expert, f"/services/{group}/sessions")["sessions"][0]["id"]
    response = dash.post(f"/api/v1/experts/jane/services/{group}/bookings", json={
        "session": session, "timezone": "Europe/Paris", "client": {"name": "Zoé Martin", "email": "zoe@example.com"}})
    assert response.status_code == 201, response.get_json()
    page = dash.get(f"/dashboard/services/{group}/sessions").text
    assert "1 of 6" in page and "Zoé Martin" in page


# --- availability ---------------------------------------------------------------------------------

def weekly_fields(**days: list[tuple[str, str]]) -> list[tuple[str, str]]:
    fields = []
    for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
        rows = days.get(day, [])
        fields.append((f"rows.{day}", str(max(len(rows), 1))))
        for i, (start, end) in enumerate(rows):
            fields += [(f"weekly.{day}.{i}.start", start), (f"weekly.{day}.{i}.end", end)]
    return fields


def test_weekly_hours_overrides_and_copy_are_saved_as_the_api_stores_them(dash, expert):
    fields = weekly_fields(mon=[("09:00", "12:00"), ("14:00", "00:00")], sat=[("10:00", "13:00")])
    assert form_post(dash, "/dashboard/availability/weekly", fields, "/dashboard/availability").status_code == 302
    stored = admin(dash, expert, "/availability")
    assert stored["weekly"] == {"mon": [["09:00", "12:00"], ["14:00", "24:00"]], "tue": [], "wed": [], "thu": [],
                                "fri": [], "sat": [["10:00", "13:00"]], "sun": []}
    assert stored["timezone"] == "Europe/Paris"
    form_post(dash, "/dashboard/availability/copy", [("from", "mon"), ("to", "tue"), ("to", "wed")],
              "/dashboard/availability")
    assert admin(dash, expert, "/availability")["weekly"]["wed"] == [["09:00", "12:00"], ["14:00", "24:00"]]
    day = next_weekday(0)
    form_post(dash, "/dashboard/availability/overrides", [("date", day.isoformat()), ("kind", "off")],
              "/dashboard/availability")
    form_post(dash, "/dashboard/availability/overrides", [("date", (day + timedelta(days=1)).isoformat()),
                                                          ("kind", "hours"), ("intervals.0.start", "15:00"),
                                                          ("intervals.0.end", "18:00")], "/dashboard/availability")
    assert admin(dash, expert, "/availability")["overrides"] == [
        {"date": day.isoformat(), "intervals": []},
        {"date": (day + timedelta(days=1)).isoformat(), "intervals": [["15:00", "18:00"]]}]
    # The preview shows the day off closed and the Tuesday's other hours' bookable times.
    page = dash.get("/dashboard/availability").text
    assert "15:00–18:00" in page and "Closed" in page
    form_post(dash, f"/dashboard/availability/overrides/{day.isoformat()}/delete", [], "/dashboard/availability")
    assert len(admin(dash, expert, "/availability")["overrides"]) == 1


@pytest.mark.parametrize("rows, words", [
    ([("12:00", "09:00")], "the end must be after the start"),
    ([("09:00", "12:00"), ("11:00", "13:00")], "must not overlap"),
    ([("09:00", "")], "a start and an end"),
])
def test_bad_weekly_hours_are_refused_beside_the_day_and_nothing_changes(dash, expert, rows, words):
    before = admin(dash, expert, "/availability")
    response = form_post(dash, "/dashboard/availability/weekly", weekly_fields(mon=rows), "/dashboard/availability")
    assert response.status_code == 422
    assert words in error_beside(response.text, "weekly.mon")
    assert f'value="{rows[0][0]}"' in response.text  # as typed
    assert admin(dash, expert, "/availability") == before


def test_an_override_at_a_time_skipped_by_dst_is_refused(dash, expert):
    day = paris_spring_forward()
    response = form_post(dash, "/dashboard/availability/overrides", [
        ("date", day.isoformat()), ("kind", "hours"), ("intervals.0.start", "02:30"), ("intervals.0.end", "05:00")],
        "/dashboard/availability")
    assert_invalid(response, "intervals.0.start", "does not exist")
    assert admin(dash, expert, "/availability")["overrides"] == []


def test_add_a_time_shows_one_more_row_unsaved(dash, expert):
    before = admin(dash, expert, "/availability")
    response = form_post(dash, "/dashboard/availability/weekly",
                         weekly_fields(mon=[("08:00", "09:00")]) + [("add", "mon")], "/dashboard/availability")
    assert response.status_code == 200 and 'name="weekly.mon.1.start"' in response.text
    assert admin(dash, expert, "/availability") == before


# --- settings, webhooks and tokens ------------------------------------------------------------------

PROFILE = {"name": "Jane Doe", "bio": "Coach", "avatar_url": "", "timezone": "America/Chicago",
           "brand_color": "#1a73e8", "notification_email": "", "locale": "fr",
           "allowed_origins": "https://jane.example.com\nhttps://www.jane.example.com/"}


def test_the_profile_is_saved_and_the_weekly_hours_follow_the_zone(dash, expert):
    assert post(dash, "/dashboard/settings/profile", PROFILE, "/dashboard/settings").status_code == 302
    profile = admin(dash, expert, "/profile")
    assert profile["timezone"] == "America/Chicago" and profile["locale"] == "fr"
    assert profile["allowed_origins"] == ["https://jane.example.com", "https://www.jane.example.com"]
    availability = admin(dash, expert, "/availability")
    assert availability["timezone"] == "America/Chicago" and availability["weekly"]["mon"][0] == ["09:00", "12:00"]


@pytest.mark.parametrize("change, field, words", [
    ({"timezone": "Mars/Olympus"}, "timezone", "Unknown time zone"),
    ({"brand_color": "blue"}, "brand_color", "#1a73e8"),
    ({"allowed_origins": "jane.example.com/book"}, "allowed_origins", "scheme and host"),
    ({"notification_email": "not an email"}, "notification_email", "Not a valid email"),
    ({"name": ""}, "name", "Length must be between 1 and 200"),
])
def test_bad_profile_input_is_refused_beside_its_field(dash, expert, change, field, words):
    before = admin(dash, expert, "/profile")
    assert_invalid(post(dash, "/dashboard/settings/profile", {**PROFILE, **change}, "/dashboard/settings"), field, words)
    assert admin(dash, expert, "/profile") == before


def test_changing_the_password_keeps_this_browser_and_signs_out_the_others(app, dash, expert):
    other = app.test_client()
    other.post("/dashboard/login", data={"email": "jane@example.com", "password": PASSWORD, "csrf_token": csrf(other)})
    assert other.get("/dashboard").status_code == 200
    fields = {"current_password": PASSWORD, "new_password": "a new long password", "new_password_again": "a new long password"}
    assert post(dash, "/dashboard/settings/password", fields, "/dashboard/settings").status_code == 302
    assert dash.get("/dashboard").status_code == 200 and other.get("/dashboard").status_code == 302


@pytest.mark.parametrize("fields, field, words", [
    ({"current_password": "wrong", "new_password": "long enough!", "new_password_again": "long enough!"},
     "current_password", "not your current password"),
    ({"current_password": PASSWORD, "new_password": "long enough!", "new_password_again": "other one!!"},
     "new_password_again", "differ"),
    ({"current_password": PASSWORD, "new_password": "short", "new_password_again": "short"}, "new_password", "at least 8"),
])
def test_a_refused_password_change_says_why_and_keeps_the_old_one(app, dash, expert, fields, field, words):
    assert_invalid(post(dash, "/dashboard/settings/password", fields, "/dashboard/settings"), field, words)
    assert dash.get("/dashboard").status_code == 200


def test_sign_out_everywhere_needs_the_password_then_ends_every_session(app, dash, expert):
    assert_invalid(post(dash, "/dashboard/settings/sign-out-everywhere", {"password": "nope"}, "/dashboard/settings"),
                   "password", "not your")
    assert dash.get("/dashboard").status_code == 200
    other = app.test_client()
    other.post("/dashboard/login", data={"email": "jane@example.com", "password": PASSWORD, "csrf_token": csrf(other)})
    post(dash, "/dashboard/settings/sign-out-everywhere", {"password": PASSWORD}, "/dashboard/settings")
    assert dash.get("/dashboard").status_code == 302 and other.get("/dashboard").status_code == 302
    from backend.extensions import db
    from backend.services import experts
    with app.app_context():  # the password itself did not change
        assert experts.authenticate(db.session, "jane@example.com", PASSWORD) is not None


def test_webhooks_and_tokens_are_shown_once_listed_and_revoked(dash, expert):
    page = "/dashboard/settings/integrations"
    response = form_post(dash, "/dashboard/settings/webhooks", [("url", "https://hooks.example.com/kairos"),
                                                                ("events", "booking.created")], page)
    secret = re.search(r'<code id="new-secret">(whsec_[^<]+)</code>', response.text).group(1)
    assert secret not in dash.get(page).text  # once
    hooks = dash.get("/api/v1/admin/webhooks", headers=expert["headers"]).get_json()["webhooks"]
    assert [(h["url"], h["events"]) for h in hooks] == [("https://hooks.example.com/kairos", ["booking.created"])]
    response = form_post(dash, "/dashboard/settings/tokens", [("label", "Zapier")], page)
    new = re.search(r'<code id="new-token">([^<]+)</code>', response.text).group(1)
    assert dash.get("/api/v1/admin/profile", headers={"Authorization": f"Bearer {new}"}).status_code == 200
    assert new not in dash.get(page).text
    token_id = re.findall(r'/dashboard/settings/tokens/(\d+)/delete', dash.get(page).text)[-1]
    form_post(dash, f"/dashboard/settings/tokens/{token_id}/delete", [], page)
    assert dash.get("/api/v1/admin/profile", headers={"Authorization": f"Bearer {new}"}).status_code == 401
    form_post(dash, f"/dashboard/settings/webhooks/{hooks[0]['id']}/delete", [], page)
    assert dash.get("/api/v1/admin/webhooks", headers=expert["headers"]).get_json()["webhooks"] == []


@pytest.mark.parametrize("fields, field, words", [
    ([("url", "http://127.0.0.1:9/hook"), ("events", "booking.created")], "url", "public internet address"),
    ([("url", "https://hooks.example.com/k")], "events", "at least one"),
    ([("url", "not a url"), ("events", "booking.created")], "url", "Not a valid URL"),
])
def test_a_refused_webhook_says_why_and_adds_nothing(dash, expert, fields, field, words):
    response = form_post(dash, "/dashboard/settings/webhooks", fields, "/dashboard/settings/integrations")
    assert response.status_code == 422 and words.lower() in error_beside(response.text, field).lower()
    assert dash.get("/api/v1/admin/webhooks", headers=expert["headers"]).get_json()["webhooks"] == []


# --- bookings ---------------------------------------------------------------------------------------

def test_bookings_filter_search_page_and_reschedule(dash, expert):
    day = next_weekday(1)
    slots = slots_for(dash, day)
    ann = book(dash, slots[0]["start"], tz="Europe/Paris")
    book(dash, slots[4]["start"], name="Bo Chen", email="bo@example.com")
    listing = dash.get("/dashboard/bookings").text
    assert "Ann Lee" in listing and "Bo Chen" in listing
    found = dash.get("/dashboard/bookings", query_string={"q": "BO@EXAMPLE"}).text
    assert "Bo Chen" in found and "Ann Lee" not in found
    assert "Ann Lee" not in dash.get("/dashboard/bookings", query_string={"view": "cancelled"}).text
    page = dash.get(f"/dashboard/bookings/{ann['id']}").text
    assert "Booked" in page and "by the client" in page
    # Moved to 15:00 on the same day, on the expert's clock; the history says so.
    response = post(dash, f"/dashboard/bookings/{ann['id']}/reschedule", {"date": day.isoformat(), "time": "15:00"},
                    f"/dashboard/bookings/{ann['id']}")
    assert response.status_code == 302
    moved = dash.get(f"/api/v1/admin/bookings/{ann['id']}", headers=expert["headers"]).get_json()["booking"]
    assert moved["start"][11:16] == "15:00"
    assert "Moved" in dash.get(f"/dashboard/bookings/{ann['id']}").text
    # A taken time, and a time outside the hours, are refused beside the time field.
    taken = post(dash, f"/dashboard/bookings/{ann['id']}/reschedule",
                 {"date": day.isoformat(), "time": slots[4]["start"][11:16]}, f"/dashboard/bookings/{ann['id']}")
    assert_invalid(taken, "time", "")
    assert dash.get(f"/api/v1/admin/bookings/{ann['id']}", headers=expert["headers"]).get_json()["booking"]["start"] == moved["start"]


def test_the_bookings_list_pages_by_keyset(dash, expert):
    day = next_weekday(2)
    for i, slot in enumerate(slots_for(dash, day)[:14]):
        book(dash, slot["start"], name=f"Client {i:02}", email=f"c{i}@example.com")
    for i, slot in enumerate(slots_for(dash, next_weekday(3))[:14]):
        book(dash, slot["start"], name=f"Later {i:02}", email=f"l{i}@example.com")
    first = dash.get("/dashboard/bookings").text
    cursor = re.search(r'cursor=([A-Za-z0-9_-]+)"', first).group(1)
    second = dash.get("/dashboard/bookings", query_string={"cursor": cursor}).text
    names = lambda page: re.findall(r'<span class="strong">((?:Client|Later) \d\d)</span>', page)  # noqa: E731
    assert len(names(first)) == 25 and len(names(second)) == 3
    assert not set(names(first)) & set(names(second))


def test_a_client_page_lists_bookings_and_package_credits(app, dash, expert):
    day = next_weekday(1)
    ann = book(dash, slots_for(dash, day)[0]["start"])
    from backend.extensions import db
    from backend.models import Client
    from backend.payments import packages
    from backend.services import experts
    from sqlalchemy import select
    admin_headers = expert["headers"]
    dash.patch("/api/v1/admin/services/intro-call", headers=admin_headers, json={"payment_options": ["package"]})
    with app.app_context():
        jane = experts.get_expert(db.session, "jane")
        client = db.session.scalar(select(Client).where(Client.email_key == "ann@example.com"))
        packages.grant(db.session, jane, client, name="Five calls", service_slugs=["intro-call"], credits=5,
                       expires_at=None)
        db.session.commit()
        client_id = client.id
    assert "Ann Lee" in dash.get("/dashboard/clients", query_string={"q": "ann"}).text
    assert "Ann Lee" not in dash.get("/dashboard/clients", query_string={"q": "zzz"}).text
    page = dash.get(f"/dashboard/clients/{client_id}").text
    assert "Five calls" in page and "5 of 5" in page and ann["id"] in page


# --- CSRF and isolation -----------------------------------------------------------------------------

def every_form(jane_booking: str, client_id: int) -> list[str]:
    return ["/dashboard/settings/profile", "/dashboard/settings/password", "/dashboard/settings/sign-out-everywhere",
            "/dashboard/settings/webhooks", "/dashboard/settings/webhooks/we_x/delete", "/dashboard/settings/tokens",
            "/dashboard/settings/tokens/1/delete", "/dashboard/availability/weekly", "/dashboard/availability/copy",
            "/dashboard/availability/overrides", "/dashboard/availability/overrides/2030-01-01/delete",
            "/dashboard/services/new", "/dashboard/services/intro-call/edit", "/dashboard/services/intro-call/move",
            "/dashboard/services/intro-call/remove", "/dashboard/services/intro-call/sessions",
            f"/dashboard/bookings/{jane_booking}/reschedule", f"/dashboard/bookings/{jane_booking}/cancel",
            f"/dashboard/bookings/{jane_booking}/confirm", f"/dashboard/bookings/{jane_booking}/share",
            f"/dashboard/bookings/{jane_booking}/mark-paid", "/dashboard/sessions/new", "/dashboard/leads/ld_x/close",
            "/dashboard/logout"]


def snapshot(client, expert) -> tuple:
    return (admin(client, expert, "/profile"), admin(client, expert, "/services"), admin(client, expert, "/availability"),
            admin(client, expert, "/bookings"), admin(client, expert, "/clients"))


def test_every_form_refuses_a_missing_or_wrong_csrf_token_and_changes_nothing(dash, expert):
    booking = book(dash, slots_for(dash, next_weekday(1))[0]["start"])
    before = snapshot(dash, expert)
    for path in every_form(booking["id"], 1):
        for data in ({}, {"csrf_token": "forged"}):
            response = dash.post(path, data={**data, "name": "Hacked", "direction": "up", "reason": "x",
                                             "password": PASSWORD, "date": "2030-01-01", "time": "10:00"})
            assert response.status_code == 403 and "This form has expired" in response.text, path
    assert snapshot(dash, expert) == before
    assert dash.get("/dashboard").status_code == 200  # still signed in: the sign-out form was refused too


def test_one_expert_never_sees_or_changes_anothers_things(app, client, dash, expert):
    from backend.extensions import db
    from backend.services import experts
    ann = book(dash, slots_for(dash, next_weekday(1))[0]["start"])
    group = make_service(dash, "Evening circle", "group")
    post(dash, f"/dashboard/services/{group}/sessions",
         {"date": next_weekday(5).isoformat(), "start_time": "18:00", "end_time": "19:00", "capacity": "6"})
    jane_before = snapshot(dash, expert)
    jane_sessions = admin(dash, expert, f"/services/{group}/sessions")
    client_id = admin(dash, expert, "/clients")["clients"][0]["id"]
    with app.app_context():
        experts.create_expert(db.session, "bob", email="bob@example.com", name="Bob Roe", timezone="UTC",
                              password="bobs long password")
        db.session.commit()
    bob = app.test_client()
    bob.post("/dashboard/login", data={"email": "bob@example.com", "password": "bobs long password",
                                       "csrf_token": csrf(bob)})
    # Nothing of Jane's in Bob's lists.
    for path in ("/dashboard", "/dashboard/bookings?view=all", "/dashboard/clients", "/dashboard/leads",
                 "/dashboard/services", "/dashboard/embed"):
        page = bob.get(path).text
        assert "Ann Lee" not in page and "Intro call" not in page and "Evening circle" not in page, path
    # Jane's ids in the URL: not found, for reading and for writing.
    for path in (f"/dashboard/bookings/{ann['id']}", f"/dashboard/clients/{client_id}",
                 "/dashboard/services/intro-call/edit", f"/dashboard/services/{group}/sessions",
                 f"/dashboard/bookings/{ann['id']}/cancel", "/dashboard/services/intro-call/remove"):
        assert bob.get(path).status_code == 404, path
    writes = [(f"/dashboard/bookings/{ann['id']}/reschedule", {"date": "2030-01-07", "time": "10:00"}),
              (f"/dashboard/bookings/{ann['id']}/cancel", {"reason": "mine now"}),
              (f"/dashboard/bookings/{ann['id']}/confirm", {}), (f"/dashboard/bookings/{ann['id']}/mark-paid", {}),
              ("/dashboard/services/intro-call/edit", {"name": "Bob's", "duration_minutes": "30"}),
              ("/dashboard/services/intro-call/move", {"direction": "down"}),
              ("/dashboard/services/intro-call/remove", {}),
              (f"/dashboard/services/{group}/sessions", {"date": "2030-01-05", "start_time": "10:00",
                                                          "end_time": "11:00"})]
    for path, data in writes:
        response = bob.post(path, data={"csrf_token": token(bob), **data}, follow_redirects=True)
        assert response.status_code in (200, 404), path
        if response.status_code == 200:
            assert "No such" in response.text or "No service" in response.text, path
    assert snapshot(dash, expert) == jane_before
    assert admin(dash, expert, f"/services/{group}/sessions") == jane_sessions


def test_a_token_needs_a_name(dash, expert):
    response = form_post(dash, "/dashboard/settings/tokens", [("label", "")], "/dashboard/settings/integrations")
    assert_invalid(response, "label", "Name the token")
    assert re.findall(r"/dashboard/settings/tokens/(\d+)/delete", response.text) == ["1"]  # only the CLI's


def test_embed_options_are_checked_and_snippets_escaped(dash, expert):
    page = dash.get("/dashboard/embed", query_string={"service": "intro-call", "mode": "floating", "color": "red",
                                                      "label": 'Book "now" </script>', "name": "Ann <b>"}).text
    assert "Use a colour like #2f5d8a." in error_beside(page, "color")
    shown = html.unescape(page)  # the snippets as the expert copies them
    assert '<div data-kairos-expert="jane" data-kairos-service="intro-call" data-kairos-name="Ann &lt;b&gt;" style="min-height:720px"></div>' in shown
    assert '"label": "Book \\"now\\" \\u003c/script>"' in shown  # the label cannot end the floating script
    assert "data-kairos-color" not in shown  # the refused colour is left out
    preview = dash.get("/dashboard/embed/preview", query_string={"service": "intro-call", "mode": "floating"})
    nonce = re.search(r"'nonce-([^']+)'", preview.headers["Content-Security-Policy"]).group(1)
    assert f'<script nonce="{nonce}">' in preview.text and "frame-ancestors 'self'" in preview.headers["Content-Security-Policy"]


@pytest.mark.parametrize("target, lands", [
    ("/dashboard/leads", "/dashboard/leads"), ("https://evil.example/", "/dashboard"), ("//evil.example/x", "/dashboard"),
    ("/dashboard/\\evil", "/dashboard"), ("/api/v1/admin/profile", "/dashboard"),
])
def test_an_action_returns_only_to_a_dashboard_page(dash, expert, target, lands):
    response = dash.post("/dashboard/leads/ld_missing/close", data={"csrf_token": token(dash), "next": target})
    assert response.status_code == 302 and response.headers["Location"] == lands
