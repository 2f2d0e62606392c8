"""Mia, a coach, on her laptop and then her phone, in the dashboard of a real server (localstripe for the
card payments): she makes a package of five consultations and a collection for her regulars, copies the
collection's snippet from Embed & links, tries to remove a group session someone booked (refused, with
the reason) and removes an empty one, revokes an API token after a confirmation, reads a deposit
booking's paid and due amounts, and finds a lapsed offer marked in her Overview, which she reads on a
375 px phone without scrolling sideways. Each page passes axe at 375 and 1280 px and is photographed."""
from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from e2e.conftest import LiveServer, api, shot
from e2e.test_accessibility import check
from tests.conftest import next_weekday
from tests.stripe_fake import localstripe  # noqa: F401  (the session fixture: localstripe on a free port)
from tests.test_payments import pay_path

PASSWORD = "mia-coaching-password"
WIDTHS = (375, 1280)


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "timezone_id": "Europe/Paris", "locale": "en-GB",
            "viewport": {"width": 1280, "height": 900}}


@pytest.fixture(scope="module")
def studio(tmp_path_factory, localstripe) -> Iterator[LiveServer]:  # noqa: F811
    """Mia (Paris): a consultation payable with package credits, a photo shoot with a deposit, paid by
    Ann; an evening circle with one session booked by Bo and one empty; and an offer to Cy that lapses
    a few seconds after it is made (the server's own clock lapses it)."""
    secret = "whsec_" + secrets.token_hex(16)
    server = LiveServer(tmp_path_factory.mktemp("packages"), env_extra=localstripe.app_env(secret)).start()
    localstripe.register_webhook(f"{server.url}/api/v1/payments/stripe/webhook", secret)
    token = server.kairos("create-expert", "mia", "--email", "mia@example.com", "--name", "Mia Laurent",
                          "--timezone", "Europe/Paris", "--password", PASSWORD).strip().splitlines()[-1]
    api(server, "PUT", "/api/v1/admin/availability", {
        "timezone": "Europe/Paris", "overrides": [],
        "weekly": {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}}, token)
    api(server, "POST", "/api/v1/admin/services", {
        "slug": "consult", "name": "Consultation", "duration_minutes": 60, "slot_interval_minutes": 60,
        "price": {"amount": 9000, "currency": "eur"}, "payment_options": ["online", "package"]}, token)
    api(server, "POST", "/api/v1/admin/services", {
        "slug": "shoot", "name": "Photo shoot", "duration_minutes": 60, "slot_interval_minutes": 60,
        "price": {"amount": 20000, "currency": "eur"}, "deposit": {"amount": 5000, "currency": "eur"},
        "payment_options": ["online"], "hold_minutes": 30}, token)
    day = next_weekday(2)
    paris = f"{day}T11:00:00+01:00" if day.month in (11, 12, 1, 2, 3) else f"{day}T11:00:00+02:00"
    booking = api(server, "POST", "/api/v1/experts/mia/services/shoot/bookings", {
        "start": paris, "timezone": "Europe/Paris", "payment_option": "online",
        "client": {"name": "Ann Lee", "email": "ann@example.com"}})["booking"]
    status, setup = localstripe.confirm_card_setup(booking["payment"]["client_secret"], "4242424242424242")
    assert status == 200 and setup["status"] == "succeeded", setup
    api(server, "POST", pay_path(booking) + "/confirm", {"setup_intent": setup["id"]})
    api(server, "POST", "/api/v1/admin/services", {
        "slug": "circle", "name": "Evening circle", "kind": "group", "duration_minutes": 60, "capacity": 6,
        "location": {"type": "in_person", "name": "Studio"}}, token)
    later = next_weekday(3)
    offset = "+01:00" if later.month in (11, 12, 1, 2, 3) else "+02:00"
    booked = api(server, "POST", "/api/v1/admin/services/circle/sessions", {
        "start": f"{later}T18:00:00{offset}", "end": f"{later}T19:00:00{offset}"}, token)["session"]
    api(server, "POST", "/api/v1/admin/services/circle/sessions", {
        "start": f"{later}T20:00:00{offset}", "end": f"{later}T21:00:00{offset}"}, token)
    api(server, "POST", "/api/v1/experts/mia/services/circle/bookings", {
        "session": booked["id"], "timezone": "Europe/Paris", "client": {"name": "Bo Chen", "email": "bo@example.com"}})
    # Far enough ahead that a busy machine still creates the offer before it lapses.
    soon = (datetime.now(UTC) + timedelta(seconds=8)).isoformat()
    api(server, "POST", "/api/v1/admin/bookings", {
        "service": None, "name": "Follow-up call", "start": f"{next_weekday(4)}T10:00:00{offset}",
        "duration_minutes": 30, "client": {"name": "Cy Park", "email": "cy@example.com"}, "expires_at": soon}, token)
    server.token = token
    server.deposit_booking = booking["id"]
    yield server
    server.stop()


def each_width(page: Page, name: str, where: str) -> None:
    """axe at 375 and 1280 px, the page never wider than the window, a full-page screenshot at each."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_function("w => innerWidth === w", arg=width)
        check(page, f"{where} at {width}px")
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), f"{where} scrolls sideways at {width}"
        shot(page, f"{name}-{width}")
    page.set_viewport_size({"width": 1280, "height": 900})


def flash(page: Page):
    return page.locator(".flashes")


def sign_in(page: Page, server: LiveServer) -> None:
    page.goto(f"{server.url}/dashboard")
    page.get_by_label("Email").fill("mia@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your dashboard")).to_be_visible()


def test_mia_sells_a_package_and_shares_a_collection(page: Page, studio):
    sign_in(page, studio)
    page.get_by_role("navigation", name="Dashboard").get_by_role("link", name="Packages").click()
    expect(page.get_by_role("heading", name="Packages and collections")).to_be_visible()

    page.get_by_role("link", name="New package").click()
    page.get_by_label("Name", exact=True).fill("Five consultations")
    page.get_by_label("Sessions in the package").fill("5")
    page.get_by_label("Consultation").check()
    page.get_by_label("Price").fill("4OO")  # a letter O for a zero
    page.get_by_label("Currency").fill("EUR")
    page.get_by_label("Valid for (days after purchase) (optional)").fill("180")
    page.get_by_role("button", name="Create package").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")
    expect(page.locator("#err-price-amount")).to_have_text("Enter the price as a number, like 90 or 90.50.")
    expect(page.get_by_label("Price")).to_have_value("4OO")  # as typed
    expect(page.get_by_label("Name", exact=True)).to_have_value("Five consultations")
    expect(page.get_by_label("Sessions in the package")).to_have_value("5")
    expect(page.get_by_label("Consultation")).to_be_checked()
    each_width(page, "dashboard-package-error", "the package form with an error")
    page.get_by_label("Price").fill("400")
    page.get_by_role("button", name="Create package").click()
    expect(flash(page)).to_contain_text("Package “Five consultations” saved.")

    page.get_by_role("link", name="New collection").click()
    page.get_by_label("Name", exact=True).fill("For my regulars")
    page.get_by_label("Service: Consultation").check()
    page.get_by_label("Package: Five consultations").check()
    page.get_by_label("Existing clients only").check()
    each_width(page, "dashboard-collection-form", "the collection form")
    page.get_by_role("button", name="Create collection").click()
    expect(flash(page)).to_contain_text("Collection “For my regulars” saved.")
    expect(page.get_by_text("5 sessions · 400.00 EUR")).to_be_visible()
    each_width(page, "dashboard-packages", "packages and collections")
    stored = api(studio, "GET", "/api/v1/admin/collections", token=studio.token)["collections"]
    assert stored == [{"slug": "for-my-regulars", "name": "For my regulars", "description": "",
                       "items": [{"service": "consult"}, {"package": "five-consultations"}], "clients_only": True}]

    page.get_by_role("link", name="Link and snippet of For my regulars").click()
    code = page.locator("#collection-snippet-for-my-regulars")
    expect(code).to_contain_text('data-kairos-collection="for-my-regulars"')
    expect(page.locator("#collection-link-for-my-regulars")).to_have_text(f"{studio.url}/book/mia?collection=for-my-regulars")
    each_width(page, "dashboard-embed-collections", "Embed & links with a collection")


def test_mia_removes_only_the_session_nobody_booked(page: Page, studio):
    sign_in(page, studio)
    page.goto(f"{studio.url}/dashboard/services/circle/sessions")
    page.get_by_role("link", name="Remove the session of").first.click()
    expect(page.get_by_role("alert")).to_contain_text("1 booking holds a seat in this session. Cancel them first")
    expect(page.get_by_role("button", name="Remove session")).to_have_count(0)
    each_width(page, "dashboard-session-remove-refused", "a booked session's removal, refused")
    page.get_by_role("link", name="Back to the sessions of Evening circle").first.click()
    page.get_by_role("link", name="Remove the session of").nth(1).click()
    expect(page.get_by_text("Nobody has booked it.")).to_be_visible()
    each_width(page, "dashboard-session-remove", "an empty session's removal")
    page.get_by_role("button", name="Remove session").click()
    expect(flash(page)).to_contain_text("removed.")
    sessions = api(studio, "GET", "/api/v1/admin/services/circle/sessions", token=studio.token)["sessions"]
    assert len(sessions) == 1


def test_mia_revokes_a_token_after_saying_yes(page: Page, studio):
    sign_in(page, studio)
    page.goto(f"{studio.url}/dashboard/settings/integrations")
    page.get_by_label("Name").fill("Old spreadsheet")
    page.get_by_role("button", name="Create token").click()
    new = page.locator("#new-token").inner_text()
    page.get_by_role("link", name="Revoke token Old spreadsheet").click()
    expect(page.get_by_role("heading", name="Revoke the API token “Old spreadsheet”?")).to_be_visible()
    each_width(page, "dashboard-token-revoke", "revoking a token")
    page.get_by_role("link", name="Keep it").click()
    assert api(studio, "GET", "/api/v1/admin/profile", token=new)["slug"] == "mia"  # kept: it still works
    page.get_by_role("link", name="Revoke token Old spreadsheet").click()
    page.get_by_role("button", name="Revoke token").click()
    expect(flash(page)).to_contain_text("API token revoked")
    with pytest.raises(Exception, match="401"):
        api(studio, "GET", "/api/v1/admin/profile", token=new)


def test_mia_reads_a_deposit_and_her_overview_on_a_phone(page: Page, studio):
    sign_in(page, studio)
    page.goto(f"{studio.url}/dashboard/bookings/{studio.deposit_booking}")
    review = page.locator("dl.review")
    expect(review).to_contain_text("Deposit50.00 EUR · paid")
    expect(review).to_contain_text("Paid so far50.00 EUR")
    expect(review).to_contain_text("Balance due150.00 EUR")
    each_width(page, "dashboard-booking-deposit", "a deposit booking")

    # Cy's offer lapses by the server's clock; the Overview marks it (reloaded until then, with a deadline).
    deadline = time.monotonic() + 120
    while True:
        page.goto(f"{studio.url}/dashboard")
        if page.locator(".badge.lapsed").count():
            break
        assert time.monotonic() < deadline, "the offer never lapsed"
        page.wait_for_timeout(500)  # a reload with a deadline: waiting for the server's clock
    row = page.get_by_role("row").filter(has_text="Cy Park")
    expect(row.locator(".badge.lapsed")).to_have_text("Lapsed")
    page.set_viewport_size({"width": 375, "height": 900})
    expect(page.get_by_text("Ann Lee").first).to_be_visible()
    each_width(page, "dashboard-overview-lapsed", "the Overview")
