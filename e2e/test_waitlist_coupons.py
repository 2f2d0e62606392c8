"""A client joins the waitlist of a full mini session, another client cancels, the first gets the
offer by email (a real SMTP server, aiosmtpd), opens its link and books the held seat in the widget.
A coupon lowers the price on the payment step and localstripe is charged the lower amount.
axe checks the new steps at 375 and 1280 px; screenshots go to docs/screenshots/."""
from __future__ import annotations

import re
import secrets
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from e2e.conftest import LiveServer, api, shot, wait_for_mail
from e2e.test_accessibility import check
from e2e.test_payment import fill_card
from e2e.test_widget_flow import a_later_weekday
from tests.stripe_fake import localstripe  # noqa: F401  (the session fixture)

WIDTHS = (375, 1280)


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "timezone_id": "Europe/Paris", "locale": "en-GB",
            "viewport": {"width": 375, "height": 800}}


@pytest.fixture(scope="module")
def studio(tmp_path_factory, smtp, localstripe):  # noqa: F811
    """A live server sending mail to aiosmtpd and paying through localstripe, with a photographer's
    one-seat mini sessions and a paid consultation."""
    secret = "whsec_" + secrets.token_hex(16)
    server = LiveServer(tmp_path_factory.mktemp("studio"), env_extra={
        **localstripe.app_env(secret), "KAIROS_SMTP_URL": f"smtp://127.0.0.1:{smtp.port}"}).start()
    localstripe.register_webhook(f"{server.url}/api/v1/payments/stripe/webhook", secret)
    token = server.kairos("create-expert", "lena", "--email", "lena@example.com", "--name", "Lena Photo",
                          "--timezone", "Europe/Paris").strip().splitlines()[-1]
    api(server, "PUT", "/api/v1/admin/availability", {
        "timezone": "Europe/Paris", "overrides": [],
        "weekly": {d: [["08:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}, token)
    api(server, "POST", "/api/v1/admin/services", {
        "slug": "minis", "name": "Winter minis", "kind": "mini", "duration_minutes": 20, "hold_minutes": 30,
        "policy": {"cutoff_hours": 1}}, token)
    day = a_later_weekday(5)
    api(server, "POST", "/api/v1/admin/services/minis/mini-days", {
        "date": day.isoformat(), "start_time": "10:00", "end_time": "10:20", "gap_minutes": 0,
        "location": {"type": "in_person", "name": "Riverside Park", "address": "Riverside Park, Paris"}}, token)
    api(server, "POST", "/api/v1/admin/services", {
        "slug": "consult", "name": "Paid consultation", "duration_minutes": 60, "min_notice_minutes": 24 * 60,
        "price": {"amount": 5000, "currency": "eur"}, "payment_options": ["online"]}, token)
    api(server, "POST", "/api/v1/admin/coupons", {"code": "WINTER20", "percent_off": 20, "max_uses": 10}, token)
    api(server, "POST", "/api/v1/admin/services", {
        "slug": "shoot", "name": "Family shoot", "duration_minutes": 60, "min_notice_minutes": 24 * 60,
        "price": {"amount": 10000, "currency": "eur"}, "deposit": {"amount": 3000, "currency": "eur"},
        "payment_options": ["online"]}, token)
    server.token = token
    server.day = day
    yield server
    server.stop()


def test_a_client_joins_the_waitlist_and_books_the_seat_another_client_freed(page: Page, studio, smtp):
    # Bo takes the only seat of the day.
    slots = api(studio, "GET", f"/api/v1/experts/lena/services/minis/slots?start={studio.day}"
                               f"&end={studio.day + timedelta(days=1)}&timezone=Europe/Paris")["slots"]
    bo = api(studio, "POST", "/api/v1/experts/lena/services/minis/bookings", {
        "session": slots[0]["session"], "timezone": "Europe/Paris",
        "client": {"name": "Bo Brook", "email": "bo@example.com"}})["booking"]

    # Ada finds it full and joins the waitlist.
    page.goto(f"{studio.url}/book/lena/minis")
    full = page.get_by_role("button", name=re.compile("Join the waitlist for"))
    expect(full).to_be_visible()
    expect(page.locator(".time.full")).to_contain_text("Full")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        shot(page, f"waitlist-full-{width}")
        check(page, f"a full session at {width}px")
    full.click()
    expect(page.get_by_role("heading", name="Join the waitlist")).to_be_visible()
    page.get_by_label("Name").fill("Ada Lovel")
    page.get_by_label("Email").fill("ada@example.com")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        shot(page, f"waitlist-join-{width}")
        check(page, f"the waitlist form at {width}px")
    page.get_by_role("button", name="Join the waitlist").click()
    expect(page.get_by_role("heading", name="You’re on the waitlist")).to_be_visible()
    expect(page.get_by_text("You are first in line.")).to_be_visible()
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        shot(page, f"waitlist-joined-{width}")
        check(page, f"on the waitlist at {width}px")

    # Bo cancels through their manage link; Ada is emailed a link that holds the seat.
    token = bo["manage_url"].rsplit("/manage/", 1)[1]
    api(studio, "POST", f"/api/v1/manage/{token}/cancel", {"reason": "Sick child"})
    body = wait_for_mail(smtp, "ada@example.com", "A seat is free").get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"Book this seat: (\S+)", body).group(1)
    assert "/book/lena/minis?waitlist=wt_" in link

    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(link)
    expect(page.get_by_text(re.compile("A seat is held for you until"))).to_be_visible()
    expect(page.get_by_label("Name")).to_have_value("Ada Lovel")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        shot(page, f"waitlist-offer-{width}")
        check(page, f"the offered seat at {width}px")
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Confirm booking").click()
    expect(page.get_by_role("heading", name="You’re booked")).to_be_visible()
    rows = api(studio, "GET", "/api/v1/admin/bookings?status=confirmed", token=studio.token)["bookings"]
    assert [b["client"]["email"] for b in rows if b["service"]["slug"] == "minis"] == ["ada@example.com"]


def test_a_coupon_lowers_the_price_and_localstripe_is_charged_less(page: Page, studio, localstripe):  # noqa: F811
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{studio.url}/book/lena/consult")
    page.get_by_role("button", name=re.compile(r"^\d{1,2}:\d{2}")).first.click()
    page.get_by_label("Name").fill("Cy Dane")
    page.get_by_label("Email").fill("cy@example.com")
    page.get_by_role("button", name="Next").click()
    coupon = page.get_by_label("Discount code")
    coupon.fill("nope")
    page.get_by_role("button", name="Confirm booking").click()
    expect(page.locator(".coupon .field-error")).to_have_text("This code is not valid.")
    expect(coupon).to_be_focused()
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        shot(page, f"coupon-refused-{width}")
        check(page, f"a refused code at {width}px")
    coupon.fill("winter20")
    page.get_by_role("button", name="Confirm booking").click()
    expect(page.get_by_role("heading", name="Payment")).to_be_visible()
    expect(page.get_by_text("Code WINTER20: −€10.00")).to_be_visible()
    pay = page.get_by_role("button", name=re.compile(r"^Pay €40\.00"))
    expect(pay).to_be_visible()
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        shot(page, f"coupon-payment-{width}")
        check(page, f"the discounted payment step at {width}px")
    fill_card(page, "4242424242424242")
    pay.click()
    expect(page.get_by_role("heading", name=re.compile("booked", re.I))).to_be_visible(timeout=20000)
    rows = api(studio, "GET", "/api/v1/admin/bookings?status=confirmed", token=studio.token)["bookings"]
    booking = next(b for b in rows if b["client"]["email"] == "cy@example.com")
    assert booking["payment"]["amount"] == 4000 and booking["coupon"] == {"code": "WINTER20", "discount": 1000}
    intents = localstripe.get("/v1/payment_intents")["data"]
    assert [i["amount"] for i in intents if i["metadata"].get("kairos_booking") == booking["id"]] == [4000]


def test_a_deposit_is_paid_in_the_widget_and_the_rest_later_from_the_manage_page(page: Page, studio, localstripe):  # noqa: F811
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"{studio.url}/book/lena/shoot")
    page.get_by_role("button", name=re.compile(r"^\d{1,2}:\d{2}")).first.click()
    page.get_by_label("Name").fill("Dee Fox")
    page.get_by_label("Email").fill("dee@example.com")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_text(re.compile(r"deposit of €30\.00 by card.*\(€70\.00\) is due later"))).to_be_visible()
    page.get_by_role("button", name="Confirm booking").click()
    pay = page.get_by_role("button", name=re.compile(r"^Pay €30\.00"))
    expect(pay).to_be_visible()
    fill_card(page, "4242424242424242")
    pay.click()
    expect(page.get_by_role("heading", name="You’re booked")).to_be_visible(timeout=20000)
    expect(page.get_by_text("Still to pay later: €70.00")).to_be_visible()
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        shot(page, f"deposit-booked-{width}")
        check(page, f"a booking on its deposit at {width}px")
    manage = page.get_by_role("link", name="Reschedule or cancel").get_attribute("href")
    page.goto(manage)
    rest = page.get_by_role("button", name="Pay the rest (€70.00) by card")
    expect(rest).to_be_visible()
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        shot(page, f"deposit-manage-{width}")
        check(page, f"the manage page with money due at {width}px")
    rest.click()
    fill_card(page, "4242424242424242")
    page.get_by_role("button", name=re.compile(r"^Pay €70\.00")).click()
    expect(page.get_by_text("Still to pay later")).to_have_count(0, timeout=20000)
    rows = api(studio, "GET", "/api/v1/admin/bookings?status=confirmed", token=studio.token)["bookings"]
    booking = next(b for b in rows if b["client"]["email"] == "dee@example.com")
    assert booking["payment"]["deposit"] == 3000 and booking["payment"]["amount_due"] == 0
    intents = localstripe.get("/v1/payment_intents")["data"]
    assert sorted(i["amount"] for i in intents if i["metadata"].get("kairos_booking") == booking["id"]) == [3000, 7000]
