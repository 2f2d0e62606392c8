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
    upcoming = page.get_by_role("region", name="Upcoming bookings (scrolls sideways)")
    expect(upcoming).to_contain_text("Ann Lee")
    expect(upcoming).to_contain_text("Bo Chen")
    expect(page.get_by_role("link", name=f"{server.url}/book/demo")).to_be_visible()
    expect(page.locator("pre.snippet")).to_contain_text('<div data-kairos-expert="demo"></div>')
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
    expect(page.get_by_role("region", name="Recent cancellations (scrolls sideways)")).to_contain_text(
        "Sorry, I have to move this.")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to your dashboard")).to_be_visible()
