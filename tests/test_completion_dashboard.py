"""The dashboard's New session form sets up one-offs with a title, a price and payment options."""
from __future__ import annotations

from tests.conftest import next_weekday
from tests.test_dashboard import NEW, admin_bookings, counts, csrf, flashed_link, signed_in  # noqa: F401  (fixture)


def one_off(client, **fields):
    day = next_weekday(2)
    data = {"service": "", "date": day.isoformat(), "time": "18:30", "duration_minutes": "45",
            "client_email": "ann@example.com", "client_name": "Ann Lee", **fields}
    return client.post(NEW, data={"csrf_token": csrf(client, NEW), **data})


def test_a_paid_one_off_set_up_in_the_dashboard_asks_the_client_to_pay(app, signed_in, expert):
    page = signed_in.get(NEW).text
    for label in ('<label for="name">Title', '<label for="price">Price', '<label for="currency">Currency',
                  '<legend>How the client may pay</legend>', 'for="pay-online"', 'for="pay-outside"'):
        assert label in page, label
    response = signed_in.post(NEW, data={
        "csrf_token": csrf(signed_in, NEW), "service": "", "date": next_weekday(2).isoformat(), "time": "18:30",
        "duration_minutes": "45", "client_email": "ann@example.com", "client_name": "Ann Lee",
        "name": "Portfolio review", "price": "80,50", "currency": "eur", "payment_options": ["outside"]})
    assert response.status_code == 302, response.text
    link = flashed_link(signed_in.get("/dashboard").text)
    [booking] = admin_bookings(signed_in, expert)
    assert booking["service"]["name"] == "Portfolio review" and booking["status"] == "pending"
    view = signed_in.get(f"/api/v1/manage/{link.rsplit('/manage/', 1)[1]}").get_json()
    assert view["completion"]["price"] == {"amount": 8050, "currency": "eur"}
    assert view["completion"]["payment_options"] == ["outside"]


def test_a_price_without_a_way_to_pay_is_refused_and_nothing_is_kept(app, signed_in, expert):
    before = counts(app)
    page = one_off(signed_in, name="Review", price="80")
    assert page.status_code == 422
    assert 'id="err-payment_options"' in page.text and "Choose how the client pays." in page.text
    assert 'value="Review"' in page.text and 'value="80"' in page.text  # kept as typed
    bad = one_off(signed_in, price="eighty", payment_options=["outside"])
    assert bad.status_code == 422 and "Enter the price as a number" in bad.text
    assert 'value="outside" checked' in bad.text
    assert counts(app) == before


def test_the_expert_chooses_how_long_the_time_stays_reserved(app, signed_in, expert):
    from datetime import datetime, timedelta, timezone
    assert '<label for="expires_in_days">Keep the time reserved</label>' in signed_in.get(NEW).text
    day = next_weekday(3, weeks=2)
    response = one_off(signed_in, date=day.isoformat(), time="18:00", expires_in_days="2")
    assert response.status_code == 302, response.text
    [booking] = admin_bookings(signed_in, expert)
    lapses = datetime.fromisoformat(booking["expires_at"])
    assert abs(lapses - (datetime.now(timezone.utc) + timedelta(days=2))) < timedelta(minutes=5)
    bad = one_off(signed_in, expires_in_days="400")
    assert bad.status_code == 422 and "Choose how long the time stays reserved." in bad.text
