"""A phone on a bad network, and a client who reads French.

The answer to "Confirm booking" lost on the way back, or the network gone when the client taps it:
the widget says so, offers to try again, keeps what was typed, and the retries (same
Idempotency-Key) make exactly one booking. The widget speaks the browser's language unless the
expert's snippet chooses one.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import BrowserContext, FrameLocator, Page, Route, expect

from e2e.conftest import api, host_page

TIME = re.compile(r"^\d{1,2}:\d{2}")


@pytest.fixture
def browser_context_args(browser_context_args, request):
    return {**browser_context_args, "timezone_id": "Europe/Paris", "locale": "en-GB",
            "viewport": {"width": 390, "height": 844}, **getattr(request, "param", {})}



@pytest.fixture(scope="module")
def coach(server) -> str:
    """An expert of our own, so the test can count her bookings through the expert API."""
    token = server.kairos("create-expert", "lina", "--email", "lina@example.com", "--name", "Lina Berg",
                          "--timezone", "Europe/Paris").strip().splitlines()[-1]
    weekly = {d: [["08:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    api(server, "PUT", "/api/v1/admin/availability", {"timezone": "Europe/Paris", "weekly": weekly}, token)
    api(server, "POST", "/api/v1/admin/services", {"slug": "call", "name": "Discovery call", "duration_minutes": 30,
                                                    "min_notice_minutes": 0}, token)
    return token


def bookings_of(server, token: str, email: str) -> list[dict]:
    found = api(server, "GET", "/api/v1/admin/bookings", token=token)["bookings"]
    return [b for b in found if b["client"]["email"] == email and b["status"] != "cancelled"]


def open_details(page: Page, server, host, name: str) -> FrameLocator:
    page.goto(host.page(name, host_page(server.url, '<div id="b" data-kairos-expert="lina" data-kairos-service="call"></div>')))
    frame = page.frame_locator("#b iframe")
    frame.locator(".times").get_by_role("button", name=TIME).last.click()
    expect(frame.get_by_role("heading", name="Your details")).to_be_focused()
    return frame


def fill_and_review(frame: FrameLocator, name: str, email: str) -> None:
    frame.get_by_label("Name").fill(name)
    frame.get_by_label("Email").fill(email)
    frame.get_by_role("button", name="Next").click()
    expect(frame.get_by_role("heading", name="Review and confirm")).to_be_focused()


def test_a_lost_answer_is_retried_and_makes_one_booking(page: Page, context: BrowserContext, server, host, coach):
    frame = open_details(page, server, host, "lost-answer.html")
    fill_and_review(frame, "Noor Haddad", "noor@example.com")
    seen: list[str] = []

    def lose_first_answer(route: Route) -> None:
        seen.append(route.request.headers.get("idempotency-key", ""))
        if len(seen) == 1:
            route.fetch()  # the server books...
            route.abort("connectionreset")  # ...and the answer never reaches the phone
        else:
            route.continue_()

    context.route("**/api/v1/experts/lina/services/call/bookings", lose_first_answer)
    frame.get_by_role("button", name="Confirm booking").click()
    expect(frame.get_by_role("heading", name="You’re booked")).to_be_visible()
    assert len(seen) == 2 and seen[0] and seen[0] == seen[1], "the retry carries the same Idempotency-Key"
    assert len(bookings_of(server, coach, "noor@example.com")) == 1


def test_no_network_at_confirm_offers_to_try_again_and_books_once(page: Page, context: BrowserContext, server,
                                                                   host, coach):
    frame = open_details(page, server, host, "offline.html")
    fill_and_review(frame, "Tomás Ruiz", "tomas@example.com")
    attempts: list[str] = []

    def offline(route: Route) -> None:
        attempts.append(route.request.headers.get("idempotency-key", ""))
        route.abort("internetdisconnected")

    context.route("**/api/v1/experts/lina/services/call/bookings", offline)
    frame.get_by_role("button", name="Confirm booking").click()
    alert = frame.get_by_text("We couldn’t reach the booking service. Check your connection and try again.")
    expect(alert).to_be_visible()
    assert len(attempts) >= 2, "the widget retried by itself before giving up"
    expect(frame.get_by_role("alert")).to_contain_text("couldn’t reach")  # announced to screen readers too
    # The client is still on the review with everything they typed.
    expect(frame.locator(".review")).to_contain_text("tomas@example.com")

    context.unroute("**/api/v1/experts/lina/services/call/bookings")
    frame.get_by_role("button", name="Try again").click()
    expect(frame.get_by_role("heading", name="You’re booked")).to_be_visible()
    assert len(bookings_of(server, coach, "tomas@example.com")) == 1


@pytest.mark.parametrize("browser_context_args", [{"locale": "fr-FR"}], indirect=True, ids=["browser-in-french"])
def test_a_french_browser_gets_the_widget_in_french_unless_the_snippet_says_otherwise(page: Page, server, host, coach):
    page.goto(host.page("fr.html", host_page(server.url, '<div id="b" data-kairos-expert="lina"></div>')))
    frame = page.frame_locator("#b iframe")
    # Her only service opens straight on the times.
    expect(frame.get_by_role("heading", name="Choisissez un horaire")).to_be_visible()
    expect(frame.get_by_text("Étape 1 sur 3")).to_be_visible()
    months = "janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre"
    expect(frame.get_by_text(re.compile(rf"^({months}) \d{{4}}$"))).to_be_visible()
    expect(frame.get_by_label("Fuseau horaire")).to_have_value("Europe/Paris")
    expect(frame.get_by_role("group", name=re.compile("horloge|heure", re.I))).to_be_visible()
    # The expert's snippet can choose the language whatever the browser says.
    page.goto(host.page("fr-en.html", host_page(
        server.url, '<div id="b" data-kairos-expert="lina" data-kairos-lang="en"></div>')))
    expect(page.frame_locator("#b iframe").get_by_role("heading", name="Choose a time")).to_be_visible()
