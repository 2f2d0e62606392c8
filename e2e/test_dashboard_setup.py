"""Done when (issue 14): an expert created with nothing but `kairos create-expert … --password` sets
everything up in the dashboard alone — time zone, weekly hours, a paid personal service with a
question, a group service with a session, a mini-session day — copies the inline snippet from the
Embed page into their own site (another origin), a client books there, and the booking shows in
the dashboard's Bookings with its history. The test calls the API only to read results."""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Iterator

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from e2e.conftest import LiveServer, api, shot
from e2e.test_accessibility import check
from tests.conftest import next_weekday

PASSWORD = "lena-secret-password"


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> Iterator[tuple[LiveServer, str]]:
    """A live server with one expert made by the CLI alone (no demo, no API call), and her API token."""
    live = LiveServer(tmp_path_factory.mktemp("fresh")).start()
    out = live.kairos("create-expert", "lena", "--email", "lena@example.com", "--name", "Lena Park",
                      "--timezone", "UTC", "--password", PASSWORD)
    yield live, out.strip().splitlines()[-1]
    live.stop()


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "timezone_id": "Europe/Paris", "locale": "en-GB",
            "viewport": {"width": 1280, "height": 900}}


def flash(page: Page):
    return page.locator(".flashes")


def test_a_new_expert_sets_up_alone_and_a_client_books_on_her_site(page: Page, context: BrowserContext, fresh, host):
    server, token = fresh
    page.goto(f"{server.url}/dashboard")
    page.get_by_label("Email").fill("lena@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Get set up in a few minutes")).to_be_visible()
    shot(page, "dashboard-first-sign-in-1280")
    nav = page.get_by_role("navigation", name="Dashboard")

    # Her time zone: searched by city in the list of IANA zones.
    nav.get_by_role("link", name="Settings").click()
    page.get_by_label("Time zone").fill("Europe/Paris")
    page.get_by_label("Brand colour (optional)").fill("#7a3e9d")
    page.get_by_role("button", name="Save profile").click()
    expect(flash(page)).to_contain_text("Profile saved.")
    expect(page.get_by_label("Time zone")).to_have_value("Europe/Paris")

    # Weekly hours: Monday 09:00–12:00 and 13:00–17:00, then copied to Tuesday–Friday.
    nav.get_by_role("link", name="Availability").click()
    page.get_by_label("Monday, time 1, From").fill("09:00")
    page.get_by_label("Monday, time 1, to").fill("12:00")
    page.get_by_role("button", name="Add a time on Monday").click()
    page.get_by_label("Monday, time 2, From").fill("13:00")
    page.get_by_label("Monday, time 2, to").fill("17:00")
    page.get_by_role("button", name="Save weekly hours").click()
    expect(flash(page)).to_contain_text("Weekly hours saved.")
    page.get_by_label("Copy the saved hours of").select_option("mon")
    for day in ("Tuesday", "Wednesday", "Thursday", "Friday"):
        page.get_by_role("group", name="to").get_by_label(day).check()
    page.get_by_role("button", name="Copy hours").click()
    expect(flash(page)).to_contain_text("Monday’s hours copied to Tuesday, Wednesday, Thursday, Friday.")
    expect(page.get_by_label("Friday, time 2, to")).to_have_value("17:00")

    # A paid personal service with one question.
    nav.get_by_role("link", name="Services").click()
    page.get_by_role("link", name="Create your first service").click()
    page.get_by_label("Name", exact=True).fill("Strategy session")
    page.get_by_label("Length of a session, in minutes").fill("60")
    page.get_by_label("Price (optional)").fill("90")
    page.get_by_label("Currency").fill("EUR")
    page.get_by_role("checkbox", name=re.compile("Outside Kairos")).check()
    page.get_by_label("Instructions for paying outside Kairos (optional)").fill("Bank transfer to FR76 0000 0000 0000.")
    page.get_by_label("Clients can book at least this many hours ahead").fill("1")
    page.get_by_role("button", name="Add a question").click()
    page.get_by_label("Question", exact=True).fill("What would you like to work on?")
    page.get_by_label("An answer is required").check()
    page.get_by_role("button", name="Create service").click()
    expect(flash(page)).to_contain_text("“Strategy session” saved.")
    preview = page.frame_locator("iframe.widget-preview")
    expect(preview.get_by_text("Strategy session").first).to_be_visible()

    # A group service and one dated session of it.
    saturday = next_weekday(5)
    nav.get_by_role("link", name="Services").click()
    page.get_by_role("link", name="New service").click()
    page.get_by_role("radio", name=re.compile("^Group session")).check()
    page.get_by_label("Name", exact=True).fill("Saturday workshop")
    page.get_by_label("Length of a session, in minutes").fill("120")
    page.get_by_role("button", name="Create service").click()
    expect(flash(page)).to_contain_text("“Saturday workshop” saved.")
    page.get_by_role("link", name="Add sessions").click()
    page.get_by_label("Date").fill(saturday.isoformat())
    page.get_by_label("Starts at").fill("10:00")
    page.get_by_label("Ends at").fill("12:00")
    page.get_by_label("Seats").fill("8")
    page.get_by_label("Place name (optional)").fill("Studio Lumière")
    page.get_by_role("button", name="Add session").click()
    expect(flash(page)).to_contain_text("Session added.")
    expect(page.get_by_role("region", name="Sessions of Saturday workshop (table)")).to_contain_text("0 of 8")

    # A mini-session day, and the slots it makes.
    nav.get_by_role("link", name="Services").click()
    page.get_by_role("link", name="New service").click()
    page.get_by_role("radio", name=re.compile("^Mini sessions")).check()
    page.get_by_label("Name", exact=True).fill("Autumn minis")
    page.get_by_label("Length of a session, in minutes").fill("20")
    page.get_by_role("button", name="Create service").click()
    page.get_by_role("link", name="Add mini-session days").click()
    page.get_by_label("Date").fill((saturday + timedelta(days=7)).isoformat())
    page.get_by_label("First slot at").fill("10:00")
    page.get_by_label("Day ends at").fill("11:00")
    page.get_by_label("Place name").fill("Riverside Park")
    page.get_by_role("button", name="Add the day").click()
    expect(flash(page)).to_contain_text("3 mini sessions added: 10:00, 10:20, 10:40.")

    # The inline snippet of the personal service, copied with its button.
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    nav.get_by_role("link", name="Embed & links").click()
    page.get_by_label("Booking page or service").select_option(label="Strategy session")
    page.get_by_role("button", name="Update snippets and preview").click()
    page.get_by_role("button", name="Copy Inline: the widget where you paste it").click()
    expect(page.locator('[data-copied-for="snippet-inline"]')).to_have_text("Copied")
    snippet = page.evaluate("navigator.clipboard.readText()")
    assert 'data-kairos-service="strategy-session"' in snippet and f"{server.url}/embed.js" in snippet
    check(page, "the Embed page after copying")

    # Her own site, another origin, with the snippet pasted as it is.
    site = host.page("lena.html", f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Lena Park Coaching</title></head>
<body><h1>Work with me</h1>{snippet}</body></html>""")
    client = context.new_page()
    client.goto(site)
    widget = client.frame_locator("iframe[title]").first
    first_time = widget.get_by_role("button", name=re.compile(r"^\d{1,2}:\d{2}")).first
    expect(first_time).to_be_visible()
    first_time.click()
    widget.get_by_label("Name").fill("Ann Lee")
    widget.get_by_label("Email").fill("ann@example.com")
    widget.get_by_label(re.compile("What would you like to work on")).fill("Changing careers")
    widget.get_by_role("button", name="Next").click()
    expect(widget.get_by_text("Bank transfer to FR76 0000 0000 0000.")).to_be_visible()
    widget.get_by_role("button", name="Confirm booking").click()
    expect(widget.get_by_role("heading", name=re.compile("booked|confirmed", re.I))).to_be_visible()
    client.close()

    # Back in the dashboard: the booking, its answer and its history.
    nav.get_by_role("link", name="Bookings").click()
    row = page.get_by_role("list", name="Upcoming bookings").get_by_role("listitem").filter(has_text="Ann Lee")
    expect(row).to_contain_text("Strategy session")
    row.get_by_role("link").first.click()
    expect(page.get_by_role("heading", name="Strategy session with Ann Lee")).to_be_visible()
    expect(page.locator("dl.review")).to_contain_text("Changing careers")
    expect(page.locator("ol.history")).to_contain_text("Booked by the client")
    check(page, "the booking page")

    # Read back through the API: everything the dashboard set up is what the API serves.
    headers_token = token
    profile = api(server, "GET", "/api/v1/admin/profile", token=headers_token)
    assert profile["timezone"] == "Europe/Paris" and profile["brand_color"] == "#7a3e9d"
    availability = api(server, "GET", "/api/v1/admin/availability", token=headers_token)
    assert availability["weekly"]["fri"] == [["09:00", "12:00"], ["13:00", "17:00"]]
    service = api(server, "GET", "/api/v1/admin/services/strategy-session", token=headers_token)["service"]
    assert service["price"] == {"amount": 9000, "currency": "eur"} and service["payment_options"] == ["outside"]
    assert service["questions"][0]["label"] == "What would you like to work on?" and service["questions"][0]["required"]
    bookings = api(server, "GET", "/api/v1/admin/bookings", token=headers_token)["bookings"]
    assert [b["client"]["name"] for b in bookings] == ["Ann Lee"] and bookings[0]["answers"]
    workshop = api(server, "GET", "/api/v1/admin/services/saturday-workshop/sessions", token=headers_token)["sessions"]
    assert len(workshop) == 1 and workshop[0]["capacity"] == 8 and workshop[0]["start"].endswith("+01:00") is not None
    minis = api(server, "GET", "/api/v1/admin/services/autumn-minis/sessions", token=headers_token)["sessions"]
    assert [m["start"][11:16] for m in minis] == ["10:00", "10:20", "10:40"]
