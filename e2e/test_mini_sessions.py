"""A client books a 20-minute portrait mini session at a park, embedded for that service alone,
and the lead follows the booking."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from e2e.test_widget_flow import a_later_weekday, api, embed


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "timezone_id": "America/New_York", "locale": "en-US",
            "viewport": {"width": 375, "height": 800}}


@pytest.fixture(scope="module")
def portraits(server):
    token = server.kairos("create-expert", "lena", "--email", "lena@example.com", "--name", "Lena Photo",
                          "--timezone", "America/New_York").strip().splitlines()[-1]
    api(server, "POST", "/api/v1/admin/services", {
        "slug": "fall-minis", "name": "Fall portrait minis", "kind": "mini", "duration_minutes": 20,
        "description": "Twenty minutes, ten edited photos."}, token)
    day = a_later_weekday(5)
    for place, start, end in (("Riverside Park", "10:00", "11:00"), ("Harbour Steps", "14:00", "14:50")):
        api(server, "POST", "/api/v1/admin/services/fall-minis/mini-days", {
            "date": day.isoformat(), "start_time": start, "end_time": end, "gap_minutes": 10,
            "location": {"type": "in_person", "name": place, "address": f"{place}, Boston"}}, token)
    return {"token": token, "day": day}


def test_a_client_books_a_mini_session_slot_at_the_park(page: Page, server, host, portraits):
    frame = embed(page, server, host, "minis.html", "fall-minis", expert="lena")
    expect(frame.get_by_role("heading", name="Choose a date")).to_be_visible()
    # Two places on one date: 10:00 and 10:30 at the park, 14:00 and 14:30 at the steps.
    slots = frame.locator(".sess-btn, .times button")
    expect(slots).to_have_count(4)
    expect(frame.get_by_text("Riverside Park").first).to_be_visible()
    expect(frame.get_by_text("Harbour Steps").first).to_be_visible()
    frame.get_by_role("button", name=re.compile(r"10:30")).first.click()
    frame.get_by_label("Name").fill("Ada Brook")
    frame.get_by_label("Email").fill("ada@example.com")
    frame.get_by_role("button", name="Next").click()
    expect(frame.locator(".review")).to_contain_text("Riverside Park")
    frame.get_by_role("button", name="Confirm booking").click()
    expect(frame.get_by_role("heading", name="You’re booked")).to_be_visible()
    page.wait_for_function("window.kairosEvents.some(e => e.type === 'kairos:booking-completed')")
    booking = next(e for e in page.evaluate("window.kairosEvents")
                   if e["type"] == "kairos:booking-completed")["detail"]["booking"]
    assert booking["service"]["kind"] == "mini" and "T10:30:00" in booking["start"]
    left = api(server, "GET", f"/api/v1/experts/lena/services/fall-minis/slots?start={portraits['day']}"
                              f"&end={portraits['day'] + timedelta(days=1)}&timezone=America/New_York")["slots"]
    assert [s["start"][11:16] for s in left] == ["10:00", "14:00", "14:30"]
    leads = api(server, "GET", "/api/v1/admin/leads", token=portraits["token"])["leads"]
    assert [(lead["status"], lead["client"]["email"]) for lead in leads] == [("booked", "ada@example.com")]


def test_mini_session_places_are_shown_with_their_times(page: Page, server, host, portraits):
    from e2e.conftest import shot
    frame = embed(page, server, host, "minis2.html", "fall-minis", expert="lena")
    expect(frame.get_by_text("Harbour Steps").first).to_be_visible()
    shot(page, "mini-sessions-375")
