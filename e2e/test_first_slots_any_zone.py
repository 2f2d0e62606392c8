"""A visitor anywhere sees the first times with no request after the widget page: the page carries a
personal service's first slots in no zone (backend/api/first_answers.py) and widget/early.js
(``answerIn``) writes them in the browser's zone. The times shown must be the API's for that zone, to
the day and minute, on both sides of the date line and across a DST change.
"""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from backend.api.first_answers import first_range
from e2e.conftest import api, host_page, open_day
from tests.test_first_answers import ZONES, carried_answer

TIME = re.compile(r"^\d{1,2}:\d{2}")


@pytest.fixture
def browser_context_args(browser_context_args, request):
    return {**browser_context_args, "locale": "en-GB", "viewport": {"width": 1280, "height": 900},
            **getattr(request, "param", {})}


# UTC+14, UTC+5:45 and UTC-11 (the expert, the demo's, is in New York).
@pytest.mark.parametrize("browser_context_args", [{"timezone_id": tz} for tz in
                                                  ("Pacific/Kiritimati", "Asia/Kathmandu", "Pacific/Pago_Pago")],
                         indirect=True, ids=lambda p: p["timezone_id"])
def test_the_first_times_are_the_apis_for_the_visitors_zone_with_no_request(page: Page, server, host,
                                                                           browser_context_args):
    tz = browser_context_args["timezone_id"]
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/api/v1/" in r.url else None)
    page.goto(host.page(f"any-zone-{tz.replace('/', '-')}.html",
                        host_page(server.url, '<div id="booking" data-kairos-expert="demo" '
                                              'data-kairos-service="intro-call"></div>')))
    frame = page.frame_locator("#booking iframe")
    expect(frame.locator(".times").get_by_role("button", name=TIME).first).to_be_visible()

    start, end = first_range(datetime.now(ZoneInfo(tz)).date())
    slots = api(server, "GET", f"/api/v1/experts/demo/services/intro-call/slots?start={start}&end={end}"
                               f"&timezone={tz}&include_full=true")["slots"]
    days: dict[str, list[str]] = {}
    for slot in slots:
        days.setdefault(slot["start"][:10], []).append(slot["start"][11:16])
    # The month shown marks the API's days, and no other.
    month = start.isoformat()[:7]
    shown = frame.locator(f'.day.has[data-date^="{month}"]')
    expect(shown.first).to_be_visible()
    assert [d for d in shown.evaluate_all("els => els.map(e => e.dataset.date)")] == sorted(
        d for d in days if d.startswith(month))
    # The first day's times, and a later day's, are the API's.
    for day in sorted(days)[:1] + sorted(days)[-1:]:
        open_day(frame, date.fromisoformat(day))
        buttons = frame.locator(".times").get_by_role("button", name=TIME)
        expect(buttons).to_have_count(len(days[day]))
        assert [t.strip()[:5] for t in buttons.all_inner_texts()] == days[day], day
    assert [u for u in asked if "/slots?" in u and f"start={start}&" in u] == [], "the first window was carried"


def minutes(at: datetime) -> int:
    return int(at.timestamp()) // 60


@pytest.mark.parametrize("first, last", [(date(2027, 3, 27), date(2027, 4, 4)),  # spring: New York, Paris, Santiago, Lord Howe
                                         (date(2027, 10, 30), date(2027, 11, 8))])  # autumn
def test_the_widget_writes_each_instant_as_the_server_would_across_dst_changes(page: Page, server, first, last):
    """early.js's ``answerIn`` against the server's rule (``iso_in``), for slots every 30 minutes of
    45 minutes, so some straddle each change, in every zone of tests/test_first_answers.py."""
    begin = datetime.combine(first - timedelta(days=1), datetime.min.time(), UTC)
    stop = datetime.combine(last + timedelta(days=2), datetime.min.time(), UTC)
    count = int((stop - begin).total_seconds() // 1800)
    carried = {"service": "intro-call", "from": minutes(begin), "to": minutes(stop), "length": 45,
               "starts": [minutes(begin)] + [30] * (count - 1)}
    page.goto(server.url + "/widget/demo/intro-call")
    written = page.evaluate("""async ([carried, zones, first, last]) => {
      const { answerIn } = await import('/widget-assets/early.js');
      return Object.fromEntries(zones.map((tz) => [tz, answerIn(carried, tz, first, last)]));
    }""", [carried, ZONES, first.isoformat(), last.isoformat()])
    for tz in ZONES:
        expected = carried_answer(carried, tz, first, last)
        assert expected is not None and len(expected["slots"]) > 400
        assert written[tz] == expected, tz
    # A window the carried slots do not hold is not answered (the widget asks).
    assert page.evaluate("""async ([carried, first, last]) => (await import('/widget-assets/early.js'))
      .answerIn(carried, 'Pacific/Kiritimati', first, last)""", [carried, first.isoformat(),
                                                                (last + timedelta(days=2)).isoformat()]) is None
