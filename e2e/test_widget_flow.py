"""The booking flow as a client lives it, inside a widget embedded on another site.

Keyboard only; a slot taken by someone else while the client types; time zones and the 12/24-hour
clock; a group class and a series with seats; Back on every step.
"""
from __future__ import annotations

import re
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Frame, FrameLocator, Page, expect

from e2e.conftest import api, first_day_with_slots, host_page, open_day

TIME = re.compile(r"^\d{1,2}:\d{2}")
NY = ZoneInfo("America/New_York")


@pytest.fixture
def browser_context_args(browser_context_args, request):
    return {**browser_context_args, "timezone_id": "Europe/Paris", "locale": "en-GB",
            "viewport": {"width": 1280, "height": 900}, **getattr(request, "param", {})}


def embed(page: Page, server, host, name: str, service: str | None = None, expert: str = "demo") -> FrameLocator:
    attrs = f'data-kairos-expert="{expert}"' + (f' data-kairos-service="{service}"' if service else "")
    page.goto(host.page(name, host_page(server.url, f'<div id="booking" {attrs}></div>')))
    page.wait_for_function("window.kairosEvents.some(e => e.type === 'kairos:ready')")
    return page.frame_locator("#booking iframe")


def widget_frame(page: Page) -> Frame:
    return next(f for f in page.frames if "/widget/" in f.url)



def times(frame: FrameLocator) -> list[str]:
    buttons = frame.locator(".times").get_by_role("button", name=TIME)
    expect(buttons.first).to_be_visible()
    return [t.strip() for t in buttons.all_inner_texts()]


def spaces(text: str) -> str:
    return re.sub(r"[\u202f\u00a0\s]+", " ", text).strip()


# ---- keyboard only -------------------------------------------------------------------------------------

def focused(frame: Frame) -> dict:
    return frame.evaluate("""() => {
      const e = document.activeElement;
      const label = e.labels && e.labels[0] ? e.labels[0].textContent : '';
      return {tag: e.tagName.toLowerCase(), cls: String(e.className), name: e.getAttribute('name') || '',
              text: (e.textContent || '').trim(), label: e.getAttribute('aria-label') || label};
    }""")


def press(page: Page, frame: Frame, key: str, settle: float = 1.0) -> dict:
    """Press ``key`` and return where focus lands in the widget. Focus crossing from the host page into
    the cross-origin frame (another renderer process) arrives after the key press returns: wait, up to
    ``settle`` seconds, for it to move from where it was (a key that moves focus inside the host page
    leaves the frame's focus as it was, which the deadline ends)."""
    before = focused(frame)
    page.keyboard.press(key)
    deadline = time.monotonic() + settle
    now = focused(frame)
    while now == before and time.monotonic() < deadline:
        time.sleep(0.02)  # a polling interval inside the deadline
        now = focused(frame)
    return now


def tab_to(page: Page, frame: Frame, want, limit: int = 40) -> dict:
    now: dict = {}
    for _ in range(limit):
        now = press(page, frame, "Tab")
        if want(now):
            return now
    raise AssertionError(f"Tab never reached the control; last focus: {now}")


def test_the_keyboard_alone_completes_a_booking(page: Page, server, host):
    frame_loc = embed(page, server, host, "keyboard.html")
    frame = widget_frame(page)
    # From the host page's top, Tab walks into the widget and onto the first service.
    tab_to(page, frame, lambda f: "svc-btn" in f["cls"] and f["text"] == "Intro call")
    page.keyboard.press("Enter")
    expect(frame_loc.get_by_role("heading", name="Choose a time")).to_be_focused()
    # The calendar is one Tab stop (the selected day); arrows move inside it.
    day = tab_to(page, frame, lambda f: "day" in f["cls"].split())
    assert "sel" in day["cls"].split() and "available" in day["label"]
    # The next day may be in the next month, which the calendar draws first: wait for focus to move.
    assert press(page, frame, "ArrowRight", settle=10)["label"] != day["label"], "ArrowRight moves to the next day"
    assert press(page, frame, "ArrowLeft", settle=10)["label"] == day["label"], "ArrowLeft moves back"
    page.keyboard.press("Enter")
    chosen = tab_to(page, frame, lambda f: f["cls"] == "time")
    page.keyboard.press("Enter")
    expect(frame_loc.get_by_role("heading", name="Your details")).to_be_focused()
    tab_to(page, frame, lambda f: f["name"] == "client.name")
    page.keyboard.type("Kim Lowe")
    tab_to(page, frame, lambda f: f["name"] == "client.email")
    page.keyboard.type("kim@example.com")
    tab_to(page, frame, lambda f: f["tag"] == "button" and f["text"] == "Next")
    page.keyboard.press("Enter")
    expect(frame_loc.get_by_role("heading", name="Review and confirm")).to_be_focused()
    expect(frame_loc.locator(".review")).to_contain_text(chosen["text"])
    tab_to(page, frame, lambda f: f["text"] == "Confirm booking")
    page.keyboard.press("Enter")
    expect(frame_loc.get_by_role("heading", name="You’re booked")).to_be_focused()
    page.wait_for_function("window.kairosEvents.some(e => e.type === 'kairos:booking-completed')")


# ---- a slot taken meanwhile ----------------------------------------------------------------------------------

def test_a_slot_stolen_mid_flow_brings_the_client_back_to_fresh_times_with_their_details_kept(page: Page, server, host):
    frame = embed(page, server, host, "stolen.html", "intro-call")
    # A day with times left once one is taken (not the widget's first day, which late on may have one).
    open_day(frame, first_day_with_slots(server, "demo", "intro-call", "Europe/Paris", at_least=2))
    first = frame.locator(".times").get_by_role("button", name=TIME).first
    expect(first).to_be_visible()
    stolen_label = first.inner_text().strip()
    first.click()
    frame.get_by_label("Name").fill("Lou Mars")
    frame.get_by_label("Email").fill("lou@example.com")
    frame.get_by_label("Message").fill("Looking forward to it")
    picked = page.evaluate("window.kairosEvents.find(e => e.type === 'kairos:slot-selected').detail")

    # Someone else books that very time through the API while Lou is typing.
    taken = api(server, "POST", "/api/v1/experts/demo/services/intro-call/bookings",
                {"start": picked["start"], "timezone": picked["timezone"],
                 "client": {"name": "Quick Rival", "email": "rival@example.com"}})
    assert taken["booking"]["status"] == "confirmed"

    frame.get_by_role("button", name="Next").click()
    frame.get_by_role("button", name="Confirm booking").click()
    expect(frame.get_by_role("alert")).to_have_text("That time was just taken. Please pick another.")
    expect(frame.get_by_role("heading", name="Choose a time")).to_be_focused()
    # The times were asked for again: the stolen one is gone, the others are there.
    fresh = times(frame)
    assert stolen_label not in fresh and fresh
    page.wait_for_function("window.kairosEvents.some(e => e.type === 'kairos:booking-failed')")
    failed = page.evaluate("window.kairosEvents.filter(e => e.type === 'kairos:booking-failed')")
    assert failed[-1]["detail"]["code"] == "slot_unavailable" and failed[-1]["detail"]["message"]

    frame.locator(".times").get_by_role("button", name=TIME).first.click()
    expect(frame.get_by_label("Name")).to_have_value("Lou Mars")
    expect(frame.get_by_label("Email")).to_have_value("lou@example.com")
    expect(frame.get_by_label("Message")).to_have_value("Looking forward to it")
    frame.get_by_role("button", name="Next").click()
    frame.get_by_role("button", name="Confirm booking").click()
    expect(frame.get_by_role("heading", name="You’re booked")).to_be_visible()


# ---- time zones and the clock ------------------------------------------------------------------------------

def a_later_weekday(days_ahead: int = 4) -> date:
    day = datetime.now(NY).date() + timedelta(days=days_ahead)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def labels_from_api(server, day: date, tz: str) -> list[str]:
    """The times the widget must show for ``day`` in ``tz``, as the API gives them (en-GB, 24-hour)."""
    slots = api(server, "GET", f"/api/v1/experts/demo/services/intro-call/slots?start={day}&end={day}&timezone={tz}")
    return [datetime.fromisoformat(s["start"]).strftime("%H:%M") for s in slots["slots"]]


@pytest.mark.parametrize("browser_context_args", [{"timezone_id": "America/New_York"}], indirect=True,
                         ids=["browser-in-new-york"])
def test_switching_the_time_zone_shows_the_same_slots_at_their_local_times(page: Page, server, host):
    frame = embed(page, server, host, "tz.html", "intro-call")
    day = a_later_weekday()
    nine_ny = datetime(day.year, day.month, day.day, 9, 0, tzinfo=NY)
    in_paris = nine_ny.astimezone(ZoneInfo("Europe/Paris")).strftime("%H:%M")
    in_kolkata = nine_ny.astimezone(ZoneInfo("Asia/Kolkata")).strftime("%H:%M")
    if nine_ny.utcoffset() == timedelta(hours=-5):  # New York on standard time, as in late November
        assert (in_paris, in_kolkata) == ("15:00", "19:30")
    shown = frame.locator(".times").get_by_role("button")
    # The browser's zone is detected and shown.
    tz_field = frame.get_by_label("Time zone")
    expect(tz_field).to_have_value("America/New_York")
    open_day(frame, day)
    expect(shown).to_have_text(labels_from_api(server, day, "America/New_York"))
    expect(shown.first).to_have_text("09:00")  # the 24-hour clock pads, whatever the locale
    expect(shown.last).to_have_text("16:30")

    tz_field.fill("Europe/Paris")
    expect(frame.locator("#live")).to_contain_text("Times now shown in Europe/Paris.")
    expect(frame.locator(".tz-hint")).to_contain_text("Central European")
    expect(shown).to_have_text(labels_from_api(server, day, "Europe/Paris"))
    expect(shown.first).to_have_text(in_paris)

    # Clients type today's name of their zone (Chromium itself still says Asia/Calcutta).
    tz_field.fill("Asia/Kolkata")
    expect(frame.locator("#live")).to_contain_text("Times now shown in Asia/Kolkata.")
    expect(frame.locator(".tz-hint")).to_contain_text("India")
    expect(shown).to_have_text(labels_from_api(server, day, "Asia/Kolkata"))
    expect(shown.filter(has_text=in_kolkata)).to_have_count(1)
    # The client books in their own zone; the booking says so.
    shown.filter(has_text=in_kolkata).click()
    expect(frame.locator(".meta.when")).to_contain_text(f"{in_kolkata} – ")
    frame.get_by_label("Name").fill("Mira Nair")
    frame.get_by_label("Email").fill("mira@example.com")
    frame.get_by_role("button", name="Next").click()
    expect(frame.locator(".review")).to_contain_text("(Asia/Kolkata)")
    frame.get_by_role("button", name="Confirm booking").click()
    expect(frame.locator(".summary")).to_contain_text("Asia/Kolkata")
    page.wait_for_function("window.kairosEvents.some(e => e.type === 'kairos:booking-completed')")
    booking = page.evaluate("window.kairosEvents.find(e => e.type === 'kairos:booking-completed').detail.booking")
    assert booking["timezone"] == "Asia/Kolkata"
    assert datetime.fromisoformat(booking["start"]) == nine_ny
    assert booking["start"] == nine_ny.astimezone(ZoneInfo("Asia/Kolkata")).isoformat()


def test_the_clock_switches_between_12_and_24_hours(page: Page, server, host):
    frame = embed(page, server, host, "clock.html", "intro-call")
    clock = frame.get_by_role("group", name="Clock")
    h12, h24 = clock.get_by_role("button", name="12h"), clock.get_by_role("button", name="24h")
    expect(h24).to_have_attribute("aria-pressed", "true")  # en-GB reads 24-hour times
    as_24 = times(frame)
    assert all(re.fullmatch(r"\d{1,2}:\d{2}", t) for t in as_24)
    h12.click()
    expect(h12).to_have_attribute("aria-pressed", "true")
    expect(h24).to_have_attribute("aria-pressed", "false")

    def twelve(label: str) -> str:
        hour, minute = map(int, label.split(":"))
        return f"{hour % 12 or 12}:{minute:02d} {'am' if hour < 12 else 'pm'}"

    expect(frame.locator(".times").get_by_role("button").first).to_have_text(re.compile(r"(am|pm)$", re.I))
    assert [spaces(t).lower() for t in times(frame)] == [twelve(t) for t in as_24]
    h24.click()
    assert times(frame) == as_24


# ---- group classes and series ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def riverside(server):
    """An expert with a group class (two dated sessions) and a three-week series, in a park."""
    token = server.kairos("create-expert", "riverside", "--email", "river@example.com", "--name", "Riverside Yoga",
                          "--timezone", "America/New_York").strip().splitlines()[-1]
    park = {"type": "in_person", "name": "Riverside Park", "address": "1 River Road, Boston"}
    api(server, "POST", "/api/v1/admin/services", {
        "slug": "park-yoga", "name": "Yoga in the park", "kind": "group", "duration_minutes": 60, "capacity": 8,
        "location": park, "description": "An hour of yoga by the river."}, token)
    api(server, "POST", "/api/v1/admin/services", {
        "slug": "spring-course", "name": "Three-week course", "kind": "series", "duration_minutes": 90,
        "capacity": 5, "location": park}, token)
    first = a_later_weekday(5)
    sessions = {"park-yoga": [], "spring-course": []}
    for service, days, hour, minutes, capacity in (("park-yoga", (0, 7), 10, 60, 8),
                                                  ("spring-course", (1, 8, 15), 18, 90, 5)):
        for offset in days:
            d = first + timedelta(days=offset)
            start = datetime(d.year, d.month, d.day, hour, tzinfo=NY)
            api(server, "POST", f"/api/v1/admin/services/{service}/sessions",
                {"start": start.isoformat(), "end": (start + timedelta(minutes=minutes)).isoformat(),
                 "capacity": capacity}, token)
            sessions[service].append(start)
    return sessions


def test_a_group_class_shows_its_dates_place_and_seats_and_books_a_seat(page: Page, server, host, riverside):
    frame = embed(page, server, host, "group.html", expert="riverside")
    frame.get_by_role("button", name=re.compile("Yoga in the park")).click()
    expect(frame.get_by_role("heading", name="Choose a date")).to_be_focused()
    sessions = frame.locator(".sess-btn")
    expect(sessions).to_have_count(2)
    first = riverside["park-yoga"][0].astimezone(ZoneInfo("Europe/Paris"))
    day_heading = re.compile(first.strftime("^%A,? %-d %B %Y$"))  # en-GB: "Thursday, 26 November 2026"
    expect(frame.get_by_role("heading", name=day_heading)).to_be_visible()
    expect(frame.locator(".sess-place").first).to_have_text("Riverside Park, 1 River Road, Boston")
    expect(sessions.first).to_contain_text(f"{first:%H:%M} – ")
    expect(sessions.first).to_contain_text("8 seats left")
    sessions.first.click()
    frame.get_by_label("Name").fill("Noa Park")
    frame.get_by_label("Email").fill("noa@example.com")
    frame.get_by_role("button", name="Next").click()
    expect(frame.locator(".review")).to_contain_text("Riverside Park")
    frame.get_by_role("button", name="Confirm booking").click()
    expect(frame.get_by_role("heading", name="You’re booked")).to_be_visible()
    frame.get_by_role("button", name="Book another time").click()
    frame.get_by_role("button", name=re.compile("Yoga in the park")).click()
    expect(frame.locator(".sess-btn").first).to_contain_text("7 seats left")
    expect(frame.locator(".sess-btn").last).to_contain_text("8 seats left")


def test_a_series_shows_all_its_dates_and_books_them_as_one(page: Page, server, host, riverside):
    frame = embed(page, server, host, "series.html", "spring-course", expert="riverside")
    expect(frame.get_by_role("heading", name="Choose a date")).to_be_visible()
    series = frame.locator(".sess-btn")
    expect(series).to_have_count(1)  # sold whole: one choice listing its dates
    paris = ZoneInfo("Europe/Paris")
    for start in riverside["spring-course"]:
        expect(series).to_contain_text(start.astimezone(paris).strftime("%a %-d %b"))
    expect(series).to_contain_text("5 seats left")
    series.click()
    frame.get_by_label("Name").fill("Oli Quinn")
    frame.get_by_label("Email").fill("oli@example.com")
    frame.get_by_role("button", name="Next").click()
    frame.get_by_role("button", name="Confirm booking").click()
    expect(frame.get_by_role("heading", name="You’re booked")).to_be_visible()
    # "Add to calendar" is the server's file, which holds every date; a Google link could hold only one.
    file = frame.get_by_role("link", name="Apple / Outlook (.ics)")
    expect(file).to_be_visible()
    expect(frame.get_by_role("link", name="Google Calendar")).to_have_count(0)
    events = page.request.get(file.get_attribute("href")).text()
    assert events.count("BEGIN:VEVENT") == len(riverside["spring-course"]) == 3
    slots = api(server, "GET", f"/api/v1/experts/riverside/services/spring-course/slots?"
                f"start={date.today()}&end={date.today() + timedelta(days=40)}&timezone=Europe/Paris")["slots"]
    assert [s["seats_left"] for s in slots] == [4]


# ---- Back keeps everything ------------------------------------------------------------------------------------

def test_back_on_every_step_keeps_what_the_client_chose_and_typed(page: Page, server, host):
    frame = embed(page, server, host, "back.html")
    frame.get_by_role("button", name=re.compile("Coaching session")).click()
    expect(frame.get_by_role("heading", name="Choose a time")).to_be_focused()
    # A day with two times at least, read from what the API offers: the day the widget opens on may have
    # one time left (late in the day, the notice rule), so it is not the day to take the second time of.
    chosen_day = first_day_with_slots(server, "demo", "coaching-session", "Europe/Paris", at_least=2).isoformat()
    open_day(frame, date.fromisoformat(chosen_day))
    slot = frame.locator(".times").get_by_role("button", name=TIME).nth(1)
    # The coaching session is in person in Boston: its buttons say "11:00 Boston time · 17:00 your time".
    slot_label = slot.get_attribute("aria-label") or slot.inner_text().strip()
    slot.click()
    typed = {"Name": "Pia Roth", "Email": "pia@example.com", "Phone": "+33 6 12 34 56 78",
             "Message": "Second career", "What would you like to work on?": "Moving from nursing to UX"}
    for label, value in typed.items():
        frame.get_by_label(label).fill(value)
    frame.get_by_role("button", name="Next").click()
    expect(frame.get_by_role("heading", name="Review and confirm")).to_be_focused()

    # review → details: everything typed is there
    frame.get_by_role("button", name="Back").click()
    expect(frame.get_by_role("heading", name="Your details")).to_be_focused()
    for label, value in typed.items():
        expect(frame.get_by_label(label)).to_have_value(value)
    expect(frame.locator(".meta.when")).to_contain_text(f"{TIME.match(slot_label).group(0)} – ")
    # details → time: the same day is still chosen
    frame.get_by_role("button", name="Back").click()
    expect(frame.get_by_role("heading", name="Choose a time")).to_be_focused()
    expect(frame.locator(f'.day[data-date="{chosen_day}"]')).to_have_attribute("aria-pressed", "true")
    # time → services, and forward again
    frame.get_by_role("button", name="Back").click()
    expect(frame.get_by_role("heading", name="Dr. Maya Lindqvist")).to_be_focused()
    frame.get_by_role("button", name=re.compile("Coaching session")).click()
    expect(frame.locator(f'.day[data-date="{chosen_day}"]')).to_have_attribute("aria-pressed", "true")
    frame.locator(".times").get_by_role("button", name=slot_label, exact=True).click()
    for label, value in typed.items():
        expect(frame.get_by_label(label)).to_have_value(value)
    frame.get_by_role("button", name="Next").click()
    # "Change" on the review goes back to the details, and Next returns with the edit
    frame.get_by_role("button", name="Change: Your details").click()
    frame.get_by_label("Name").fill("Pia Roth-Lang")
    frame.get_by_role("button", name="Next").click()
    review = frame.locator(".review")
    for value in ("Pia Roth-Lang", "pia@example.com", "+33 6 12 34 56 78", "Second career", "Moving from nursing to UX"):
        expect(review).to_contain_text(value)
    frame.get_by_role("button", name="Confirm booking").click()
    expect(frame.get_by_role("heading", name="You’re booked")).to_be_visible()


# ---- first slots with the page ----------------------------------------------------------------------------

def api_requests(page: Page) -> list[str]:
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/api/v1/" in r.url else None)
    return asked


@pytest.mark.parametrize("browser_context_args", [{"timezone_id": "America/New_York"}], indirect=True)
def test_a_visitor_in_the_experts_zone_sees_times_with_no_request_after_the_page(page, server, host):
    """The widget page carries Jane's page and her first window of slots in her zone: no API call."""
    asked = api_requests(page)
    frame = embed(page, server, host, "first-slots-carried.html", service="intro-call")
    expect(frame.locator(".times").get_by_role("button", name=TIME).first).to_be_visible()
    assert [u for u in asked if "/slots?" in u or u.endswith("/experts/demo")] == []
    assert widget_frame(page).evaluate("() => !!document.getElementById('kairos-data')")


def test_a_visitor_in_another_zone_sees_times_with_no_request_after_the_page(page, server, host):
    """Paris is not the expert's zone: the page carries the first slots in no zone and the widget writes
    them in Paris's (e2e/test_first_slots_any_zone.py compares them with the API's, zone by zone)."""
    asked = api_requests(page)
    frame = embed(page, server, host, "first-slots-any-zone.html", service="intro-call")
    expect(frame.locator(".times").get_by_role("button", name=TIME).first).to_be_visible()
    assert [u for u in asked if "/slots?" in u] == []
    assert not [u for u in asked if u.endswith("/experts/demo")], "the expert's page still came with the page"
