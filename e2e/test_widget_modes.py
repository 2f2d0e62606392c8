"""Every way an expert can put Kairos on their site books a real session.

The host pages live on http://localhost:A and the widget on http://127.0.0.1:B (two origins).
Inline, popup and floating modes, the JS API (queued before embed.js loads), several widgets on
one page, a widget added later, prefill, and a host page with a strict Content-Security-Policy.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import FrameLocator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from backend.colours import text_on
from e2e.conftest import first_day_with_slots, host_page, open_day
from tests.colours import contrast, rgb

TIME = re.compile(r"^\d{1,2}:\d{2}")
STUB = "window.Kairos = window.Kairos || function () { (Kairos.q = Kairos.q || []).push(arguments); };"


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "timezone_id": "Europe/Paris", "locale": "en-GB",
            "viewport": {"width": 1280, "height": 900}}


def book(frame: FrameLocator, name: str | None, email: str | None, *, phone: str | None = None,
         pick: str = "first") -> str:
    """Pick a time (the first or last one of the shown day), fill in the details, confirm. Returns the time."""
    times = frame.get_by_role("button", name=TIME)
    expect(times.first).to_be_visible()
    slot = times.first if pick == "first" else times.last
    label = slot.inner_text()
    slot.click()
    expect(frame.get_by_role("heading", name="Your details")).to_be_focused()
    if name is not None:
        frame.get_by_label("Name").fill(name)
    if email is not None:
        frame.get_by_label("Email").fill(email)
    if phone is not None:
        frame.get_by_label("Phone").fill(phone)
    frame.get_by_role("button", name="Next").click()
    frame.get_by_role("button", name="Confirm booking").click()
    expect(frame.get_by_role("heading", name="You’re booked")).to_be_visible()
    return label


def events(page: Page, type_: str | None = None) -> list[dict]:
    found = page.evaluate("window.kairosEvents")
    return [e for e in found if type_ is None or e["type"] == f"kairos:{type_}"]


def wait_for_event(page: Page, type_: str, target: str | None = None) -> dict:
    page.wait_for_function(
        "([t, id]) => window.kairosEvents.some(e => e.type === t && (id === null || e.target === id))",
        arg=[f"kairos:{type_}", target])
    return [e for e in events(page, type_) if target is None or e["target"] == target][-1]


# ---- inline ------------------------------------------------------------------------------------------

def test_a_client_books_inline_and_the_host_hears_every_step(page: Page, server, host):
    url = host.page("inline.html", host_page(
        server.url, '<div id="booking" data-kairos-expert="demo" data-kairos-service="intro-call"></div>'))
    page.goto(url)
    frame = page.frame_locator("#booking iframe")
    ready = wait_for_event(page, "ready", "booking")
    assert ready["detail"] == {"expert": "demo", "service": "intro-call"}
    label = book(frame, "Ann Lee", "ann@example.com")
    done = wait_for_event(page, "booking-completed", "booking")
    assert done["detail"]["booking"]["status"] == "confirmed"
    steps = [e["detail"]["step"] for e in events(page, "step")]
    assert steps == ["time", "details", "review", "confirmation"]  # the names the README gives
    selected = events(page, "slot-selected")
    assert len(selected) == 1 and selected[0]["detail"]["start"] == done["detail"]["booking"]["start"]
    expect(frame.locator(".summary")).to_contain_text(label)
    # The iframe grew to its content: no inner scroll bar on desktop.
    inner = page.frame_locator("#booking iframe").locator("html")
    assert inner.evaluate("el => el.scrollHeight <= window.innerHeight + 1")


# ---- popup -------------------------------------------------------------------------------------------

def test_a_client_books_from_a_popup_and_focus_returns_to_the_button(page: Page, server, host):
    body = (f'<p>Ready to talk? <a id="book-link" href="{server.url}/book/demo/intro-call" '
            f'data-kairos-popup="demo/intro-call">Book a call</a></p>')
    page.goto(host.page("popup.html", host_page(server.url, body)))
    trigger = page.get_by_role("link", name="Book a call")
    expect(trigger).to_have_attribute("href", f"{server.url}/book/demo/intro-call")  # a real link without JS
    page.wait_for_function("window.Kairos && window.Kairos.loaded")
    assert page.locator("iframe").count() == 0, "the popup's iframe is created only when it is first opened"

    dialog = page.locator("dialog")
    frame = page.frame_locator("dialog iframe")

    # Esc (pressed inside the widget) closes it; focus goes back to the link.
    trigger.click()
    expect(dialog).to_be_visible()
    expect(frame.get_by_role("heading", name="Choose a time")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(trigger).to_be_focused()

    # The close button.
    trigger.click()
    expect(frame.get_by_role("heading", name="Choose a time")).to_be_focused()
    page.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()
    expect(trigger).to_be_focused()

    # A click outside the widget, on the dimmed backdrop.
    trigger.click()
    expect(dialog).to_be_visible()
    page.mouse.click(10, 10)
    expect(dialog).to_be_hidden()
    expect(trigger).to_be_focused()
    assert page.locator("iframe").count() == 1, "reopening reuses the same iframe"

    # While it is open, Tab and Shift+Tab cycle inside the popup, never back to the page behind.
    trigger.click()
    expect(frame.get_by_role("heading", name="Choose a time")).to_be_focused()
    inside = "() => document.querySelector('dialog').contains(document.activeElement)"
    for key in ["Tab"] * 30 + ["Shift+Tab"] * 10:
        page.keyboard.press(key)
        # Focus leaving the cross-origin frame for the popup's sentinel crosses processes: for a moment
        # the host page may have blurred the frame before the sentinel takes focus. Wait for where it
        # settles (an escape would settle outside), then say where it went if it did not come back.
        try:
            page.wait_for_function(inside, timeout=5_000)
        except PlaywrightTimeout:
            where = page.evaluate("() => document.activeElement.outerHTML.slice(0, 200)")
            raise AssertionError(f"focus escaped the popup after {key}: {where}") from None
    page.get_by_role("button", name="Close").click()
    expect(trigger).to_be_focused()

    # Now the client books.
    trigger.click()
    book(frame, "Ben Ode", "ben@example.com")
    done = wait_for_event(page, "booking-completed", "book-link")  # dispatched on the trigger
    assert done["detail"]["booking"]["service"]["slug"] == "intro-call"
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(trigger).to_be_focused()
    assert len(events(page, "booking-completed")) == 1


def test_a_client_books_from_the_floating_button(page: Page, server, host):
    head = f"""<script>{STUB}
      Kairos('floating', {{ expert: 'demo', service: 'intro-call', label: 'Book a session' }});</script>"""
    page.goto(host.page("floating.html", host_page(server.url, "<p>Welcome to my site.</p>", head=head)))
    button = page.get_by_role("button", name="Book a session")
    expect(button).to_be_visible()
    box = button.bounding_box()
    assert box["x"] > 1000 and box["y"] > 750, "the button sits in the bottom-right corner"
    assert page.locator("iframe").count() == 0
    button.click()
    frame = page.frame_locator("dialog iframe")
    book(frame, "Cy Dune", "cy@example.com")
    done = wait_for_event(page, "booking-completed")
    assert done["detail"]["booking"]["client"]["email"] == "cy@example.com"
    page.get_by_role("button", name="Close").click()
    expect(button).to_be_focused()


RESOLVE_COLOURS = """el => {
  const ctx = document.createElement('canvas').getContext('2d', { willReadFrequently: true });
  const rgb = v => { ctx.clearRect(0, 0, 1, 1); ctx.fillStyle = v; ctx.fillRect(0, 0, 1, 1);
                     return Array.from(ctx.getImageData(0, 0, 1, 1).data.slice(0, 3)); };
  const s = getComputedStyle(el);
  return [rgb(s.color), rgb(s.backgroundColor)];
}"""


# #757575 and #767676 sit either side of the rule's threshold (WCAG luminance 0.178 and 0.181).
@pytest.mark.parametrize("colour", ["#ffd400", "#2f5d8a", "#e91e63", "#767676", "#757575", "#00bcd4", "#111827"])
def test_text_on_the_brand_colour_follows_one_rule_in_the_button_the_widget_and_the_emails(
        page: Page, server, host, colour):
    """The floating button (embed.js), the widget's buttons (theme.js) and the emails
    (backend/colours.py) put the same black or white on the expert's colour, and it reads."""
    head = f"""<script>{STUB}
      Kairos('floating', {{ expert: 'demo', color: '{colour}', label: 'Book a session' }});</script>"""
    page.goto(host.page("floating-colour.html", host_page(server.url, "<p>Welcome.</p>", head=head)))
    button = page.get_by_role("button", name="Book a session")
    expect(button).to_be_visible()
    text, background = button.evaluate(RESOLVE_COLOURS)
    assert contrast(text, background) >= 4.5, (colour, text, background)
    rule = rgb(text_on(colour))
    assert text == rule, f"embed.js puts {text} on {colour}, the rule says {rule}"

    button.click()
    frame = page.frame_locator("dialog iframe")
    confirm = frame.get_by_role("button", name=re.compile("Intro call"))
    expect(confirm).to_be_visible()
    on_accent = frame.locator("html").evaluate(
        "el => getComputedStyle(el).getPropertyValue('--on-accent').trim()")
    assert rgb(on_accent) == rule, f"the widget puts {on_accent} on {colour}, the rule says {rule}"


# ---- several widgets, JS API, later elements, prefill ---------------------------------------------------

def test_two_widgets_on_one_page_book_independently_and_their_events_do_not_cross(page: Page, server, host):
    body = """<section><h2>Intro</h2><div id="w1" data-kairos-expert="demo" data-kairos-service="intro-call"></div></section>
<section><h2>Questions</h2><div id="w2" data-kairos-expert="demo" data-kairos-service="quick-question"></div></section>"""
    page.goto(host.page("two.html", host_page(server.url, body)))
    wait_for_event(page, "ready", "w1")
    wait_for_event(page, "ready", "w2")
    ready = {e["target"]: e["detail"]["service"] for e in events(page, "ready")}
    assert ready == {"w1": "intro-call", "w2": "quick-question"}

    book(page.frame_locator("#w1 iframe"), "Dee Fay", "dee@example.com")
    wait_for_event(page, "booking-completed", "w1")
    # The second widget is still on its time step, untouched by the first one's booking.
    w2 = page.frame_locator("#w2 iframe")
    expect(w2.get_by_role("heading", name="Choose a time")).to_be_visible()
    # A full day, so its last time is hours clear of the first booking's (late on, the widget's first day
    # may hold one time only, the one the first widget just took).
    open_day(w2, first_day_with_slots(server, "demo", "quick-question", "Europe/Paris", at_least=6))
    book(w2, "Eve Gale", "eve@example.com", phone="+1 617 555 0199", pick="last")
    wait_for_event(page, "booking-completed", "w2")

    completed = {e["target"]: e["detail"]["booking"] for e in events(page, "booking-completed")}
    assert len(events(page, "booking-completed")) == 2
    assert completed["w1"]["service"]["slug"] == "intro-call" and completed["w1"]["client"]["email"] == "dee@example.com"
    assert completed["w2"]["service"]["slug"] == "quick-question" and completed["w2"]["client"]["email"] == "eve@example.com"
    for e in events(page, "slot-selected"):
        owner = completed[e["target"]]
        assert e["detail"]["start"] == owner["start"], "each slot-selected reached its own container only"


def test_the_js_api_queued_before_embed_js_loads_and_pasted_twice_makes_one_widget(page: Page, server, host):
    head = f"""<script>
  {STUB}
  Kairos('inline', {{ el: '#booking', expert: 'demo', service: 'intro-call' }});
  Kairos('on', 'booking-completed', function (detail, el) {{
    (window.apiCalls = window.apiCalls || []).push({{ id: detail.booking.id, el: el && el.id }});
  }});
  {STUB}
  window.queuedBeforeLoad = !window.Kairos.loaded && Kairos.q.length === 2;
</script>"""
    body = f'<div id="booking"></div><script src="{server.url}/embed.js" async></script>'
    page.goto(host.page("api.html", host_page(server.url, body, head=head)))
    assert page.evaluate("window.queuedBeforeLoad")
    wait_for_event(page, "ready", "booking")
    assert page.locator("iframe").count() == 1, "embed.js included twice still makes one widget"
    book(page.frame_locator("#booking iframe"), "Fay Hart", "fay@example.com")
    done = wait_for_event(page, "booking-completed", "booking")
    page.wait_for_function("window.apiCalls && window.apiCalls.length > 0")
    assert page.evaluate("window.apiCalls") == [{"id": done["detail"]["booking"]["id"], "el": "booking"}]


def test_a_widget_added_later_with_the_client_prefilled_books_without_typing(page: Page, server, host):
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(host.page("later.html", host_page(server.url, '<main id="content"><p>Loading…</p></main>')))
    page.wait_for_function("window.Kairos && window.Kairos.loaded")
    assert page.locator("iframe").count() == 0
    assert [u for u in requests if u.startswith(server.url)] == [f"{server.url}/embed.js"], \
        "embed.js loads nothing until a widget is on the page"
    # A single-page app renders the booking section after the fact.
    page.evaluate("""() => {
      const div = document.createElement('div');
      div.id = 'late';
      div.dataset.kairosExpert = 'demo';
      div.dataset.kairosService = 'intro-call';
      div.dataset.kairosName = 'Gil Ito';
      div.dataset.kairosEmail = 'gil@example.com';
      document.getElementById('content').replaceChildren(div);
    }""")
    frame = page.frame_locator("#late iframe")
    times = frame.get_by_role("button", name=TIME)
    times.first.click()
    expect(frame.get_by_label("Name")).to_have_value("Gil Ito")
    expect(frame.get_by_label("Email")).to_have_value("gil@example.com")
    frame.get_by_role("button", name="Next").click()
    expect(frame.get_by_text("Gil Ito · gil@example.com")).to_be_visible()
    frame.get_by_role("button", name="Confirm booking").click()
    done = wait_for_event(page, "booking-completed", "late")
    assert done["detail"]["booking"]["client"] == {"name": "Gil Ito", "email": "gil@example.com"}


# ---- strict CSP ------------------------------------------------------------------------------------------

RECORDER_JS = """
window.kairosEvents = [];
window.cspViolations = [];
["ready", "slot-selected", "booking-completed", "step"].forEach(function (n) {
  document.addEventListener("kairos:" + n, function (e) {
    window.kairosEvents.push({type: e.type, detail: e.detail, target: e.target.id || null});
  });
});
document.addEventListener("securitypolicyviolation", function (e) {
  window.cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


def test_a_host_page_with_a_strict_csp_books_with_no_violation(page: Page, server, host):
    host.page("recorder.js", RECORDER_JS)
    csp = (f"default-src 'self'; script-src 'self' {server.url}; frame-src {server.url}; "
           f"style-src 'self'; object-src 'none'; base-uri 'none'")
    html = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Strict site</title>
<script src="/recorder.js"></script>
<script src="{server.url}/embed.js" async></script></head>
<body><h1>Strict site</h1>
<div id="booking" data-kairos-expert="demo" data-kairos-service="intro-call"></div>
<p><a id="pop" href="{server.url}/book/demo/intro-call" data-kairos-popup="demo/intro-call">Book in a popup</a></p>
</body></html>"""
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    response = page.goto(host.page("strict.html", html, csp=csp))
    assert response.headers["content-security-policy"] == csp
    frame = page.frame_locator("#booking iframe")
    book(frame, "Hal Jin", "hal@example.com")
    page.wait_for_function("window.kairosEvents.some(e => e.type === 'kairos:booking-completed')")
    # The popup too: the dialog and its close button are styled through the CSSOM.
    page.get_by_role("link", name="Book in a popup").click()
    expect(page.frame_locator("dialog iframe").get_by_role("button", name=TIME).first).to_be_visible()
    page.get_by_role("button", name="Close").click()
    assert page.evaluate("window.cspViolations") == []
    assert not [m for m in console if "Content Security Policy" in m or "Refused to" in m], console
    # The host's CSP did not stop embed.js styling the iframe (no border, sized to its content).
    iframe = page.locator("#booking iframe")
    assert iframe.evaluate("f => getComputedStyle(f).borderTopWidth") == "0px"
    assert iframe.bounding_box()["height"] > 300
