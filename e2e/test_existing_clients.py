"""Existing clients in the embedded widget, on a host page of another origin: sign in with the code
read from a real SMTP server (aiosmtpd), book without typing name or email, pay with the card saved
at the first booking (localstripe); a new client buys a 3-session package and books with a credit;
a clients-only collection shows the sign-in step first. axe on each new step at 375 and 1280 px."""
from __future__ import annotations

import re
import secrets
import time

import pytest
from e2e.test_accessibility import check, widget_frame
from playwright.sync_api import Page, expect

from e2e.conftest import LiveServer, api, first_day_with_slots, host_page, shot, wait_for_mail
from e2e.test_payment import fill_card
from tests.stripe_fake import localstripe  # noqa: F401  (the session fixture: localstripe on a free port)
from tests.test_notifications import SmtpServer

SIZES = ({"width": 375, "height": 800}, {"width": 1280, "height": 900})


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "timezone_id": "Europe/Paris", "locale": "en-GB",
            "viewport": {"width": 1280, "height": 900}}


@pytest.fixture(scope="module")
def shop(tmp_path_factory, localstripe, smtp):  # noqa: F811
    """A live server on localstripe and the test SMTP server: 'consult' at €50 by card or credit, a
    3-session package at €135, a free 'checkin', and a clients-only collection."""
    secret = "whsec_" + secrets.token_hex(16)
    server = LiveServer(tmp_path_factory.mktemp("clients"), env_extra={
        **localstripe.app_env(secret), "KAIROS_SMTP_URL": f"smtp://127.0.0.1:{smtp.port}",
        "KAIROS_OUTBOX_IN_PROCESS": "1",
        "KAIROS_RATE_LIMITS": "booking=0,manage=0,client_auth=0,client_auth_email=0"}).start()
    localstripe.register_webhook(f"{server.url}/api/v1/payments/stripe/webhook", secret)
    token = server.kairos("create-expert", "jane", "--email", "jane@example.com", "--name", "Jane Doe",
                          "--timezone", "Europe/Paris").strip().splitlines()[-1]
    api(server, "PUT", "/api/v1/admin/availability", {
        "timezone": "Europe/Paris", "overrides": [],
        "weekly": {d: [["08:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}, token)
    api(server, "POST", "/api/v1/admin/services", {
        "slug": "consult", "name": "Paid consultation", "duration_minutes": 60, "min_notice_minutes": 24 * 60,
        "price": {"amount": 5000, "currency": "eur"}, "payment_options": ["online", "package"]}, token)
    api(server, "POST", "/api/v1/admin/services", {
        "slug": "checkin", "name": "Check-in", "duration_minutes": 30, "min_notice_minutes": 24 * 60}, token)
    api(server, "POST", "/api/v1/admin/package-plans", {
        "slug": "three-sessions", "name": "Three consultations", "sessions": 3, "services": ["consult"],
        "price": {"amount": 13500, "currency": "eur"}, "expires_after_days": 180,
        "description": "Three paid consultations, to use within six months."}, token)
    api(server, "POST", "/api/v1/admin/collections", {
        "slug": "regulars", "name": "For my regulars", "description": "Sessions and packages for existing clients.",
        "items": [{"service": "consult"}, {"package": "three-sessions"}], "clients_only": True}, token)
    server.token = token
    yield server
    server.stop()


def frame_of(page: Page):
    return page.frame_locator("iframe[title]").first


def code_for(smtp: SmtpServer, email: str, before: int) -> str:
    """The code of the newest sign-in email to ``email`` (the subject starts with it)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = [m for m in smtp.to(email) if "sign-in code" in m["Subject"]]
        if len(found) > before:
            return re.match(r"(\d{6}) ", found[-1]["Subject"]).group(1)
        time.sleep(0.2)  # polling with a deadline: the worker sends within a second or two
    raise AssertionError(f"no sign-in email for {email}")


def sign_in(page: Page, frame, smtp: SmtpServer, email: str, shots: str | None = None) -> None:
    before = len([m for m in smtp.to(email) if "sign-in code" in m["Subject"]])
    frame.get_by_label("Email").fill(email)
    keep = frame.get_by_label("Keep me signed in on this site")
    if keep.count():  # offered only where the browser lets the frame keep anything (partitioned storage)
        keep.check()
    frame.get_by_role("button", name="Email me a code").click()
    expect(frame.get_by_role("heading", name="Check your email")).to_be_visible()
    if shots:
        for size in SIZES:
            page.set_viewport_size(size)
            check(widget_frame(page), f"sign-in code step at {size['width']}", iframes=False)
            shot(page, f"{shots}-{size['width']}")
    frame.get_by_label("Code").fill(code_for(smtp, email, before))
    frame.get_by_role("button", name="Sign in", exact=True).click()
    expect(frame.get_by_text(f"Signed in as {email}").first).to_be_visible()


def bookings_of(server, email: str) -> list[dict]:
    rows = api(server, "GET", "/api/v1/admin/bookings", token=server.token)["bookings"]
    return [b for b in rows if b["client"]["email"] == email]


def test_a_returning_client_signs_in_with_the_emailed_code_and_pays_with_the_saved_card(page: Page, shop, host, smtp):
    # The first booking: name, email and a new card (kept on the client's Stripe customer).
    page.goto(host.page("first.html", host_page(
        shop.url, '<div id="booking" data-kairos-expert="jane" data-kairos-service="consult"></div>')))
    frame = frame_of(page)
    frame.get_by_role("button", name=re.compile(r"^\d{1,2}:\d{2}")).first.click()
    frame.get_by_label("Name").fill("Ann Lee")
    frame.get_by_label("Email").fill("ann@example.com")
    frame.get_by_role("button", name="Next").click()
    frame.get_by_role("radio", name="Card, online").check()
    frame.get_by_role("button", name="Confirm booking").click()
    fill_card(frame, "4242424242424242")
    frame.get_by_role("button", name=re.compile(r"^Pay ")).click()
    expect(frame.get_by_role("heading", name=re.compile("booked", re.I))).to_be_visible(timeout=20000)

    # Back another day: sign in with the code from the email, inside the widget.
    page.goto(host.page("again.html", host_page(
        shop.url, '<div id="booking" data-kairos-expert="jane" data-kairos-service="consult"></div>')))
    frame = frame_of(page)
    frame.get_by_role("button", name="Sign in").click()
    expect(frame.get_by_role("heading", name="Sign in")).to_be_visible()
    for size in SIZES:
        page.set_viewport_size(size)
        check(widget_frame(page), f"sign-in step at {size['width']}", iframes=False)
        shot(page, f"signin-email-{size['width']}")
    sign_in(page, frame, smtp, "ann@example.com", shots="signin-code")

    # No name or email to type: the time, then the review with the saved card chosen.
    frame.get_by_role("button", name=re.compile(r"^\d{1,2}:\d{2}")).first.click()
    expect(frame.get_by_role("heading", name="Review")).to_be_visible()
    expect(frame.get_by_label("Name")).to_have_count(0)
    saved = frame.get_by_role("radio", name=re.compile(r"Visa ending in 4242"))
    expect(saved).to_be_checked()
    shot(page, "signin-saved-card-1280")
    frame.get_by_role("button", name="Confirm booking").click()
    expect(frame.get_by_role("heading", name=re.compile("booked", re.I))).to_be_visible(timeout=20000)
    rows = bookings_of(shop, "ann@example.com")
    assert len(rows) == 2 and all(b["status"] == "confirmed" and b["payment"]["status"] == "paid" for b in rows)

    # The account: upcoming bookings with their manage links, the saved card, and a way out.
    frame.get_by_role("button", name="Book another").click()
    expect(frame.get_by_text("Signed in as ann@example.com").first).to_be_visible()
    frame.get_by_role("button", name="Your account").click()
    expect(frame.get_by_role("link", name=re.compile("Reschedule or cancel"))).to_have_count(2)
    expect(frame.get_by_text(re.compile("Visa ending in 4242"))).to_be_visible()
    check(widget_frame(page), "account", iframes=False)
    shot(page, "account-1280")
    frame.get_by_role("button", name="Sign out").click()
    expect(frame.get_by_role("button", name="Sign in")).to_be_visible()


def test_a_new_client_buys_a_package_in_the_widget_and_books_with_a_credit(page: Page, shop, host):
    page.goto(host.page("package.html", host_page(shop.url, '<div id="booking" data-kairos-expert="jane"></div>')))
    frame = frame_of(page)
    frame.get_by_role("button", name="Three consultations").click()
    expect(frame.get_by_role("heading", name="Three consultations")).to_be_visible()
    for size in SIZES:
        page.set_viewport_size(size)
        check(widget_frame(page), f"package step at {size['width']}", iframes=False)
        shot(page, f"package-{size['width']}")
    frame.get_by_label("Name").fill("Bo Chen")
    frame.get_by_label("Email").fill("bo@example.com")
    frame.get_by_role("button", name=re.compile(r"^Buy for .*135")).click()
    fill_card(frame, "4242424242424242")
    frame.get_by_role("button", name=re.compile(r"^Pay ")).click()
    expect(frame.get_by_role("heading", name="Your package is ready")).to_be_visible(timeout=20000)
    expect(frame.get_by_text(re.compile("3 sessions to book"))).to_be_visible()

    frame.get_by_role("button", name="Book your first session").click()
    frame.get_by_role("button", name=re.compile(r"^\d{1,2}:\d{2}")).first.click()
    expect(frame.get_by_label("Email")).to_have_value("bo@example.com")
    frame.get_by_role("button", name="Next").click()
    expect(frame.get_by_role("radio", name="Package credit")).to_be_checked()
    frame.get_by_role("button", name="Confirm booking").click()
    expect(frame.get_by_role("heading", name=re.compile("booked", re.I))).to_be_visible(timeout=20000)
    [booking] = bookings_of(shop, "bo@example.com")
    assert booking["status"] == "confirmed" and booking["payment"]["option"] == "package"
    assert booking["payment"]["package"]["credits_left"] == 2


def test_a_clients_only_collection_asks_to_sign_in_first(page: Page, shop, host, smtp):
    day = first_day_with_slots(shop, "jane", "checkin", "Europe/Paris")
    start = api(shop, "GET", f"/api/v1/experts/jane/services/checkin/slots?start={day}&end={day}"
                             "&timezone=Europe/Paris")["slots"][0]["start"]
    api(shop, "POST", "/api/v1/experts/jane/services/checkin/bookings", {
        "start": start, "timezone": "Europe/Paris", "client": {"name": "Dee Park", "email": "dee@example.com"}})

    page.goto(host.page("regulars.html", host_page(
        shop.url, '<div id="booking" data-kairos-expert="jane" data-kairos-collection="regulars"></div>')))
    frame = frame_of(page)
    expect(frame.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(frame.get_by_text(re.compile("for existing clients"))).to_be_visible()
    expect(frame.get_by_text("For my regulars")).to_have_count(0)
    for size in SIZES:
        page.set_viewport_size(size)
        check(widget_frame(page), f"clients-only collection, signed out, at {size['width']}", iframes=False)
        shot(page, f"collection-signin-{size['width']}")
    sign_in(page, frame, smtp, "dee@example.com")
    expect(frame.get_by_role("heading", name="For my regulars")).to_be_visible()
    expect(frame.get_by_role("button", name="Paid consultation")).to_be_visible()
    expect(frame.get_by_role("button", name="Three consultations")).to_be_visible()
    for size in SIZES:
        page.set_viewport_size(size)
        check(widget_frame(page), f"collection at {size['width']}", iframes=False)
        shot(page, f"collection-{size['width']}")


def test_the_link_in_the_email_signs_in_on_the_whole_page(page: Page, shop, smtp):
    api(shop, "POST", "/api/v1/experts/jane/client-auth/start", {"email": "eve@example.com"})
    body = wait_for_mail(smtp, "eve@example.com", "").get_content()
    link = re.search(r"(http://\S+/book/jane\?signin=\S+)", body).group(1)
    page.goto(link)
    expect(page.get_by_text("Signed in as eve@example.com").first).to_be_visible()
    assert "signin=" not in page.url  # used once, and gone from the address
    page.goto(link)  # a second time: the link worked once
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_text("Signed in as eve@example.com")).to_have_count(0)
