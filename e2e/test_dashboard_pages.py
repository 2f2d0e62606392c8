"""Every dashboard page of the demo expert, on a phone (375 px) and a laptop (1280 px): axe finds
nothing, nothing scrolls sideways (the page, nor a table inside its box), and each is photographed for the README
(docs/screenshots/dashboard-<page>-<width>.png). The menu works with the keyboard alone; on a phone the header
keeps one row whatever the expert's name."""
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


@pytest.fixture(scope="module")
def booked(server) -> dict:
    """A client books the demo's coaching session (with its question) through the public API."""
    today = date.today()
    slots = api(server, "GET", "/api/v1/experts/demo/services/coaching-session/slots?"
                f"start={today + timedelta(days=3)}&end={today + timedelta(days=17)}&timezone=Europe/Paris")["slots"]
    return api(server, "POST", "/api/v1/experts/demo/services/coaching-session/bookings", {
        "start": slots[3]["start"], "timezone": "Europe/Paris",
        "client": {"name": "Noor Haddad", "email": "noor@example.com", "phone": "+33 6 12 34 56 78"},
        "answers": {"goal": "Moving from teaching to UX research."}, "message": "Looking forward to it."})["booking"]


# The captions of the tables wider than a box around them: the page itself may fit while a table
# scrolls sideways inside its own box (overflow-x: auto), which on a phone hides columns.
TABLES_WIDER_THAN_THEIR_BOX = """() => [...document.querySelectorAll('main table')].filter(table => {
    for (let box = table.parentElement; box && box !== document.body; box = box.parentElement) {
        if (box.scrollWidth > box.clientWidth + 1) return true;
    }
    return false;
}).map(table => (table.querySelector('caption') || table).textContent.trim().slice(0, 60))"""


def sign_in(page: Page, server, email: str = "demo@kairos.example", password: str = "demo-password") -> None:
    page.goto(f"{server.url}/dashboard")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your dashboard")).to_be_visible()


def pages(booking_id: str, client_id: int) -> list[tuple[str, str, str]]:
    """(name, path, heading) of every page an expert uses."""
    return [
        ("overview", "/dashboard", "Your dashboard"),
        ("bookings", "/dashboard/bookings", "Bookings"),
        ("booking", f"/dashboard/bookings/{booking_id}", "Coaching session with Noor Haddad"),
        ("services", "/dashboard/services", "Services"),
        ("service-edit", "/dashboard/services/strategy-session/edit", "Strategy session"),
        ("service-new", "/dashboard/services/new", "New service"),
        ("sessions-group", "/dashboard/services/saturday-workshop/sessions", "Saturday career workshop: sessions"),
        ("sessions-mini", "/dashboard/services/headshot-minis/sessions", "LinkedIn headshot minis: mini-session days"),
        ("availability", "/dashboard/availability", "Availability"),
        ("clients", "/dashboard/clients", "Clients"),
        ("client", f"/dashboard/clients/{client_id}", "Sam Rivera"),
        ("leads", "/dashboard/leads", "Leads"),
        ("embed", "/dashboard/embed?service=strategy-session&mode=popup", "Embed & links"),
        ("settings", "/dashboard/settings", "Settings"),
        ("integrations", "/dashboard/settings/integrations", "Webhooks and API tokens"),
        ("session-new", "/dashboard/sessions/new", "New session"),
        ("cancel", f"/dashboard/bookings/{booking_id}/cancel", "Cancel this booking?"),
    ]


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_is_accessible_fits_and_is_photographed(page: Page, server, booked, width):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, server)
    page.goto(f"{server.url}/dashboard/clients?q=sam")
    client_id = int(page.get_by_role("link", name="Sam Rivera").get_attribute("href").rsplit("/", 1)[1])
    for name, path, heading in pages(booked["id"], client_id):
        page.goto(server.url + path)
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        if page.locator("iframe.widget-preview").count():
            expect(page.frame_locator("iframe.widget-preview").locator("body")).not_to_be_empty()
        check(page, f"{name} at {width}px")
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), f"{name} scrolls sideways at {width}px"
        assert not page.evaluate(TABLES_WIDER_THAN_THEIR_BOX), f"{name}: a table scrolls sideways in its box at {width}px"
        small = page.evaluate("""() => [...document.querySelectorAll('main button, main .btn, main input:not([type=hidden]):not([type=checkbox]):not([type=radio]), main select')]
            .map(el => el.getBoundingClientRect()).filter(r => r.height && r.height < 44).length""")
        assert small == 0, f"{name}: {small} controls under 44 px tall at {width}px"
        page.mouse.move(width - 1, 1)
        shot(page, f"dashboard-{name}-{width}")


def test_the_menu_works_with_the_keyboard_alone_on_a_phone(page: Page, server):
    page.set_viewport_size({"width": 375, "height": 800})
    sign_in(page, server)
    menu = page.get_by_role("button", name="Menu")
    links = page.get_by_role("navigation", name="Dashboard").get_by_role("link")
    expect(links.first).to_be_hidden()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to the page")).to_be_focused()
    for _ in range(3):
        if page.evaluate("document.activeElement.textContent.trim()") == "Menu":
            break
        page.keyboard.press("Tab")
    expect(menu).to_be_focused()
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(links.first).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Overview")).to_be_focused()
    page.keyboard.press("Escape")
    expect(menu).to_be_focused()
    expect(menu).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Enter")
    for _ in range(3):
        page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Services")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Services", exact=True)).to_be_visible()
    menu.click()
    expect(page.get_by_role("link", name="Services")).to_have_attribute("aria-current", "page")
    shot(page, "dashboard-menu-375")


# The header's three parts as (top, bottom) of their boxes, and whether the name shows whole.
HEADER = """() => {
    const box = sel => { const r = document.querySelector(sel).getBoundingClientRect(); return [r.top, r.bottom]; };
    const name = document.querySelector('.dash-brand .muted');
    return {brand: box('.dash-brand'), menu: box('.menu-btn'), signOut: box('.sign-out .btn'),
            whole: name.scrollWidth <= name.clientWidth};
}"""


@pytest.mark.parametrize("name, whole", [("Mia Laurent", True), ("Dr. Maria-Fernanda Castellanos Ruiz", False)])
def test_the_header_holds_one_row_on_a_phone_whatever_the_name(page: Page, server, name, whole):
    """At 320 and 375 px the brand, Menu and Sign out share one row: a usual name shows whole, a long one
    ends in an ellipsis, and either is still there whole in the page's text (what a screen reader says)."""
    slug = name.split()[-1].lower()
    server.kairos("create-expert", slug, "--email", f"{slug}@example.com", "--name", name,
                  "--timezone", "Europe/Paris", "--password", "header-test-password")
    page.set_viewport_size({"width": 375, "height": 700})
    sign_in(page, server, f"{slug}@example.com", "header-test-password")
    for width in (375, 320):
        page.set_viewport_size({"width": width, "height": 700})
        page.goto(f"{server.url}/dashboard/bookings")
        expect(page.get_by_role("banner")).to_contain_text(name)
        parts = page.evaluate(HEADER)
        tops = [parts[key][0] for key in ("brand", "menu", "signOut")]
        bottoms = [parts[key][1] for key in ("brand", "menu", "signOut")]
        assert max(tops) < min(bottoms), f"{name}: the header takes two rows at {width}px: {parts}"
        assert parts["whole"] is whole, f"{name} at {width}px: {parts}"
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), f"{name} at {width}px"
        shot(page, f"dashboard-header-{slug}-{width}")


def test_a_weekly_time_is_added_and_a_snippet_copied_with_the_keyboard(page: Page, context, server):
    """The editor's row button and the copy buttons answer Enter and Space like any button."""
    page.set_viewport_size({"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    sign_in(page, server)
    page.goto(f"{server.url}/dashboard/availability")
    page.get_by_label("Sunday, time 1, From").focus()
    page.keyboard.press("Shift+Tab")  # (Tab inside a time field moves between its hours and minutes)
    expect(page.get_by_role("button", name="Add a time on Saturday")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Saturday, time 2, From")).to_be_focused()  # the new row takes the focus
    page.keyboard.type("1000")
    page.goto(f"{server.url}/dashboard/embed")
    page.get_by_role("button", name="Copy Direct link: the booking page on its own").focus()
    page.keyboard.press("Space")
    expect(page.locator('[data-copied-for="direct-link"]')).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == f"{server.url}/book/demo"


def test_the_embed_preview_follows_the_options_without_a_reload(page: Page, server):
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, server)
    page.goto(f"{server.url}/dashboard/embed")
    page.get_by_label("Booking page or service").select_option(label="Quick question")
    expect(page.locator("#snippet-inline")).to_contain_text('data-kairos-service="quick-question"')
    page.get_by_role("radio", name="Floating button").check()
    expect(page.get_by_role("heading", name="Preview: floating button")).to_be_visible()
    expect(page.get_by_role("radio", name="Floating button")).to_be_focused()  # no reload: focus stays
    preview = page.frame_locator("iframe.widget-preview")
    expect(preview.get_by_role("button", name="Book Quick question")).to_be_visible()
    assert "service=quick-question" in page.url and "mode=floating" in page.url


def test_the_inline_preview_keeps_the_snippets_reserved_box(page: Page, server):
    """The snippet's min-height is what keeps the expert's page still; the preview must honour it, not
    refuse it under its own CSP (it is allowed by its hash)."""
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    sign_in(page, server)
    page.goto(f"{server.url}/dashboard/embed")
    expect(page.locator("#snippet-inline")).to_contain_text('style="min-height:720px"')
    preview = page.frame_locator("iframe.widget-preview")
    expect(preview.locator("[data-kairos-expert]")).to_have_count(1)
    # The widget inside the preview shows its first screen; by then the container's style was applied or refused.
    expect(preview.locator("[data-kairos-expert] iframe")).to_have_count(1)
    expect(preview.frame_locator("[data-kairos-expert] iframe").get_by_role("heading").first).to_be_visible()
    assert not refused, refused
