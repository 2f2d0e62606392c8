"""The demo expert signs in to the dashboard in a real browser: axe finds nothing, a phone does not
scroll sideways, and the pages are photographed for the README (docs/screenshots/dashboard-<width>.png)."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from e2e.conftest import api, shot
from e2e.test_accessibility import check

WIDTHS = [375, 1280]


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "timezone_id": "America/New_York", "locale": "en-US"}



@pytest.fixture
def bookings(server) -> list[dict]:
    """Two clients book the demo expert's intro call through the public API, as the widget does
    (each test books its own two: the first test cancels one of them)."""
    today = date.today()
    slots = api(server, "GET", "/api/v1/experts/demo/services/intro-call/slots?"
                 f"start={today + timedelta(days=2)}&end={today + timedelta(days=16)}&timezone=America/New_York")["slots"]
    made = []
    for slot, (name, email) in zip(slots[::7], [("Ann Lee", "ann@example.com"), ("Bo Chen", "bo@example.com")]):
        made.append(api(server, "POST", "/api/v1/experts/demo/services/intro-call/bookings", {
            "start": slot["start"], "timezone": "Europe/Paris", "client": {"name": name, "email": email}})["booking"])
    return made


@pytest.mark.parametrize("width", WIDTHS)
def test_the_demo_expert_signs_in_and_sees_an_accessible_dashboard(page: Page, server, bookings, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{server.url}/dashboard")
    expect(page.get_by_role("heading", name="Sign in to your dashboard")).to_be_visible()
    check(page, f"sign-in page at {width}px")

    page.get_by_label("Email").fill("demo@kairos.example")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("do not match")
    expect(page.get_by_label("Email")).to_have_value("demo@kairos.example")
    check(page, f"sign-in error at {width}px")

    page.get_by_label("Password").fill("demo-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your dashboard")).to_be_visible()
    upcoming = page.get_by_role("region", name="Upcoming bookings (table)")
    expect(upcoming).to_contain_text("Ann Lee")
    expect(upcoming).to_contain_text("Bo Chen")
    expect(page.get_by_role("link", name=f"{server.url}/book/demo")).to_be_visible()
    expect(page.locator("pre.snippet")).to_contain_text('<div data-kairos-expert="demo" style="min-height:720px"></div>')
    check(page, f"dashboard at {width}px")

    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), "the page scrolls sideways"
    small = page.evaluate("""() => [...document.querySelectorAll('button, .btn, input, textarea')]
        .map(el => el.getBoundingClientRect()).filter(r => r.height && r.height < 44).length""")
    assert small == 0, f"{small} controls are under 44 px tall"
    page.mouse.move(width - 1, 1)
    shot(page, f"dashboard-{width}")

    # Cancelling asks first, then says it is done.
    upcoming.get_by_role("link", name="Cancel Intro call with Bo Chen").click()
    expect(page.get_by_role("heading", name="Cancel this booking?")).to_be_visible()
    check(page, f"cancel page at {width}px")
    page.get_by_label("Message to the client (optional)").fill("Sorry, I have to move this.")
    page.get_by_role("button", name="Cancel booking").click()
    expect(page.get_by_role("status")).to_contain_text("Booking cancelled.")
    expect(page.get_by_role("region", name="Recent cancellations (table)")).to_contain_text(
        "Sorry, I have to move this.")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to your dashboard")).to_be_visible()


def test_the_demo_expert_sets_up_a_one_off_session_on_a_phone(page: Page, server):
    """Flow 2 from the dashboard: a one-off session for a new client; the flash shows the link to copy."""
    page.set_viewport_size({"width": 375, "height": 900})
    page.goto(f"{server.url}/dashboard")
    page.get_by_label("Email").fill("demo@kairos.example")
    page.get_by_label("Password").fill("demo-password")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="New session").click()
    expect(page.get_by_role("heading", name="New session")).to_be_visible()
    expect(page.locator("#when-hint")).to_contain_text("America/New_York")
    check(page, "new-session page at 375px")

    day = date.today() + timedelta(days=10)
    page.get_by_label("Service").select_option(label="One-off session")
    page.get_by_label("Date").fill(day.isoformat())
    page.get_by_label("Start time").fill("19:15")
    page.get_by_label("Client’s email").fill("nia.obi@example.com")
    page.get_by_label("Client’s name").fill("Nia Obi")
    page.get_by_role("button", name="Set up and email the client").click()
    # A one-off has no length of its own: the form comes back as typed, the message beside it.
    expect(page.get_by_role("alert")).to_contain_text("Enter the length in minutes of a one-off session.")
    expect(page.get_by_label("Client’s name")).to_have_value("Nia Obi")
    expect(page.get_by_label("Length in minutes (required for a one-off)")).to_have_attribute("aria-invalid", "true")
    check(page, "new-session error at 375px")
    page.mouse.move(374, 1)
    shot(page, "dashboard-new-session-375")

    page.get_by_label("Length in minutes (required for a one-off)").fill("45")
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), "the form scrolls sideways"
    small = page.evaluate("""() => [...document.querySelectorAll('button, .btn, input:not([type=hidden]), select')]
        .map(el => el.getBoundingClientRect()).filter(r => r.height && r.height < 44 && r.width > 30).length""")
    assert small == 0, f"{small} controls are under 44 px tall"
    page.get_by_role("button", name="Set up and email the client").click()

    status = page.get_by_role("status")
    expect(status).to_contain_text("Session set up. Nia Obi was emailed a link to complete it.")
    link = page.locator("code.share-link").inner_text()
    assert link.startswith(f"{server.url}/manage/mt_"), link
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), "the link widens the page"
    pending = page.get_by_role("region", name="Pending sessions (table)")
    expect(pending).to_contain_text("Nia Obi")
    expect(pending.get_by_role("button", name="Share again Session with Nia Obi")).to_be_visible()
    check(page, "dashboard with a share link at 375px")
    assert api(server, "GET", link.replace(f"{server.url}/manage/", "/api/v1/manage/"))["booking"]["status"] == "pending"
