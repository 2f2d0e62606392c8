"""The demo expert connects her calendar feed from the dashboard, sees it read, sees it fail when the
feed goes away, and removes it; the page passes axe at phone and desktop widths."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from e2e.conftest import LiveServer, shot
from e2e.test_accessibility import check
from tests.calendar_servers import FeedServer, vcalendar, vevent


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[LiveServer]:
    """The demo server, allowed to read a feed on loopback (the SSRF guard refuses it by default)."""
    live = LiveServer(tmp_path_factory.mktemp("server"), {"KAIROS_CALENDAR_ALLOW_PRIVATE": "1"}).start()
    live.kairos("demo")
    yield live
    live.stop()


@pytest.fixture
def feed() -> Iterator[FeedServer]:
    server = FeedServer()
    server.files["/family.ics"] = vcalendar(vevent("dinner@demo", "DTSTART:20300101T180000Z",
                                                   "DTEND:20300101T200000Z"))
    yield server
    server.close()


@pytest.mark.parametrize("width", [375, 1280])
def test_the_expert_connects_reads_and_removes_a_calendar(page: Page, server, feed, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{server.url}/dashboard")
    page.get_by_label("Email").fill("demo@kairos.example")
    page.get_by_label("Password").fill("demo-password")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Your calendars").click()
    expect(page.get_by_role("heading", name="Your calendars")).to_be_visible()
    expect(page.get_by_text("No calendar connected yet.")).to_be_visible()

    page.get_by_label("ICS feed address").check()
    page.get_by_role("textbox", name="Address").fill("not an address")
    page.get_by_role("button", name="Connect and read it").click()
    expect(page.get_by_role("alert")).to_contain_text("Please correct")
    expect(page.get_by_role("textbox", name="Address")).to_have_attribute("aria-invalid", "true")
    check(page, f"calendars form error at {width}px")

    page.get_by_role("textbox", name="Address").fill(feed.url("/family.ics"))
    page.get_by_role("button", name="Connect and read it").click()
    expect(page.get_by_text("Calendar connected. Its busy times now block your availability.")).to_be_visible()
    expect(page.locator(".cal-health")).to_contain_text("Up to date")
    check(page, f"calendars at {width}px")
    shot(page, f"dashboard-calendars-{width}")
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), "the page scrolls sideways"

    feed.files.clear()  # the feed's address stops working
    page.get_by_role("button", name=f"Read {feed.url('/family.ics')} now").click()
    expect(page.locator(".cal-health")).to_contain_text("Cannot be read")
    expect(page.locator(".cal-error")).to_contain_text("HTTP 404")
    check(page, f"failing calendar at {width}px")

    page.get_by_role("button", name=f"Remove {feed.url('/family.ics')}").click()
    expect(page.get_by_text("Calendar removed.")).to_be_visible()
    expect(page.get_by_text("No calendar connected yet.")).to_be_visible()
