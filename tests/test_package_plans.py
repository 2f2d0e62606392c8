"""Package plans bought by card (localstripe), spent by bookings, given back on a timely cancel only
(SQLite and PostgreSQL)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from backend.extensions import db
from backend.models import Booking, ClientPackage, OutboxMessage, PackagePurchase
from backend.types import utcnow
from tests.stripe_fake import localstripe, stripe_app, wait_for  # noqa: F401  (fixtures)
from tests.test_payments import CARD_OK, at

PLAN = {"slug": "three-sessions", "name": "Three sessions", "description": "Three coaching sessions",
        "sessions": 3, "services": ["coaching"], "price": {"amount": 13500, "currency": "eur"},
        "expires_after_days": 180, "visibility": "public"}


@pytest.fixture
def app(stripe_app):
    return stripe_app.app


@pytest.fixture
def stripe(stripe_app):
    return stripe_app.stripe


@pytest.fixture
def plan(client, expert) -> dict:
    response = client.post("/api/v1/admin/services", headers=expert["headers"], json={
        "slug": "coaching", "name": "Coaching", "duration_minutes": 60, "slot_interval_minutes": 60,
        "price": {"amount": 5000, "currency": "eur"}, "payment_options": ["online", "package"],
        "max_advance_days": 90, "location": {"type": "video", "url": "https://meet.example.com/jane"},
        "policy": {"refund": "full", "cutoff_hours": 24}})
    assert response.status_code == 201, response.get_json()
    response = client.post("/api/v1/admin/package-plans", headers=expert["headers"], json=PLAN)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["package_plan"]


def rows(app, model, *where):
    with app.app_context():
        return list(db.session.scalars(select(model).where(*where)))


def buy(client, stripe, email: str = "ann@example.com") -> dict:
    """What the widget does: start the purchase, confirm the card with Stripe.js, charge it."""
    started = client.post("/api/v1/experts/jane/package-plans/three-sessions/purchases",
                          json={"client": {"name": "Ann Lee", "email": email}})
    assert started.status_code == 201, started.get_json()
    purchase = started.get_json()["purchase"]
    assert purchase["status"] == "pending_payment" and purchase["package"] is None
    assert purchase["payment"]["next_action"] == "confirm_card_setup"
    status, _ = stripe.confirm_card_setup(purchase["payment"]["client_secret"], CARD_OK)
    assert status == 200
    confirmed = client.post(f"/api/v1/experts/jane/purchases/{purchase['id']}/confirm",
                            json={"setup_intent": purchase["payment"]["setup_intent"]})
    assert confirmed.status_code == 200, confirmed.get_json()
    return confirmed.get_json()["purchase"]


def book_with_credit(client, start: str, email: str = "ann@example.com", **extra):
    return client.post("/api/v1/experts/jane/services/coaching/bookings", json={
        "start": start, "timezone": "Europe/Paris", "client": {"name": "Ann Lee", "email": email},
        "payment_option": "package", **extra})


def test_a_plan_is_on_the_booking_page_and_the_expert_manages_it(app, client, expert, plan):
    assert plan["services"] == ["coaching"] and plan["sessions"] == 3
    page = client.get("/api/v1/experts/jane").get_json()
    assert [p["slug"] for p in page["packages"]] == ["three-sessions"]
    assert client.get("/api/v1/experts/jane/package-plans/three-sessions").get_json()["package_plan"]["price"] == {
        "amount": 13500, "currency": "eur"}
    patched = client.patch("/api/v1/admin/package-plans/three-sessions", headers=expert["headers"],
                           json={"visibility": "clients"})
    assert patched.status_code == 200 and patched.get_json()["package_plan"]["visibility"] == "clients"
    hidden = client.get("/api/v1/experts/jane/package-plans/three-sessions")
    assert hidden.status_code == 401 and hidden.get_json()["error"]["code"] == "sign_in_required"
    assert client.get("/api/v1/experts/jane").get_json()["packages"] == []
    bad = client.post("/api/v1/admin/package-plans", headers=expert["headers"],
                      json={**PLAN, "slug": "other", "services": ["intro-call"]})
    assert bad.status_code == 422 and "services" in bad.get_json()["error"]["fields"]
    assert client.delete("/api/v1/admin/package-plans/three-sessions", headers=expert["headers"]).status_code == 204
    assert client.get("/api/v1/admin/package-plans", headers=expert["headers"]).get_json() == {"package_plans": []}


def test_a_package_is_bought_spent_to_zero_refused_when_empty_and_a_credit_comes_back_on_a_timely_cancel(
        app, client, expert, plan, stripe):
    purchase = buy(client, stripe)
    wait_for(lambda: rows(app, PackagePurchase)[0].status == "paid")
    # The webhook and the status check both saw it paid: credits exist once.
    again = client.get(f"/api/v1/experts/jane/purchases/{purchase['id']}").get_json()["purchase"]
    assert again["status"] == "paid" and again["package"]["credits_left"] == 3
    assert len(rows(app, ClientPackage)) == 1
    assert [m.payload["plan"] for m in rows(app, OutboxMessage, OutboxMessage.topic == "package_purchased")] == [
        "Three sessions"]

    starts = [at(9), at(10), at(11)]
    made = [book_with_credit(client, s) for s in starts]
    assert [r.status_code for r in made] == [201, 201, 201], [r.get_json() for r in made]
    assert made[0].get_json()["booking"]["status"] == "confirmed"
    assert rows(app, ClientPackage)[0].credits_used == 3
    empty = book_with_credit(client, at(14))
    assert empty.status_code == 403 and empty.get_json()["error"]["reason"] == "no_package_credit"

    # A timely cancel (days ahead) gives the credit back …
    token = made[0].get_json()["booking"]["manage_url"].rsplit("/manage/", 1)[1]
    assert client.post(f"/api/v1/manage/{token}/cancel", json={}).status_code == 200
    assert rows(app, ClientPackage)[0].credits_used == 2
    assert book_with_credit(client, at(14)).status_code == 201

    # … a late one (the expert records it inside the 24-hour cutoff) does not.
    late_id = made[1].get_json()["booking"]["id"]
    with app.app_context():
        db.session.execute(update(Booking).where(Booking.id == late_id).values(
            start=utcnow() + timedelta(hours=5), end=utcnow() + timedelta(hours=6)))
        db.session.commit()
    cancelled = client.post(f"/api/v1/admin/bookings/{late_id}/cancel", headers=expert["headers"], json={})
    assert cancelled.status_code == 200, cancelled.get_json()
    assert rows(app, ClientPackage)[0].credits_used == 3


def test_the_status_check_alone_gives_the_credits_once(stripe_app, app, client, expert, plan, stripe):
    stripe_app.mute_webhooks()
    purchase = buy(client, stripe)
    assert purchase["status"] == "paid"  # the charge itself succeeded
    for _ in range(2):
        assert client.get(f"/api/v1/experts/jane/purchases/{purchase['id']}").get_json()["purchase"]["status"] == "paid"
    assert [p.credits_total for p in rows(app, ClientPackage)] == [3]


def test_the_client_chooses_which_package_and_the_expert_refunds_an_unused_one(app, client, expert, plan, stripe):
    first = buy(client, stripe)
    second = buy(client, stripe)
    wait_for(lambda: all(p.status == "paid" for p in rows(app, PackagePurchase)))
    packages = sorted(rows(app, ClientPackage), key=lambda p: p.id)
    assert len(packages) == 2
    chosen = book_with_credit(client, at(9), package=packages[1].id)
    assert chosen.status_code == 201, chosen.get_json()
    assert [p.credits_used for p in sorted(rows(app, ClientPackage), key=lambda p: p.id)] == [0, 1]

    used = client.post(f"/api/v1/admin/package-purchases/{second['id']}/refund", headers=expert["headers"])
    assert used.status_code == 403 and used.get_json()["error"]["reason"] == "package_used"
    refunded = client.post(f"/api/v1/admin/package-purchases/{first['id']}/refund", headers=expert["headers"])
    assert refunded.status_code == 200, refunded.get_json()
    assert refunded.get_json()["purchase"]["status"] == "refunded"
    assert refunded.get_json()["purchase"]["package"]["credits_left"] == 0
    intent = stripe.get(f"/v1/payment_intents/{rows(app, PackagePurchase, PackagePurchase.id == first['id'])[0].provider_payment_id}")
    assert intent["charges"]["data"][0]["amount_refunded"] == 13500

    # The expert revokes what is left of the other one.
    revoked = client.delete(f"/api/v1/admin/packages/{packages[1].id}", headers=expert["headers"])
    assert revoked.status_code == 200 and revoked.get_json()["package"]["credits_left"] == 0
    assert book_with_credit(client, at(10)).status_code == 403


def test_a_signed_in_client_pays_with_the_saved_card_in_one_request(app, client, expert, plan, stripe):
    from tests.test_client_auth import bearer, sign_in
    buy(client, stripe)  # the first purchase keeps the card on Ann's Stripe customer
    token = sign_in(client, app, "ann@example.com")
    me = client.get("/api/v1/experts/jane/client-auth/me", headers=bearer(token)).get_json()
    [card] = me["cards"]
    assert (card["brand"], card["last4"]) == ("visa", "4242") and me["packages"][0]["credits_left"] == 3

    foreign = client.post("/api/v1/experts/jane/services/coaching/bookings", headers=bearer(token), json={
        "start": at(9), "timezone": "Europe/Paris", "payment_option": "online", "card": "pm_not_hers"})
    assert foreign.status_code == 422 and "card" in foreign.get_json()["error"]["fields"]
    assert rows(app, Booking) == []  # nothing held for a card that is not hers
    paid = client.post("/api/v1/experts/jane/services/coaching/bookings", headers=bearer(token), json={
        "start": at(10), "timezone": "Europe/Paris", "payment_option": "online", "card": card["id"]})
    assert paid.status_code == 201, paid.get_json()
    booking = paid.get_json()["booking"]
    assert booking["status"] == "confirmed" and booking["payment"]["status"] == "paid"
    assert booking["client"]["email"] == "ann@example.com"

    again = client.post("/api/v1/experts/jane/package-plans/three-sessions/purchases", headers=bearer(token),
                        json={"card": card["id"]})
    assert again.status_code == 201, again.get_json()
    assert again.get_json()["purchase"]["status"] == "paid"
    assert again.get_json()["purchase"]["package"]["credits_left"] == 3


def test_the_receipt_and_the_code_email_are_sent_through_the_outbox(app, client, expert, plan, stripe):
    import email
    import email.policy

    from backend.worker import deliver_due
    buy(client, stripe)
    wait_for(lambda: rows(app, OutboxMessage, OutboxMessage.topic == "package_purchased"))
    client.post("/api/v1/experts/jane/client-auth/start", json={"email": "ann@example.com"})
    while deliver_due(app):
        pass
    folder = app.config["KAIROS"].instance_dir / "outbox"
    sent = {m["Subject"]: m for m in (email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
                                      for p in folder.glob("*.eml"))}
    receipt = sent["Receipt: Three sessions with Jane Doe"]
    assert receipt["To"] == "ann@example.com"
    body = receipt.get_content()
    assert "3 sessions of Coaching" in body and "135.00 EUR" in body and "/book/jane" in body
    [code_subject] = [s for s in sent if s.endswith("is your sign-in code for Jane Doe")]
    assert code_subject[:6].isdigit() and "/book/jane?signin=" in sent[code_subject].get_content()
