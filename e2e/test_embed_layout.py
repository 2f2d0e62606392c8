"""An expert's article stays still while the booking widget loads in it, and a widget far down the
article costs nothing until the reader gets near it.

Google counts every move of text the reader can see (Cumulative Layout Shift) against the expert's
search ranking. The host page here (http://localhost:A) is an article with the widget
(http://127.0.0.1:B) in its first screen and text under it that the reader can already see. The
page records, from its very first frame, where that text is and every layout shift the browser
reports; the widget's own frame records its own shifts too.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

TIME = re.compile(r"^\d{1,2}:\d{2}")

# Runs in the host page and in the widget's frame before their own scripts: the sum of the layout
# shifts not caused by input (what CLS adds up), and, on the host page, the text's place in the
# document at every frame from the first one.
RECORDER = """
window.__shifts = 0;
new PerformanceObserver(function (list) {
  list.getEntries().forEach(function (e) { if (!e.hadRecentInput) window.__shifts += e.value; });
}).observe({type: 'layout-shift', buffered: true});
if (location.pathname.endsWith('.html')) {
  window.__places = [];
  (function look() {
    var el = document.getElementById('after');
    if (el) window.__places.push(Math.round(el.getBoundingClientRect().top + scrollY));
    if (!window.__stop) requestAnimationFrame(look);
  })();
}
"""

PARAGRAPH = ("<p>Changing fields is less about courage than about evidence: a portfolio, two people "
             "who will vouch for you, and a first project you can talk about for ten minutes.</p>")


def article(server_url: str, widget: str, *, filler: int = 0) -> str:
    """An article of another origin: a title, an introduction, ``filler`` paragraphs, the widget, the text after it."""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Changing careers at forty</title>
<style>body {{ margin: 0; font: 18px/1.6 Georgia, serif; }} main {{ max-width: 720px; margin: 0 auto; padding: 16px; }}
iframe {{ height: 10px; }}</style></head>
<body><main><h1>Changing careers at forty</h1><p>Three questions to ask before you jump.</p>
{PARAGRAPH * filler}{widget}
<p id="after">Whatever you decide, write down why today, so that in a year you can check your reasons.</p>
{PARAGRAPH * 6}</main>
<script src="{server_url}/embed.js" async></script></body></html>"""


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "timezone_id": "America/New_York", "locale": "en-US"}


# Tall enough windows that the text under the widget is on screen while it loads: growing the frame
# there would be a shift the reader sees.
@pytest.mark.parametrize("width,height", [(375, 1500), (1280, 1200)])
@pytest.mark.parametrize("service", ["intro-call", None])
def test_the_text_under_the_widget_does_not_move_while_it_loads(page: Page, server, host, width, height, service):
    page.set_viewport_size({"width": width, "height": height})
    page.add_init_script(RECORDER)
    attrs = 'data-kairos-expert="demo"' + (f' data-kairos-service="{service}"' if service else "")
    name = f"layout-{width}-{service or 'list'}.html"
    # The snippet as the README gives it: the box is reserved from the first frame, before embed.js arrives.
    page.goto(host.page(name, article(server.url, f'<div id="booking" {attrs} style="min-height:720px"></div>')))
    after = page.locator("#after")
    expect(after).to_be_in_viewport()  # the reader can see it
    widget = page.frame_locator("#booking iframe")
    if service:
        expect(widget.get_by_role("button", name=TIME).first).to_be_visible()
    else:
        expect(widget.get_by_role("heading", name="Choose a service")).to_be_visible()
    frame = next(f for f in page.frames if "/widget/" in f.url)
    frame.wait_for_function("document.querySelector('#main').getAttribute('aria-busy') !== 'true'")
    page.evaluate("window.__stop = true")

    places = page.evaluate("window.__places")
    assert places and set(places) == {places[0]}, f"the text under the widget moved: {sorted(set(places))}"
    assert page.evaluate("window.__shifts") < 0.05
    assert frame.evaluate("window.__shifts") < 0.05, "the widget shifted its own first screen"

    # Once the client uses the widget, the frame grows to all of its content: nothing is cut off.
    widget.locator("#main").click(position={"x": 5, "y": 5})
    page.wait_for_function(
        "want => Math.abs(document.querySelector('#booking iframe').getBoundingClientRect().height - want) <= 1",
        arg=frame.evaluate("Math.ceil(document.body.getBoundingClientRect().height)"))


@pytest.mark.parametrize("width,height", [(375, 812), (1280, 800)])
def test_a_widget_far_down_the_article_loads_only_when_the_reader_gets_near(page: Page, server, host, width, height):
    page.set_viewport_size({"width": width, "height": height})
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/widget/demo/coaching-session" in r.url else None)
    page.goto(host.page(f"far-{width}.html", article(
        server.url, '<div id="near" data-kairos-expert="demo" data-kairos-service="intro-call"></div>'
        + PARAGRAPH * 60
        + '<div id="far" data-kairos-expert="demo" data-kairos-service="coaching-session"></div>')))
    # The widget in the first screen loads and shows its times; by then the far one has its frame
    # (and its reserved height) but has not been asked for.
    expect(page.frame_locator("#near iframe").get_by_role("button", name=TIME).first).to_be_visible()
    expect(page.locator("#far iframe")).to_have_count(1)
    page.wait_for_function("document.readyState === 'complete'")
    assert page.locator("#far").evaluate("el => el.getBoundingClientRect().top") > 3 * height
    assert asked == [], "the widget far below the fold was loaded before the reader got near it"

    page.locator("#far").scroll_into_view_if_needed()
    expect(page.frame_locator("#far iframe").get_by_role("button", name=TIME).first).to_be_visible()
    assert len(asked) == 1
