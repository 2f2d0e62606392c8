"""A client books the demo's free intro call in a widget embedded on another site.

The host page lives on http://localhost:A and the widget on http://127.0.0.1:B: two origins,
as on a real expert's website.
"""
from __future__ import annotations

import json
import re
import urllib.request

import pytest
from playwright.sync_api import Page, expect

from e2e.conftest import host_page, shot


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "timezone_id": "Europe/Paris", "locale": "en-GB",
            "viewport": {"width": 1280, "height": 900}}


def widget(page: Page):
    return page.frame_locator("iframe[title]").first


def test_a_client_books_through_the_embedded_widget(page: Page, server, host):
    url = host.page("inline.html", host_page(server.url, '<div id="booking" data-kairos-expert="demo"></div>'))
    page.goto(url)
    frame = widget(page)
    expect(frame.get_by_role("heading", name="Choose a service")).to_be_visible()
    page.wait_for_function("window.kairosEvents.some(e => e.type === 'kairos:ready')")
    frame.get_by_role("button", name=re.compile("Intro call")).click()
    expect(frame.get_by_role("heading", name="Choose a time")).to_be_focused()
    first_time = frame.get_by_role("button", name=re.compile(r"^\d{1,2}:\d{2}")).first
    expect(first_time).to_be_visible()
    chosen_label = first_time.inner_text()
    first_time.click()
    frame.get_by_label("Name").fill("Ann Lee")
    frame.get_by_label("Email").fill("ann@example.com")
    frame.get_by_role("button", name="Next").click()
    frame.get_by_role("button", name="Confirm booking").click()
    expect(frame.get_by_role("heading", name=re.compile("booked|confirmed", re.I))).to_be_visible()
    page.wait_for_function("window.kairosEvents.some(e => e.type === 'kairos:booking-completed')")
    events = page.evaluate("window.kairosEvents")
    completed = [e for e in events if e["type"] == "kairos:booking-completed"]
    assert len(completed) == 1
    booking = completed[0]["detail"]["booking"]
    assert completed[0]["target"] == "booking"  # dispatched on the container, bubbling to document
    assert booking["status"] == "confirmed" and booking["client"]["email"] == "ann@example.com"
    assert booking["timezone"] == "Europe/Paris"
    assert "manage_url" not in json.dumps(completed[0]["detail"])
    # The booking is in the database and its slot is no longer offered.
    admin = urllib.request.Request(f"{server.url}/api/v1/experts/demo/services/intro-call/slots?"
                                   f"start={booking['start'][:10]}&end={booking['start'][:10]}&timezone=Europe/Paris")
    slots = json.loads(urllib.request.urlopen(admin).read())["slots"]
    assert booking["start"] not in [s["start"] for s in slots]
    assert chosen_label
    shot(page, "first-booking-confirmation-1280")
