"""A client pays for a session inside the embedded widget, with localstripe's Stripe.js.

localstripe (a stateful fake of Stripe, DESIGN.md) runs on its own port; the live `kairos serve`
talks to it with the stripe SDK and receives its signed webhooks. Its fake Stripe.js mounts plain
card inputs in the widget's page (no iframe), which the widget names for assistive technology.
The host page is on another origin, as on an expert's own site.
"""
from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from e2e.test_accessibility import check, widget_frame
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from e2e.conftest import LiveServer, api, host_page, shot
from tests.stripe_fake import localstripe  # noqa: F401  (the session fixture: localstripe on a free port)

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "timezone_id": "Europe/Paris", "locale": "en-GB",
            "viewport": {"width": 1280, "height": 900}}



@pytest.fixture(scope="module")
def paid(tmp_path_factory, localstripe):  # noqa: F811
    """A live server on localstripe, with an expert whose 'consult' costs €50, paid online."""
    secret = "whsec_" + secrets.token_hex(16)
    server = LiveServer(tmp_path_factory.mktemp("paid"), env_extra=localstripe.app_env(secret)).start()
    localstripe.register_webhook(f"{server.url}/api/v1/payments/stripe/webhook", secret)
    token = server.kairos("create-expert", "jane", "--email", "jane@example.com", "--name", "Jane Doe",
                          "--timezone", "Europe/Paris").strip().splitlines()[-1]
    api(server, "PUT", "/api/v1/admin/availability", {
        "timezone": "Europe/Paris", "overrides": [],
        "weekly": {d: [["08:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}, token)
    api(server, "POST", "/api/v1/admin/services", {
        "slug": "consult", "name": "Paid consultation", "duration_minutes": 60, "min_notice_minutes": 24 * 60,
        "price": {"amount": 5000, "currency": "eur"}, "payment_options": ["online"]}, token)
    server.token = token
    yield server
    server.stop()


def widget(page: Page):
    return page.frame_locator("iframe[title]").first


def reach_payment(page: Page, server, host, email: str):
    """The client picks the first free time and reaches the payment step; returns the frame."""
    page.goto(host.page(f"pay-{email}.html", host_page(
        server.url, '<div id="booking" data-kairos-expert="jane" data-kairos-service="consult"></div>')))
    frame = widget(page)
    frame.get_by_role("button", name=re.compile(r"^\d{1,2}:\d{2}")).first.click()
    frame.get_by_label("Name").fill("Ann Lee")
    frame.get_by_label("Email").fill(email)
    frame.get_by_role("button", name="Next").click()
    expect(frame.get_by_text(re.compile("by card in the next step"))).to_be_visible()
    frame.get_by_role("button", name="Confirm booking").click()
    expect(frame.get_by_role("heading", name="Payment")).to_be_visible()
    expect(frame.get_by_text(re.compile("This time is held for you"))).to_be_visible()
    expect(frame.get_by_label("Card number")).to_be_visible()
    return frame


def fill_card(frame, number: str) -> None:
    frame.get_by_label("Card number").fill(number)
    frame.get_by_label("Expiry month").fill("12")
    frame.get_by_label("Expiry year").fill("34")
    frame.get_by_label("Security code (CVC)").fill("123")
    frame.get_by_label("Postal code").fill("75001")


def admin_booking(server, email: str) -> dict:
    rows = api(server, "GET", "/api/v1/admin/bookings", token=server.token)["bookings"]
    return next(b for b in rows if b["client"]["email"] == email)


def test_a_client_pays_inside_the_embedded_widget(page: Page, paid, host):
    frame = reach_payment(page, paid, host, "ann@example.com")
    fill_card(frame, "4242424242424242")
    pay = frame.get_by_role("button", name=re.compile(r"^Pay .*50"))
    expect(pay).to_be_visible()
    shot(page, "payment-step-1280")
    pay.click()
    expect(frame.get_by_role("heading", name=re.compile("booked", re.I))).to_be_visible(timeout=20000)
    page.wait_for_function("window.kairosEvents.some(e => e.type === 'kairos:booking-completed')")
    completed = [e for e in page.evaluate("window.kairosEvents") if e["type"] == "kairos:booking-completed"]
    assert len(completed) == 1
    booking = completed[0]["detail"]["booking"]
    assert booking["status"] == "confirmed" and booking["client"]["email"] == "ann@example.com"
    stored = admin_booking(paid, "ann@example.com")
    assert stored["status"] == "confirmed" and stored["payment"]["status"] == "paid"
    assert stored["payment"]["amount"] == 5000


def test_a_declined_card_shows_its_message_and_keeps_the_hold(page: Page, paid, host):
    page.set_viewport_size({"width": 375, "height": 800})
    frame = reach_payment(page, paid, host, "bo@example.com")
    fill_card(frame, "4000000000000002")
    shot(page, "payment-step-375")
    frame.get_by_role("button", name=re.compile(r"^Pay ")).click()
    error = frame.get_by_role("alert").filter(has_text="Your card was declined.")
    expect(error).to_be_visible(timeout=20000)
    expect(error).to_be_focused()
    shot(page, "payment-declined-375")
    # The payment step, its card fields and the error pass axe too.
    check(widget_frame(page), "payment step with a declined card", iframes=False)
    # Still held: pending payment, and the time is not offered to anyone else.
    held = admin_booking(paid, "bo@example.com")
    assert held["status"] == "pending_payment"
    day = datetime.fromisoformat(held["start"]).astimezone(PARIS).date()
    slots = api(paid, "GET", f"/api/v1/experts/jane/services/consult/slots?start={day}&end={day + timedelta(days=1)}"
                             f"&timezone=Europe/Paris")["slots"]
    assert held["start"] not in [s["start"] for s in slots]
    events = [e["type"] for e in page.evaluate("window.kairosEvents")]
    assert "kairos:booking-completed" not in events
    # Another card on the same page goes through (a fresh card setup behind the scenes).
    frame.get_by_label("Card number").fill("4242424242424242")
    frame.get_by_role("button", name=re.compile(r"^Pay ")).click()
    expect(frame.get_by_role("heading", name=re.compile("booked", re.I))).to_be_visible(timeout=20000)
    page.wait_for_function("window.kairosEvents.some(e => e.type === 'kairos:booking-completed')")
    assert admin_booking(paid, "bo@example.com")["status"] == "confirmed"


def test_a_hold_that_runs_out_takes_the_client_back_to_the_times(page: Page, paid, host):
    """The client leaves the payment step open too long: the countdown reaches zero, the widget says
    so, goes back to fresh times and tells the host page (`kairos:hold-expired`); nothing is booked.
    The browser's clock is fast-forwarded (the server's hold ends on its own clock, tested in the API)."""
    page.clock.install()
    frame = reach_payment(page, paid, host, "cy@example.com")
    held = admin_booking(paid, "cy@example.com")
    assert held["status"] == "pending_payment"
    page.clock.fast_forward("30:00")  # past hold_minutes (15 by default)
    expect(frame.get_by_text("The hold on this time has run out. Please pick a time again.")).to_be_visible()
    expect(frame.get_by_role("heading", name="Choose a time")).to_be_visible()
    page.wait_for_function("window.kairosEvents.some(e => e.type === 'kairos:hold-expired')")
    expired = [e for e in page.evaluate("window.kairosEvents") if e["type"] == "kairos:hold-expired"]
    assert len(expired) == 1 and expired[0]["detail"]["booking"]["id"] == held["id"]
    assert "manage_url" not in str(expired[0]["detail"])
    assert "kairos:booking-completed" not in [e["type"] for e in page.evaluate("window.kairosEvents")]


def test_a_3d_secure_card_pays_after_the_client_authenticates(page: Page, paid, host):
    """4000 0025 0000 3155 asks for authentication: localstripe's Stripe.js shows its challenge inside
    the widget; completing it confirms the booking, once."""
    frame = reach_payment(page, paid, host, "dee@example.com")
    fill_card(frame, "4000002500003155")
    frame.get_by_role("button", name=re.compile(r"^Pay ")).click()
    challenges = 0
    for _ in range(2):  # the card setup, then the payment, may each ask
        challenge = frame.get_by_role("button", name="Complete authentication")
        try:
            challenge.wait_for(timeout=5000)
        except PlaywrightTimeout:
            break
        challenge.click()
        challenges += 1
    assert challenges >= 1, "the card asked for authentication"
    expect(frame.get_by_role("heading", name=re.compile("booked", re.I))).to_be_visible(timeout=20000)
    page.wait_for_function("window.kairosEvents.some(e => e.type === 'kairos:booking-completed')")
    assert admin_booking(paid, "dee@example.com")["status"] == "confirmed"


def test_a_failed_3d_secure_challenge_keeps_the_hold_and_says_why(page: Page, paid, host):
    frame = reach_payment(page, paid, host, "eve@example.com")
    fill_card(frame, "4000002500003155")
    frame.get_by_role("button", name=re.compile(r"^Pay ")).click()
    frame.get_by_role("button", name="Fail authentication").click()
    expect(frame.get_by_role("alert")).to_contain_text(re.compile("authenticat", re.I), timeout=20000)
    assert admin_booking(paid, "eve@example.com")["status"] == "pending_payment"
    assert "kairos:booking-completed" not in [e["type"] for e in page.evaluate("window.kairosEvents")]
