"""The experts' dashboard: sign-in, CSRF, what it lists (in the expert's zone, escaped) and its actions."""
from __future__ import annotations

import html
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import next_weekday

PASSWORD = "correct horse battery"
LOGIN = "/dashboard/login"
TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def set_password(app, slug: str = "jane", password: str = PASSWORD) -> None:
    from backend.extensions import db
    from backend.services import experts
    with app.app_context():
        experts.set_password(experts.get_expert(db.session, slug), password)
        db.session.commit()


def csrf(client, path: str = LOGIN) -> str:
    """The CSRF token of the form on ``path`` (as a browser would read it from the page)."""
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    return TOKEN_RE.search(page.text).group(1)


def sign_in(app, client, email: str = "jane@example.com", password: str = PASSWORD):
    set_password(app)
    return client.post(LOGIN, data={"email": email, "password": password, "csrf_token": csrf(client)})


@pytest.fixture
def signed_in(app, client, expert):
    response = sign_in(app, client)
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"
    return client


def session_of(client) -> dict:
    with client.session_transaction("/dashboard") as session:
        return dict(session)


def slots_for(client, day, tz: str = "Europe/Paris") -> list[dict]:
    response = client.get("/api/v1/experts/jane/services/intro-call/slots",
                          query_string={"start": day.isoformat(), "end": day.isoformat(), "timezone": tz})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["slots"]


def book(client, start: str, *, name: str = "Ann Lee", email: str = "ann@example.com", tz: str = "UTC") -> dict:
    response = client.post("/api/v1/experts/jane/services/intro-call/bookings",
                           json={"start": start, "timezone": tz, "client": {"name": name, "email": email}})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["booking"]


def last_event(app, booking_id: str) -> tuple[str, str, str | None]:
    """(type, actor, message) of the booking's latest history row."""
    from sqlalchemy import select

    from backend.extensions import db
    from backend.models import BookingEvent
    with app.app_context():
        event = db.session.scalars(select(BookingEvent).where(BookingEvent.booking_id == booking_id)
                                   .order_by(BookingEvent.id.desc())).first()
        return event.type, event.actor, event.message


def post_action(client, path: str, **data: str):
    """Submit a dashboard form the way the page does (with the token), following the redirect."""
    return client.post(path, data={"csrf_token": csrf(client, "/dashboard"), **data}, follow_redirects=True)


# --- signing in and out -------------------------------------------------------

def test_the_login_form_is_labelled_and_signed_out_pages_redirect_to_it(client, expert):
    for path in ("/dashboard", "/dashboard/", "/dashboard/bookings/bk_x/cancel"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"] == LOGIN, path
    page = client.get(LOGIN)
    assert page.status_code == 200
    assert '<label for="email">' in page.text and 'autocomplete="username"' in page.text
    assert '<label for="password">' in page.text and 'autocomplete="current-password"' in page.text
    assert page.headers["Cache-Control"] == "no-store"
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "style-src 'self'" in csp and "frame-ancestors 'none'" in csp
    cookie = page.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie  # http:// base URL


def test_the_session_cookie_is_secure_behind_https(tmp_path, database_url):
    from backend.app import create_app
    from tests.conftest import base_env
    app = create_app(base_env(tmp_path, database_url, KAIROS_BASE_URL="https://book.example.com"))
    assert "Secure" in app.test_client().get(LOGIN).headers["Set-Cookie"]


def test_a_correct_password_signs_in_and_rotates_the_session(app, client, expert):
    set_password(app)
    token = csrf(client)
    response = client.post(LOGIN, data={"email": "Jane@Example.com ", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"
    session = session_of(client)
    assert isinstance(session["expert_id"], int)
    assert session["csrf"] != token  # a token planted before sign-in is worthless after it
    page = client.get("/dashboard")
    assert page.status_code == 200 and "Your dashboard" in page.text and "Europe/Paris" in page.text
    assert client.get(LOGIN).headers["Location"] == "/dashboard"  # already signed in


@pytest.mark.parametrize("email, password", [("jane@example.com", "wrong password"),
                                             ("nobody@example.com", PASSWORD), ("", "")])
def test_a_wrong_email_or_password_gets_one_generic_401(app, client, expert, email, password):
    set_password(app)
    response = client.post(LOGIN, data={"email": email, "password": password, "csrf_token": csrf(client)})
    assert response.status_code == 401
    assert "That email and password do not match an account." in response.text
    assert f'value="{html.escape(email)}"' in response.text  # the typed email is kept
    assert "expert_id" not in session_of(client)
    assert client.get("/dashboard").status_code == 302


def test_an_expert_without_a_password_cannot_sign_in(app, client, expert):
    response = client.post(LOGIN, data={"email": "jane@example.com", "password": "", "csrf_token": csrf(client)})
    assert response.status_code == 401


def test_changing_the_password_signs_every_browser_out(app, signed_in):
    set_password(app, password="another long password")
    assert signed_in.get("/dashboard").status_code == 302


def test_logout_clears_the_session(signed_in):
    response = signed_in.post("/dashboard/logout", data={"csrf_token": csrf(signed_in, "/dashboard")},
                              follow_redirects=True)
    assert response.status_code == 200 and "You are signed out." in response.text
    assert "expert_id" not in session_of(signed_in)
    assert signed_in.get("/dashboard").status_code == 302


def test_sign_in_attempts_are_rate_limited(app, client, expert):
    app.config["KAIROS_RATE_LIMITS"] = {"login": 3}
    set_password(app)
    token = csrf(client)
    statuses = [client.post(LOGIN, data={"email": "jane@example.com", "password": "guess", "csrf_token": token})
                .status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 429, 429]
    refused = client.post(LOGIN, data={"email": "jane@example.com", "password": PASSWORD, "csrf_token": token})
    assert refused.status_code == 429 and "text/html" in refused.content_type
    assert "Too many requests" in refused.text and "expert_id" not in session_of(client)


# --- CSRF ----------------------------------------------------------------------

def test_a_form_without_this_sessions_token_is_refused(app, client, expert):
    set_password(app)
    data = {"email": "jane@example.com", "password": PASSWORD}
    missing = client.post(LOGIN, data=data)
    assert missing.status_code == 403 and "This form has expired" in missing.text
    csrf(client)  # the session now has a token, but the form sends another one
    wrong = client.post(LOGIN, data={**data, "csrf_token": "not-the-token"})
    assert wrong.status_code == 403 and "expert_id" not in session_of(client)
    assert wrong.headers["Content-Security-Policy"].startswith("default-src 'self'")


def test_an_action_without_the_token_changes_nothing(app, signed_in, expert):
    start = slots_for(signed_in, next_weekday(1))[0]["start"]
    booking = book(signed_in, start)
    for data in ({}, {"csrf_token": "forged"}):
        refused = signed_in.post(f"/dashboard/bookings/{booking['id']}/cancel", data=data)
        assert refused.status_code == 403
    status = signed_in.get(f"/api/v1/admin/bookings/{booking['id']}", headers=expert["headers"]).get_json()
    assert status["booking"]["status"] == "confirmed"
    # With the token from the page it goes through.
    accepted = post_action(signed_in, f"/dashboard/bookings/{booking['id']}/cancel")
    assert accepted.status_code == 200 and "Booking cancelled." in accepted.text


# --- what it lists --------------------------------------------------------------

def test_the_dashboard_lists_a_public_booking_in_the_experts_time_zone(app, signed_in):
    day = next_weekday(2)
    start = slots_for(signed_in, day)[0]["start"]  # 09:00 in Paris
    book(signed_in, start, name="Ann Lee", tz="America/New_York")  # the client is in New York
    page = signed_in.get("/dashboard").text
    paris = datetime.fromisoformat(start).astimezone(ZoneInfo("Europe/Paris"))
    assert f"{paris:%a} {paris.day} {paris:%b %Y}, 09:00–09:30" in page
    assert "03:00" not in page  # not the client's New York time
    assert "Ann Lee" in page and "ann@example.com" in page and "Intro call" in page and "Confirmed" in page
    upcoming = page.split('id="h-upcoming"')[1].split("</section>")[0]
    assert "<caption" in upcoming and '<th scope="col">When</th>' in upcoming and 'tabindex="0"' in upcoming
    clients = page.split('id="h-clients"')[1].split("</section>")[0]
    assert "Ann Lee" in clients and '<td class="num" data-label="Bookings">1</td>' in clients
    leads = page.split('id="h-leads"')[1].split("</section>")[0]
    assert "Booked" in leads
    assert "&lt;script src=&#34;http://kairos.test/embed.js&#34; async&gt;" in page  # the snippet, escaped
    assert 'href="http://kairos.test/book/jane"' in page


def test_client_text_is_escaped(app, signed_in):
    start = slots_for(signed_in, next_weekday(3))[0]["start"]
    book(signed_in, start, name="<script>alert(1)</script>", email="x@example.com")
    page = signed_in.get("/dashboard").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# --- actions ----------------------------------------------------------------------

def test_confirming_a_pending_session_set_up_by_the_expert(app, signed_in, expert):
    start = slots_for(signed_in, next_weekday(0))[0]["start"]
    created = signed_in.post("/api/v1/admin/bookings", headers=expert["headers"], json={
        "service": "intro-call", "start": start, "client": {"name": "Bo Chen", "email": "bo@example.com"}})
    assert created.status_code == 201, created.get_json()
    booking_id = created.get_json()["booking"]["id"]
    pending = signed_in.get("/dashboard").text.split('id="h-pending"')[1].split("</section>")[0]
    assert "Bo Chen" in pending and f"/dashboard/bookings/{booking_id}/confirm" in pending

    page = post_action(signed_in, f"/dashboard/bookings/{booking_id}/confirm")
    assert "Booking confirmed." in page.text
    view = signed_in.get(f"/api/v1/admin/bookings/{booking_id}", headers=expert["headers"]).get_json()["booking"]
    assert view["status"] == "confirmed" and last_event(app, booking_id) == ("confirmed", "expert", None)
    # A domain error is a message, not an error page.
    again = post_action(signed_in, f"/dashboard/bookings/{booking_id}/confirm")
    assert again.status_code == 200 and "Only a pending booking can be confirmed." in again.text
    missing = post_action(signed_in, "/dashboard/bookings/bk_nope/confirm")
    assert missing.status_code == 200 and "No such booking." in missing.text


def test_cancelling_with_a_message(app, signed_in, expert):
    start = slots_for(signed_in, next_weekday(1))[0]["start"]
    booking = book(signed_in, start)
    form = signed_in.get(f"/dashboard/bookings/{booking['id']}/cancel")
    assert form.status_code == 200 and '<label for="reason">' in form.text
    page = post_action(signed_in, f"/dashboard/bookings/{booking['id']}/cancel", reason="I am ill, sorry.")
    assert "Booking cancelled." in page.text
    view = signed_in.get(f"/api/v1/admin/bookings/{booking['id']}", headers=expert["headers"]).get_json()["booking"]
    assert view["status"] == "cancelled"
    assert last_event(app, booking["id"]) == ("cancelled", "expert", "I am ill, sorry.")
    cancelled = page.text.split('id="h-cancelled"')[1].split("</section>")[0]
    assert "I am ill, sorry." in cancelled and "by you" in cancelled
    assert booking["id"] not in page.text.split('id="h-upcoming"')[1].split("</section>")[0]
    too_long = signed_in.post(f"/dashboard/bookings/{booking['id']}/cancel",
                              data={"csrf_token": csrf(signed_in, "/dashboard"), "reason": "x" * 2001},
                              follow_redirects=True)
    assert "Keep the message under 2000 characters." in too_long.text


def test_closing_a_lead(app, signed_in, expert):
    start = slots_for(signed_in, next_weekday(2))[0]["start"]
    book(signed_in, start)
    lead = signed_in.get("/api/v1/admin/leads", headers=expert["headers"]).get_json()["leads"][0]
    page = post_action(signed_in, f"/dashboard/leads/{lead['id']}/close")
    assert "Lead closed." in page.text
    leads = page.text.split('id="h-leads"')[1].split("</section>")[0]
    assert "Closed" in leads and f"/dashboard/leads/{lead['id']}/close" not in leads
    after = signed_in.get("/api/v1/admin/leads", headers=expert["headers"]).get_json()["leads"][0]
    assert after["status"] == "closed"


def test_retrying_a_parked_message(app, signed_in, expert):
    from sqlalchemy import select, update

    from backend.extensions import db
    from backend.models import OutboxMessage
    start = slots_for(signed_in, next_weekday(3))[0]["start"]
    book(signed_in, start)
    with app.app_context():
        message_id = db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.kind == "email").limit(1))
        db.session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id)
                           .values(status="parked", attempts=8, last_error="SMTP said <no>"))
        db.session.commit()
    parked = signed_in.get("/dashboard").text.split('id="h-parked"')[1].split("</section>")[0]
    assert "SMTP said &lt;no&gt;" in parked and f"/dashboard/outbox/{message_id}/retry" in parked

    page = post_action(signed_in, f"/dashboard/outbox/{message_id}/retry")
    assert "Message queued to be sent again." in page.text
    with app.app_context():
        row = db.session.get(OutboxMessage, message_id)
        assert (row.status, row.attempts) == ("pending", 0)
    again = post_action(signed_in, f"/dashboard/outbox/{message_id}/retry")
    assert "Only a parked message can be retried." in again.text


def test_an_expert_never_acts_on_another_experts_booking(app, client, expert):
    from backend.extensions import db
    from backend.services import experts
    start = slots_for(client, next_weekday(4))[0]["start"]
    booking = book(client, start)
    with app.app_context():
        experts.create_expert(db.session, "other", email="other@example.com", name="Other", timezone="UTC",
                              password=PASSWORD)
        db.session.commit()
    assert sign_in(app, client, email="other@example.com").status_code == 302
    assert client.get(f"/dashboard/bookings/{booking['id']}/cancel").status_code == 404
    page = post_action(client, f"/dashboard/bookings/{booking['id']}/cancel")
    assert "No such booking." in page.text and "Ann Lee" not in page.text


# --- sessions set up by the expert (DESIGN.md, flow 2) ------------------------------------------

NEW = "/dashboard/sessions/new"
LINK_RE = re.compile(r'<code class="share-link">([^<]+)</code>')
PARIS = ZoneInfo("Europe/Paris")


def next_date(month: int, day: int) -> date:
    """The next ``month``/``day`` at least a week ahead (a date in that season, whatever today is)."""
    today = date.today()
    found = date(today.year, month, day)
    return found if found > today + timedelta(days=7) else date(today.year + 1, month, day)


def last_sunday_of_march() -> date:
    """The next night Paris skips 02:00–03:00 (clocks go forward)."""
    march_31 = next_date(3, 31)
    return march_31 - timedelta(days=(march_31.weekday() + 1) % 7)


def paris_fields(start: str) -> dict[str, str]:
    """The form's date and time fields for an instant, on the expert's (Paris) wall clock."""
    local = datetime.fromisoformat(start).astimezone(PARIS)
    return {"date": f"{local:%Y-%m-%d}", "time": f"{local:%H:%M}"}


def set_up(client, **fields: str):
    """Submit the New session form as the page does (its token included); redirects are not followed."""
    data = {"service": "intro-call", "client_email": "bo@example.com", "client_name": "Bo Chen", **fields}
    return client.post(NEW, data={"csrf_token": csrf(client, NEW), **data})


def flashed_link(page: str) -> str:
    """The link shown in the flash message (the share link to copy)."""
    found = LINK_RE.search(page)
    assert found, page
    return html.unescape(found.group(1))


def admin_bookings(client, expert) -> list[dict]:
    response = client.get("/api/v1/admin/bookings", headers=expert["headers"])
    assert response.status_code == 200, response.get_json()
    return response.get_json()["bookings"]


def emails_to(app, address: str) -> list:
    """Deliver the outbox (to .eml files, the default without SMTP) and return the mails sent to ``address``."""
    import email
    import email.policy

    from tests.test_notifications import drain
    drain(app)
    mails = [email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
             for path in sorted((Path(app.config["KAIROS"].instance_dir) / "outbox").glob("*.eml"))]
    return [m for m in mails if address in m["To"]]


def counts(app) -> tuple[int, int, int]:
    """(bookings, clients, outbox messages): all unchanged after a refused form."""
    from sqlalchemy import func, select

    from backend.extensions import db
    from backend.models import Booking, Client, OutboxMessage
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(model))
                     for model in (Booking, Client, OutboxMessage))


def test_the_new_session_form_is_linked_labelled_and_in_the_experts_zone(app, signed_in, expert):
    from sqlalchemy import update

    from backend.extensions import db
    from backend.models import Service
    for slug, name in (("old", "Old service"), ("group", "Group class")):
        created = signed_in.post("/api/v1/admin/services", headers=expert["headers"], json={
            "slug": slug, "name": name, "duration_minutes": 30, "kind": "personal" if slug == "old" else "group"})
        assert created.status_code == 201, created.get_json()
    with app.app_context():  # archived, as a service with bookings is when deleted
        db.session.execute(update(Service).where(Service.slug == "old").values(archived=True))
        db.session.commit()
    pending = signed_in.get("/dashboard").text.split('id="h-pending"')[1].split("</section>")[0]
    assert f'href="{NEW}"' in pending
    page = signed_in.get(NEW)
    assert page.status_code == 200 and page.headers["Content-Security-Policy"].startswith("default-src 'self'")
    for name in ("service", "date", "time", "duration_minutes", "custom_time", "client_email", "client_name"):
        assert f'<label for="{name}"' in page.text or f'<label class="check-label" for="{name}"' in page.text, name
    assert '<input type="date" id="date"' in page.text and '<input type="time" id="time"' in page.text
    assert "In your time zone, <strong>Europe/Paris</strong>." in page.text
    assert '<option value="intro-call" selected>Intro call (30 min)</option>' in page.text
    assert '<option value="">One-off session</option>' in page.text
    assert "Old service" not in page.text and "Group class" not in page.text  # archived; scheduled as sessions
    assert not re.search(r"<script(?![^>]*\bsrc=)", page.text) and "style=" not in page.text  # nothing inline


def test_setting_up_a_session_from_a_service_emails_the_client_the_share_link(app, signed_in, expert):
    start = slots_for(signed_in, next_weekday(0))[2]["start"]  # 10:00 in Paris
    response = set_up(signed_in, **paris_fields(start))
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"
    page = signed_in.get("/dashboard").text
    link = flashed_link(page)
    assert link.startswith("http://kairos.test/manage/mt_")
    assert "Session set up. Bo Chen was emailed a link to complete it." in page

    [booking] = admin_bookings(signed_in, expert)
    assert booking["status"] == "pending" and booking["service"]["slug"] == "intro-call"
    assert datetime.fromisoformat(booking["start"]) == datetime.fromisoformat(start)
    assert datetime.fromisoformat(booking["end"]) - datetime.fromisoformat(start) == timedelta(minutes=30)
    assert last_event(app, booking["id"]) == ("created", "expert", None)
    pending = page.split('id="h-pending"')[1].split("</section>")[0]
    assert "Bo Chen" in pending and f"/dashboard/bookings/{booking['id']}/share" in pending
    assert f"/dashboard/bookings/{booking['id']}/mark-paid" not in page  # nothing to pay outside

    [mail] = emails_to(app, "bo@example.com")
    assert "set up a session" in mail["Subject"] and link in mail.get_body(("plain",)).get_content()
    assert signed_in.get("/api/v1/manage/" + link.rsplit("/", 1)[1]).status_code == 200


def test_a_one_off_session_takes_its_length_and_any_free_time(app, signed_in, expert):
    day = next_weekday(5)  # a Saturday: outside the availability, which a one-off ignores
    missing = set_up(signed_in, service="", date=day.isoformat(), time="18:30")
    assert missing.status_code == 422 and "Enter the length in minutes of a one-off session." in missing.text
    response = set_up(signed_in, service="", date=day.isoformat(), time="18:30", duration_minutes="45",
                      client_email="New.Client@Example.com", client_name="Nia Obi")
    assert response.status_code == 302, response.text
    link = flashed_link(signed_in.get("/dashboard").text)
    [booking] = admin_bookings(signed_in, expert)
    start, end = datetime.fromisoformat(booking["start"]), datetime.fromisoformat(booking["end"])
    assert booking["status"] == "pending" and booking["client"] == {"name": "Nia Obi", "email": "New.Client@Example.com"}
    assert start.astimezone(PARIS).replace(tzinfo=None) == datetime.combine(day, datetime.min.time()).replace(hour=18, minute=30)
    assert end - start == timedelta(minutes=45)
    [mail] = emails_to(app, "New.Client@Example.com")
    assert link in mail.get_body(("plain",)).get_content()


@pytest.mark.parametrize("month, utc_hour", [(1, 8), (7, 7)])  # Paris is UTC+1 in winter, UTC+2 in summer
def test_the_date_and_time_are_read_on_the_experts_clock(app, signed_in, expert, month, utc_hour):
    day = next_date(month, 14)
    assert set_up(signed_in, service="", date=day.isoformat(), time="09:00", duration_minutes="60").status_code == 302
    [booking] = admin_bookings(signed_in, expert)
    assert datetime.fromisoformat(booking["start"]).astimezone(ZoneInfo("UTC")) == datetime(
        day.year, day.month, day.day, utc_hour, tzinfo=ZoneInfo("UTC"))


def test_a_time_that_does_not_exist_because_of_dst_is_refused(app, signed_in, expert):
    day = last_sunday_of_march()
    before = counts(app)
    response = set_up(signed_in, service="", date=day.isoformat(), time="02:30", duration_minutes="60")
    assert response.status_code == 422
    assert f"02:30 does not exist on {day.day} March {day.year} in Europe/Paris" in response.text
    assert 'role="alert"' in response.text and 'aria-invalid="true"' in response.text
    assert counts(app) == before
    # 03:30 that night exists (CEST, UTC+2).
    assert set_up(signed_in, service="", date=day.isoformat(), time="03:30", duration_minutes="60").status_code == 302
    [booking] = admin_bookings(signed_in, expert)
    assert datetime.fromisoformat(booking["start"]).astimezone(ZoneInfo("UTC")).hour == 1


def test_a_taken_time_is_refused_with_the_form_kept_and_nothing_written(app, signed_in, expert):
    start = slots_for(signed_in, next_weekday(1))[0]["start"]
    book(signed_in, start)
    before = counts(app)
    typed = {**paris_fields(start), "client_email": "bo@example.com", "client_name": "Bo <Chen>"}
    refused = set_up(signed_in, **typed)
    assert refused.status_code == 422
    assert "That time is not available: it is taken or outside your availability." in refused.text
    assert f'value="{typed["date"]}"' in refused.text and f'value="{typed["time"]}"' in refused.text
    assert 'value="Bo &lt;Chen&gt;"' in refused.text and "Bo <Chen>" not in refused.text  # kept, escaped
    overlap = set_up(signed_in, **typed, custom_time="on")
    assert overlap.status_code == 422 and "That time overlaps another booking." in overlap.text
    assert "checked" in overlap.text.split('id="custom_time"')[1].split(">")[0]
    assert counts(app) == before


@pytest.mark.parametrize("fields, message", [
    ({"client_email": "not-an-email"}, "Not a valid email address."),
    ({"client_name": ""}, "Enter the client&#39;s name."),
    ({"service": "nope"}, "That service no longer exists. Choose another one."),
    ({"date": "", "time": ""}, "Enter the date of the session."),
    ({"date": "31/12/2030"}, "Enter the date of the session."),
    ({"duration_minutes": "2"}, "greater than or equal to 5"),
    ({"date": "2001-01-01", "time": "09:00"}, "Choose a time in the future."),
])
def test_invalid_forms_are_shown_again_with_the_message(app, signed_in, expert, fields, message):
    start = slots_for(signed_in, next_weekday(2))[0]["start"]
    before = counts(app)
    response = set_up(signed_in, **{**paris_fields(start), **fields})
    assert response.status_code == 422 and message in response.text
    assert '<p class="note error" role="alert" id="form-error">' in response.text
    assert "may not be null" not in response.text
    assert counts(app) == before


def test_setting_up_a_session_needs_the_forms_token(app, signed_in, expert):
    start = slots_for(signed_in, next_weekday(2))[0]["start"]
    data = {"service": "intro-call", **paris_fields(start), "client_email": "bo@example.com", "client_name": "Bo"}
    for token in ({}, {"csrf_token": "forged"}):
        assert signed_in.post(NEW, data={**data, **token}).status_code == 403
    assert admin_bookings(signed_in, expert) == []


def test_share_again_sends_a_new_link_and_the_old_one_dies(app, signed_in, expert):
    start = slots_for(signed_in, next_weekday(3))[0]["start"]
    assert set_up(signed_in, **paris_fields(start)).status_code == 302
    old = flashed_link(signed_in.get("/dashboard").text)
    [booking] = admin_bookings(signed_in, expert)

    page = post_action(signed_in, f"/dashboard/bookings/{booking['id']}/share")
    assert "New link emailed to Bo Chen. The previous link no longer works." in page.text
    new = flashed_link(page.text)
    assert new != old and last_event(app, booking["id"]) == ("shared", "expert", None)
    assert signed_in.get("/api/v1/manage/" + old.rsplit("/", 1)[1]).status_code == 404
    assert signed_in.get("/api/v1/manage/" + new.rsplit("/", 1)[1]).status_code == 200
    assert all(new in m.get_body(("plain",)).get_content() for m in emails_to(app, "bo@example.com"))

    # Once confirmed it is no longer pending: no share button, and a forged share is a message.
    post_action(signed_in, f"/dashboard/bookings/{booking['id']}/confirm")
    page = post_action(signed_in, f"/dashboard/bookings/{booking['id']}/share")
    assert "Only a pending session can be shared." in page.text
    assert f"/dashboard/bookings/{booking['id']}/share" not in page.text


def test_a_widget_booking_is_never_offered_share_again(app, signed_in, expert):
    start = slots_for(signed_in, next_weekday(4))[0]["start"]
    booking = book(signed_in, start)
    page = signed_in.get("/dashboard").text
    assert "Bo Chen" not in page and f"/dashboard/bookings/{booking['id']}/share" not in page


def test_mark_paid_records_an_outside_payment(app, signed_in, expert):
    response = signed_in.post("/api/v1/admin/services", headers=expert["headers"], json={
        "slug": "portrait", "name": "Portrait", "duration_minutes": 60, "slot_interval_minutes": 60,
        "payment_options": ["outside"], "price": {"amount": 3000, "currency": "usd"}, "max_advance_days": 90})
    assert response.status_code == 201, response.get_json()
    day = next_weekday(1)
    slot = signed_in.get("/api/v1/experts/jane/services/portrait/slots", query_string={
        "start": day.isoformat(), "end": day.isoformat(), "timezone": "UTC"}).get_json()["slots"][0]
    booked = signed_in.post("/api/v1/experts/jane/services/portrait/bookings", json={
        "start": slot["start"], "timezone": "UTC", "client": {"name": "Ann Lee", "email": "ann@example.com"}})
    assert booked.status_code == 201, booked.get_json()
    booking = booked.get_json()["booking"]
    assert booking["status"] == "confirmed" and booking["payment"]["status"] == "pay_outside"
    upcoming = signed_in.get("/dashboard").text.split('id="h-upcoming"')[1].split("</section>")[0]
    assert f"/dashboard/bookings/{booking['id']}/mark-paid" in upcoming and "Paid outside Kairos" in upcoming

    page = post_action(signed_in, f"/dashboard/bookings/{booking['id']}/mark-paid")
    assert "Marked as paid." in page.text
    view = signed_in.get(f"/api/v1/admin/bookings/{booking['id']}", headers=expert["headers"]).get_json()["booking"]
    assert view["status"] == "confirmed" and view["payment"]["status"] == "paid"
    assert f"/dashboard/bookings/{booking['id']}/mark-paid" not in page.text
    assert last_event(app, booking["id"])[:2] == ("paid", "expert")
