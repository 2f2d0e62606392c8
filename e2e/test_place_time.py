"""A client in Los Angeles books a Boston photographer's mini session in the park: the session is at
10:00 in Boston, and the widget, the manage page and the email say so first, with 7:00 beside it."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from e2e.conftest import LiveServer, host_page, shot, wait_for_mail
from e2e.test_accessibility import check, widget_frame
from e2e.test_widget_flow import a_later_weekday, api, embed

AT_PLACE, YOURS = "10:00 AM Boston time", "7:00 AM your time"


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "timezone_id": "America/Los_Angeles", "locale": "en-US",
            "viewport": {"width": 375, "height": 800}}


@pytest.fixture(scope="module")
def photographer(server):
    token = server.kairos("create-expert", "nora", "--email", "nora@example.com", "--name", "Nora Lens",
                          "--timezone", "America/New_York").strip().splitlines()[-1]
    api(server, "POST", "/api/v1/admin/services", {
        "slug": "park-minis", "name": "Park minis", "kind": "mini", "duration_minutes": 20}, token)
    day = a_later_weekday(5)
    # No zone on the place: it is the expert's (America/New_York); "Boston" names the clock.
    api(server, "POST", "/api/v1/admin/services/park-minis/mini-days", {
        "date": day.isoformat(), "start_time": "10:00", "end_time": "10:20", "gap_minutes": 0,
        "location": {"type": "in_person", "name": "Riverside Park", "address": "Riverside Park, Boston",
                     "city": "Boston"}}, token)
    return {"token": token, "day": day}


@pytest.fixture(scope="module")
def server(tmp_path_factory, smtp):
    """A live server that sends its mail to the test SMTP server (the clients' confirmations are read there)."""
    live = LiveServer(tmp_path_factory.mktemp("server"), env_extra={
        "KAIROS_SMTP_URL": f"smtp://127.0.0.1:{smtp.port}"}).start()
    yield live
    live.stop()


def test_a_los_angeles_client_sees_the_boston_time_first(page: Page, server, host, photographer, smtp):
    frame = embed(page, server, host, "boston-minis.html", "park-minis", expert="nora")
    slot = frame.get_by_role("button", name=f"{AT_PLACE} · {YOURS}")
    expect(slot).to_be_visible()
    expect(slot.locator(".yours")).to_have_text(YOURS)
    check(widget_frame(page), "times at a place on another clock")
    shot(page, "place-time-375")
    page.set_viewport_size({"width": 1280, "height": 800})
    shot(page, "place-time-1280")
    page.set_viewport_size({"width": 375, "height": 800})
    slot.click()

    frame.get_by_label("Name").fill("Ada Brook")
    frame.get_by_label("Email").fill("ada@example.com")
    frame.get_by_role("button", name="Next").click()
    expect(frame.locator(".review")).to_contain_text("10:00 AM – 10:20 AM Boston time · 7:00 AM – 7:20 AM your time")
    frame.get_by_role("button", name="Confirm booking").click()
    expect(frame.get_by_role("heading", name="You’re booked")).to_be_visible()
    expect(frame.locator(".summary")).to_contain_text("10:00 AM – 10:20 AM Boston time · 7:00 AM – 7:20 AM your time")
    manage_url = frame.get_by_role("link", name="Reschedule or cancel").get_attribute("href").split("?")[0]

    # The manage page, embedded on the photographer's site as the email's link leads to it.
    page.goto(host.page("my-mini.html", host_page(server.url, f'<div id="manage" data-kairos-manage="{manage_url}"></div>',
                                                  title="Your session with Nora")))
    manage = page.frame_locator("#manage iframe")
    expect(manage.get_by_role("heading", name="Your booking")).to_be_visible()
    expect(manage.locator(".summary")).to_contain_text("10:00 AM – 10:20 AM Boston time · 7:00 AM – 7:20 AM your time")
    check(widget_frame(page, "/manage"), "manage page of a session at a place on another clock")
    shot(page, "place-time-manage-375")
    page.set_viewport_size({"width": 1280, "height": 800})
    shot(page, "place-time-manage-1280")

    message = wait_for_mail(smtp, "ada@example.com", "Confirmed")
    text = message.get_body(("plain",)).get_content()
    assert "10:00–10:20 Boston time · 07:00–07:20 your time" in text, text
    assert "10:00–10:20 Boston time" in message["Subject"]
    html = message.get_body(("html",)).get_content()
    assert "10:00–10:20 Boston time · 07:00–07:20 your time" in html


def test_a_personal_studio_session_shows_the_studio_clock_too(page: Page, server, host):
    token = server.kairos("create-expert", "sam", "--email", "sam@example.com", "--name", "Sam Studio",
                          "--timezone", "America/New_York").strip().splitlines()[-1]
    weekly = {d: [["09:00", "10:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    api(server, "PUT", "/api/v1/admin/availability", {"timezone": "America/New_York", "weekly": weekly,
                                                       "overrides": []}, token)
    api(server, "POST", "/api/v1/admin/services", {
        "slug": "studio", "name": "Studio portrait", "duration_minutes": 60, "max_advance_days": 30,
        "location": {"type": "in_person", "address": "12 Main St, Boston", "city": "Boston"}}, token)
    frame = embed(page, server, host, "studio.html", "studio", expert="sam")
    # Every weekday offers 09:00 in Boston only: whichever day the calendar opens on shows it so.
    expect(frame.get_by_role("button", name="9:00 AM Boston time · 6:00 AM your time")).to_be_visible()
