"""axe finds nothing wrong on any step, on a phone (375 px) and on a desktop (1280 px).

Each step of the widget (service list, time, details, review, confirmation), the dates of a group
class, the popup and the manage page are checked with axe-core inside the widget's own frame, and
saved as screenshots for the README: docs/screenshots/step-<n>-<name>-<width>.png, popup-<width>.png,
manage-<width>.png.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Frame, Page, expect

from e2e.conftest import api, first_day_with_slots, open_day, shot

TIME = re.compile(r"^\d{1,2}:\d{2}")
WIDTHS = [375, 1280]
AXE = Axe()
# The demo services keep the default policy: no change online within 24 hours of the start.
CUTOFF = timedelta(hours=24)


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "timezone_id": "America/New_York", "locale": "en-US"}


def site(server, host, name: str, body: str) -> str:
    """A plain expert's website (origin A) that embeds the widget."""
    return host.page(name, f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Maya Lindqvist · Career coaching</title>
<link rel="stylesheet" href="/site.css"></head><body>
<header><strong>Maya Lindqvist</strong> · Career coaching</header>
<main><h1>Book a session</h1><p>Changing fields? Let’s talk it through.</p>{body}</main>
<script src="{server.url}/embed.js" async></script></body></html>""")


SITE_CSS = """
body { margin: 0; font: 16px/1.5 Georgia, serif; color: #1f2933; background: #f6f3ee; }
header { padding: 14px 20px; background: #1f3a56; color: #fff; }
main { max-width: 820px; margin: 0 auto; padding: 8px 16px 40px; }
h1 { font-size: 28px; margin: 16px 0 4px; }
a.cta { display: inline-block; padding: 12px 20px; background: #1f3a56; color: #fff; border-radius: 8px; text-decoration: none; }
"""


def check(target: Page | Frame, where: str, *, iframes: bool = True) -> None:
    """No axe violation in ``target`` (a page, or the widget's frame)."""
    options = {"resultTypes": ["violations"]}
    if not iframes:
        options["iframes"] = False  # the widget's frame is checked on its own
    results = AXE.run(target, options=options)
    assert results.violations_count == 0, f"{where}:\n{results.generate_report()}\n" + json.dumps(
        [{"id": v["id"], "nodes": [n["html"] for n in v["nodes"]]} for v in results.response["violations"]], indent=1)


def widget_frame(page: Page, part: str = "/widget/") -> Frame:
    """The widget's frame, once the snippet has inserted it."""
    page.wait_for_function("part => [...document.querySelectorAll('iframe')].some(f => f.src.includes(part))", arg=part)
    return next(f for f in page.frames if part in f.url)


def settle(page: Page, frame: Frame, iframe_selector: str) -> None:
    """Wait until the iframe has grown (or shrunk) to its content, so the screenshot shows all of it."""
    for _ in range(10):  # the content itself may still change once or twice (fonts, a late answer)
        want = frame.evaluate("Math.ceil(document.body.getBoundingClientRect().height)")
        page.wait_for_function("([sel, want]) => Math.abs(document.querySelector(sel).getBoundingClientRect().height"
                               " - want) <= 1", arg=[iframe_selector, want])
        if frame.evaluate("Math.ceil(document.body.getBoundingClientRect().height)") == want:
            return
    raise AssertionError(f"{iframe_selector} never settled to its content's height")


@pytest.fixture(scope="module")
def park_class(server, host):
    """A group class with two dated sessions in a park, for the dates step."""
    host.page("site.css", SITE_CSS)
    token = server.kairos("create-expert", "park", "--email", "park@example.com", "--name", "Riverside Yoga",
                          "--timezone", "America/New_York").strip().splitlines()[-1]
    api(server, "POST", "/api/v1/admin/services", {
        "slug": "park-yoga", "name": "Yoga in the park", "kind": "group", "duration_minutes": 60, "capacity": 12,
        "location": {"type": "in_person", "name": "Riverside Park", "address": "1 River Road, Boston"}}, token)
    first = datetime.now(ZoneInfo("America/New_York")).replace(hour=8, minute=0, second=0, microsecond=0)
    for days in (4, 11):
        start = first + timedelta(days=days)
        api(server, "POST", "/api/v1/admin/services/park-yoga/sessions",
            {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat(), "capacity": 12}, token)
    return "park/park-yoga"


@pytest.mark.parametrize("width", WIDTHS)
def test_every_step_of_a_booking_is_accessible_and_photographed(page: Page, server, host, park_class, width):
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(site(server, host, f"a11y-{width}.html", '<div id="booking" data-kairos-expert="demo"></div>'))
    w = page.frame_locator("#booking iframe")
    expect(w.get_by_role("heading", name="Choose a service")).to_be_visible()
    frame = widget_frame(page)

    def step(n: int, name: str) -> None:
        page.mouse.move(width - 1, 1, steps=4)  # no hover left over from the last click
        check(frame, f"step {n} ({name}) at {width}px")
        settle(page, frame, "#booking iframe")
        shot(page, f"step-{n}-{name}-{width}")

    step(1, "services")
    w.get_by_role("button", name=re.compile("Coaching session")).click()
    expect(w.locator(".times").get_by_role("button", name=TIME).first).to_be_visible()
    step(2, "time")

    # The client changes the booking later, so it is booked on a day beyond the cancellation cutoff
    # (whatever the hour: at 22:00 the first free time is inside it).
    open_day(w, first_day_with_slots(server, "demo", "coaching-session", "America/New_York", clear_of=CUTOFF))
    w.locator(".times").get_by_role("button", name=TIME).first.click()
    expect(w.get_by_role("heading", name="Your details")).to_be_focused()
    step(3, "details")
    # The same step with every error showing.
    w.get_by_role("button", name="Next").click()
    expect(w.get_by_text("Please correct the highlighted fields.")).to_be_visible()
    check(frame, f"details with errors at {width}px")

    w.get_by_label("Name").fill("Ann Lee")
    w.get_by_label("Email").fill("ann@example.com")
    w.get_by_label("Phone").fill("+1 617 555 0142")
    w.get_by_label("What would you like to work on?").fill("Moving from teaching into product design.")
    w.get_by_role("button", name="Next").click()
    expect(w.get_by_role("heading", name="Review and confirm")).to_be_focused()
    step(4, "review")

    w.get_by_role("button", name="Confirm booking").click()
    expect(w.get_by_role("heading", name="You’re booked")).to_be_focused()
    expect(w.get_by_role("link", name="Google Calendar")).to_be_visible()
    step(5, "confirmation")
    manage_url = w.get_by_role("link", name="Reschedule or cancel").get_attribute("href").split("?")[0]

    # The manage page (the link in the emails), as a whole page.
    page.goto(manage_url)
    expect(page.get_by_role("heading", name="Your booking")).to_be_visible()
    check(page, f"manage page at {width}px")
    shot(page, f"manage-{width}")
    page.get_by_role("button", name="Reschedule").click()
    expect(page.locator(".times").get_by_role("button", name=TIME).first).to_be_visible()
    check(page, f"manage page, new time, at {width}px")
    page.get_by_role("button", name="Back").click()
    page.get_by_role("button", name="Cancel booking").click()
    expect(page.get_by_role("heading", name="Cancel this booking?")).to_be_visible()
    check(page, f"manage page, cancel, at {width}px")

    # A group class: its dates, place and seats instead of a calendar.
    page.goto(site(server, host, f"a11y-group-{width}.html",
                   '<div id="group" data-kairos-expert="park" data-kairos-service="park-yoga"></div>'))
    g = page.frame_locator("#group iframe")
    expect(g.locator(".sess-btn").first).to_be_visible()
    gframe = widget_frame(page)
    check(gframe, f"group dates at {width}px")
    settle(page, gframe, "#group iframe")
    shot(page, f"step-2-dates-{width}")


@pytest.mark.parametrize("width", WIDTHS)
def test_the_popup_is_accessible(page: Page, server, host, park_class, width):
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(site(server, host, f"a11y-popup-{width}.html",
                   f'<p><a class="cta" href="{server.url}/book/demo/intro-call" data-kairos-popup="demo/intro-call">'
                   f'Book a free intro call</a></p>'))
    page.get_by_role("link", name="Book a free intro call").click()
    popup = page.frame_locator("dialog iframe")
    expect(popup.get_by_role("heading", name="Choose a time")).to_be_focused()
    expect(popup.locator(".times").get_by_role("button", name=TIME).first).to_be_visible()
    check(page, f"host page with the popup open at {width}px", iframes=False)
    frame = widget_frame(page)
    check(frame, f"popup at {width}px")
    settle(page, frame, "dialog iframe")
    shot(page, f"popup-{width}")


LAYOUT_PROBLEMS = """() => {
  const problems = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > doc.clientWidth + 1) problems.push(`scrolls sideways: ${doc.scrollWidth} > ${doc.clientWidth}`);
  for (const el of document.querySelectorAll('button, a[href], input, select, textarea, [role="button"]')) {
    let r = el.getBoundingClientRect();
    const after = getComputedStyle(el, '::after');
    // A "stretched" button whose ::after covers its card: the whole card is the target.
    if (after.content !== 'none' && after.position === 'absolute' && el.offsetParent) r = el.offsetParent.getBoundingClientRect();
    if (!r.width || !r.height || getComputedStyle(el).visibility === 'hidden') continue;  // not shown
    if (el.matches('input[type="radio"], input[type="checkbox"]')) continue;  // their label is the target
    if (r.right > doc.clientWidth + 1 || r.left < -1) problems.push(`cut off: ${el.outerHTML.slice(0, 80)}`);
    if (el.matches('a[href]') && getComputedStyle(el).display === 'inline') continue;  // a link in a sentence
    // Seven day columns cannot each be 44 px wide in under 308 px: a day takes its whole column
    // (no gap between days, so the tappable areas touch) and the full 44 px of height.
    if (el.matches('.day')) {
      const row = el.parentElement.getBoundingClientRect();
      if (r.height < 44 || r.width < Math.floor(row.width / 7) - 1) problems.push(`day ${Math.round(r.width)}x${Math.round(r.height)} in a ${Math.round(row.width)} px row`);
      continue;
    }
    if (r.height < 44 || r.width < 44) problems.push(`${Math.round(r.width)}x${Math.round(r.height)} target: ${el.outerHTML.slice(0, 80)}`);
  }
  return problems;
}"""


def test_every_step_fits_a_320_px_phone_with_44_px_touch_targets(page: Page, server, host):
    """The smallest phones still in use: nothing scrolls sideways, nothing is cut off, every button,
    field and link that stands alone is at least 44 by 44 CSS pixels."""
    page.set_viewport_size({"width": 320, "height": 640})
    host.page("site.css", SITE_CSS)
    page.goto(site(server, host, "narrow.html", '<div id="booking" data-kairos-expert="demo"></div>'))
    w = page.frame_locator("#booking iframe")
    frame = widget_frame(page)

    def fits(where: str) -> None:
        # The host page scrolls a new step into view when its message arrives: measure after that.
        page.wait_for_function("""() => new Promise(r => { const y = scrollY;
            setTimeout(() => r(scrollY === y), 150); })""")
        problems = frame.evaluate(LAYOUT_PROBLEMS)
        assert problems == [], f"{where}:\n" + "\n".join(problems)
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), f"host page scrolls: {where}"

    expect(w.get_by_role("heading", name="Choose a service")).to_be_visible()
    fits("services")
    w.get_by_role("button", name=re.compile("Coaching session")).click()
    expect(w.locator(".times").get_by_role("button", name=TIME).first).to_be_visible()
    fits("time")
    page.set_viewport_size({"width": 320, "height": 1400})  # the cross-origin frame is painted whole
    settle(page, frame, "#booking iframe")
    shot(page, "time-320")
    page.set_viewport_size({"width": 320, "height": 640})
    w.locator(".times").get_by_role("button", name=TIME).first.click()
    expect(w.get_by_role("heading", name="Your details")).to_be_focused()
    fits("details")
    w.get_by_label("Name").fill("Ann Lee")
    w.get_by_label("Email").fill("ann@example.com")
    w.get_by_label("Phone").fill("+1 617 555 0142")
    w.get_by_label("What would you like to work on?").fill("Moving into product design.")
    w.get_by_role("button", name="Next").click()
    expect(w.get_by_role("heading", name="Review and confirm")).to_be_focused()
    fits("review")
    w.get_by_role("button", name="Confirm booking").click()
    expect(w.get_by_role("heading", name="You’re booked")).to_be_focused()
    fits("confirmation")
