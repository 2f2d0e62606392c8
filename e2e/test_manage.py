"""A client manages their booking through its link: reschedule, cancel, and see why not.

The manage page is embedded on the expert's site (another origin) with
`<div data-kairos-manage="MANAGE_URL">`, and the host page hears `kairos:booking-rescheduled`
and `kairos:booking-cancelled`, never the token.
"""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import FrameLocator, Page, expect

from e2e.conftest import api, first_day_with_slots, host_page, open_day, shot

TIME = re.compile(r"^\d{1,2}:\d{2}")
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "timezone_id": "Europe/Paris", "locale": "en-GB",
            "viewport": {"width": 1280, "height": 900}}



# The demo services keep the default policy: no change online within 24 hours of the start.
CUTOFF = timedelta(hours=24)


def changeable_day(server, *, after: date | None = None) -> date:
    """A day (in the browser's zone, Paris) whose intro calls are all beyond the cutoff, whatever the hour."""
    return first_day_with_slots(server, "demo", "intro-call", "Europe/Paris", clear_of=CUTOFF, after=after)


def book_on(page: Page, server, host, day: date, name: str, email: str) -> tuple[FrameLocator, dict]:
    """The client books the first intro call of ``day`` in the inline widget; returns the frame and booking."""
    page.goto(host.page(f"book-{email}.html", host_page(
        server.url, '<div id="booking" data-kairos-expert="demo" data-kairos-service="intro-call"></div>')))
    frame = page.frame_locator("#booking iframe")
    open_day(frame, day)
    frame.locator(".times").get_by_role("button", name=TIME).first.click()
    frame.get_by_label("Name").fill(name)
    frame.get_by_label("Email").fill(email)
    frame.get_by_role("button", name="Next").click()
    frame.get_by_role("button", name="Confirm booking").click()
    expect(frame.get_by_role("heading", name="You’re booked")).to_be_visible()
    page.wait_for_function("window.kairosEvents.some(e => e.type === 'kairos:booking-completed')")
    booking = page.evaluate("window.kairosEvents.find(e => e.type === 'kairos:booking-completed').detail.booking")
    return frame, booking


def manage_url_of(frame: FrameLocator, server) -> str:
    href = frame.get_by_role("link", name="Reschedule or cancel").get_attribute("href")
    url = href.split("?")[0]
    assert re.fullmatch(re.escape(server.url) + r"/manage/[A-Za-z0-9_-]{32,}", url), href
    return url


def host_events(page: Page, type_: str) -> list[dict]:
    return [e for e in page.evaluate("window.kairosEvents") if e["type"] == f"kairos:{type_}"]


def when_text(start: str) -> str:
    """How the manage page writes a time (en-GB, 24-hour, the booking's zone: Paris)."""
    at = datetime.fromisoformat(start).astimezone(PARIS)
    return f"{at:%A}, {at.day} {at:%B %Y}"


def test_a_client_reschedules_then_cancels_from_the_manage_page_embedded_on_the_site(page: Page, server, host):
    day = changeable_day(server)
    frame, booking = book_on(page, server, host, day, "Ann Lee", "ann.manage@example.com")
    manage_url = manage_url_of(frame, server)
    token = manage_url.rsplit("/", 1)[1]

    # The expert's "my booking" page embeds the manage link it was given.
    page.goto(host.page("my-booking.html", host_page(server.url, f'<div id="manage" data-kairos-manage="{manage_url}"></div>',
                                                     title="Your booking with Maya")))
    manage = page.frame_locator("#manage iframe")
    expect(manage.get_by_role("heading", name="Your booking")).to_be_visible()
    expect(manage.locator(".status")).to_have_text("Confirmed")
    expect(manage.locator(".summary")).to_contain_text(when_text(booking["start"]))

    # Reschedule to the first time of the next weekday.
    manage.get_by_role("button", name="Reschedule").click()
    expect(manage.get_by_role("heading", name="Pick a new time")).to_be_focused()
    new_day = changeable_day(server, after=day)
    open_day(manage, new_day)
    new_time = manage.locator(".times").get_by_role("button", name=TIME).first
    new_label = new_time.inner_text().strip()
    new_time.click()
    expect(manage.get_by_role("heading", name="Move your booking to this time?")).to_be_focused()
    expect(manage.locator(".was")).to_contain_text("Currently:")
    manage.get_by_role("button", name="Reschedule").click()
    expect(manage.get_by_role("heading", name="Your booking has been moved.")).to_be_focused()
    summary = manage.locator(".summary")
    expect(summary).to_contain_text(when_text(f"{new_day}T12:00:00+00:00"))
    expect(summary).to_contain_text(f"{new_label} – ")

    page.wait_for_function("window.kairosEvents.some(e => e.type === 'kairos:booking-rescheduled')")
    moved = host_events(page, "booking-rescheduled")
    assert len(moved) == 1 and moved[0]["target"] == "manage"
    moved_booking = moved[0]["detail"]["booking"]
    assert moved_booking["id"] == booking["id"] and moved_booking["status"] == "confirmed"
    assert datetime.fromisoformat(moved_booking["start"]).astimezone(PARIS).date() == new_day
    assert datetime.fromisoformat(moved_booking["start"]).astimezone(PARIS).strftime("%-H:%M") == new_label
    assert token not in json.dumps(moved) and "manage_url" not in json.dumps(moved[0]["detail"])

    # Then the client cancels, with a word for the expert.
    manage.get_by_role("button", name="Cancel booking").click()
    expect(manage.get_by_role("heading", name="Cancel this booking?")).to_be_focused()
    manage.get_by_label("Message to Dr. Maya Lindqvist (optional)").fill("Something came up, sorry.")
    manage.get_by_role("button", name="Cancel booking").click()
    expect(manage.get_by_role("heading", name="Your booking is cancelled.")).to_be_focused()
    expect(manage.locator(".status")).to_have_text("Cancelled")
    page.wait_for_function("window.kairosEvents.some(e => e.type === 'kairos:booking-cancelled')")
    cancelled = host_events(page, "booking-cancelled")
    assert len(cancelled) == 1 and cancelled[0]["target"] == "manage"
    assert cancelled[0]["detail"]["booking"]["status"] == "cancelled"
    assert token not in json.dumps(cancelled)

    # The link still opens, and says why nothing can be changed any more.
    page.reload()
    manage = page.frame_locator("#manage iframe")
    expect(manage.locator(".status")).to_have_text("Cancelled")
    expect(manage.get_by_text("This booking has been cancelled.")).to_be_visible()
    expect(manage.get_by_role("button", name="Reschedule")).to_have_count(0)
    expect(manage.get_by_role("button", name="Cancel booking")).to_have_count(0)
    expect(manage.get_by_role("link", name="Book another time")).to_be_visible()
    state = api(server, "GET", f"/api/v1/manage/{token}")
    assert state["booking"]["status"] == "cancelled"
    assert (state["can_cancel"], state["can_reschedule"], state["reason"]) == (False, False, "cancelled")


def test_the_confirmation_link_manages_the_booking_inside_the_same_widget(page: Page, server, host):
    day = changeable_day(server)
    frame, booking = book_on(page, server, host, day, "Ben Ode", "ben.manage@example.com")
    frame.get_by_role("link", name="Reschedule or cancel").click()
    expect(frame.get_by_role("heading", name="Your booking")).to_be_visible()
    expect(frame.locator(".summary")).to_contain_text(when_text(booking["start"]))
    frame.get_by_role("button", name="Cancel booking").click()
    frame.get_by_role("button", name="Cancel booking").click()
    expect(frame.get_by_role("heading", name="Your booking is cancelled.")).to_be_visible()
    # The host page hears it from the container it put on the page, as for the booking itself.
    page.wait_for_function("window.kairosEvents.some(e => e.type === 'kairos:booking-cancelled')")
    cancelled = host_events(page, "booking-cancelled")
    assert cancelled[0]["target"] == "booking" and cancelled[0]["detail"]["booking"]["id"] == booking["id"]
    # And the cancelled time is offered again.
    slots = api(server, "GET", f"/api/v1/experts/demo/services/intro-call/slots?start={day}&end={day}&timezone=Europe/Paris")
    assert booking["start"] in [s["start"] for s in slots["slots"]]


def test_a_booking_inside_the_cutoff_says_why_it_cannot_be_changed(page: Page, server):
    token = server.kairos("create-expert", "last-minute", "--email", "lm@example.com", "--name", "Lena Minute",
                          "--timezone", "Europe/Paris").strip().splitlines()[-1]
    api(server, "PUT", "/api/v1/admin/availability", {
        "timezone": "Europe/Paris", "overrides": [],
        "weekly": {d: [["08:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}, token)
    api(server, "POST", "/api/v1/admin/services", {
        "slug": "call", "name": "Call", "duration_minutes": 30, "min_notice_minutes": 0,
        "policy": {"client_can_cancel": True, "client_can_reschedule": True, "cutoff_hours": 24 * 30}}, token)
    today = datetime.now(PARIS).date()
    slot = api(server, "GET", f"/api/v1/experts/last-minute/services/call/slots?start={today + timedelta(days=2)}"
                              f"&end={today + timedelta(days=3)}&timezone=Europe/Paris")["slots"][0]
    made = api(server, "POST", "/api/v1/experts/last-minute/services/call/bookings", {
        "start": slot["start"], "timezone": "Europe/Paris", "client": {"name": "Cy Dune", "email": "cy@example.com"}})
    page.goto(made["booking"]["manage_url"])  # the link from the email, as a whole page
    expect(page.get_by_role("heading", name="Your booking")).to_be_visible()
    expect(page.locator(".status")).to_have_text("Confirmed")
    expect(page.get_by_text("It is too close to the start to change this booking online. Please contact Lena Minute.")).to_be_visible()
    expect(page.get_by_role("button", name="Reschedule")).to_have_count(0)
    expect(page.get_by_role("button", name="Cancel booking")).to_have_count(0)


def test_the_manage_page_adds_the_booking_to_a_calendar_with_the_servers_file(page: Page, server, host):
    frame, booking = book_on(page, server, host, changeable_day(server), "Cal Lee", "cal.manage@example.com")
    page.goto(manage_url_of(frame, server))
    expect(page.get_by_role("heading", name="Your booking")).to_be_visible()
    link = page.get_by_role("link", name="Apple / Outlook (.ics)")
    expect(link).to_be_visible()
    href = link.get_attribute("href")
    assert href.startswith(f"{server.url}/api/v1/manage/") and href.endswith("/booking.ics"), href
    file = page.request.get(href)
    assert file.ok and file.headers["content-type"].startswith("text/calendar")
    assert f"UID:{booking['id']}@kairos" in file.text()
    expect(page.get_by_role("link", name="Google Calendar")).to_have_attribute(
        "href", re.compile(r"^https://calendar\.google\.com/"))
    shot(page, "manage-add-to-calendar-1280")
    page.set_viewport_size({"width": 375, "height": 800})
    expect(link).to_be_visible()
    shot(page, "manage-add-to-calendar-375")
