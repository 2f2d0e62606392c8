"""Packages and collections in the dashboard, and the details an expert notices on a laptop: removing a
scheduled session (refused while bookings hold it), revoking an API token after a confirmation, a
lapsed offer marked in the Overview (a deposit's amounts: tests/test_dashboard_deposits.py).

Every change goes through the same services as the expert API (what the dashboard makes, the API
serves), refused input comes back beside its field with what the expert typed, and each new form
needs its CSRF token."""
from __future__ import annotations

import html
import re
from datetime import timedelta

from sqlalchemy import update

from tests.conftest import next_weekday
from tests.test_dashboard import sign_in
from tests.test_dashboard_setup import admin, dash, error_beside, form_post  # noqa: F401  (dash: a fixture)
from tests.test_sessions import add_session, book_session, make_service

PAGE = "/dashboard/packages"


def accept_packages(client, expert, slug: str = "intro-call") -> None:
    """The fixture's service takes package credits (a plan may only cover such services)."""
    response = client.patch(f"/api/v1/admin/services/{slug}", headers=expert["headers"],
                            json={"payment_options": ["package"], "price": {"amount": 9000, "currency": "eur"}})
    assert response.status_code == 200, response.get_json()


PLAN = [("name", "Five intro calls"), ("sessions", "5"), ("services", "intro-call"), ("price.amount", "400.00"),
        ("price.currency", "EUR"), ("expires_after_days", "180"), ("description", "Five calls, six months."),
        ("visibility", "public")]


def test_a_package_made_in_the_dashboard_is_the_one_the_api_serves_and_is_changed_and_removed(dash, expert):
    accept_packages(dash, expert)
    assert "No packages yet" in dash.get(PAGE).text
    response = form_post(dash, "/dashboard/packages/new", PLAN, PAGE)
    assert response.status_code == 302 and response.headers["Location"] == PAGE
    [plan] = admin(dash, expert, "/package-plans")["package_plans"]
    assert plan == {"slug": "five-intro-calls", "name": "Five intro calls", "description": "Five calls, six months.",
                    "sessions": 5, "services": ["intro-call"], "price": {"amount": 40000, "currency": "eur"},
                    "expires_after_days": 180, "visibility": "public"}
    listed = dash.get(PAGE).text
    assert "Five intro calls" in listed and "5 sessions · 400.00 EUR" in listed

    editor = dash.get("/dashboard/packages/five-intro-calls/edit").text
    assert 'value="400.00"' in editor and 'value="intro-call" checked' in editor
    changed = [(k, "6" if k == "sessions" else ("" if k == "expires_after_days" else v)) for k, v in PLAN]
    assert form_post(dash, "/dashboard/packages/five-intro-calls/edit", changed, PAGE).status_code == 302
    [plan] = admin(dash, expert, "/package-plans")["package_plans"]
    assert (plan["sessions"], plan["expires_after_days"]) == (6, None)

    ask = dash.get("/dashboard/packages/five-intro-calls/remove").text
    assert "Remove the package “Five intro calls”?" in html.unescape(ask) and "keep their credits" in ask
    done = form_post(dash, "/dashboard/packages/five-intro-calls/remove", [], PAGE)
    assert done.status_code == 302
    assert admin(dash, expert, "/package-plans")["package_plans"] == []
    assert "removed: clients can no longer buy it" in html.unescape(dash.get(PAGE).text)


def test_a_refused_package_says_why_beside_the_field_and_keeps_what_was_typed(dash, expert):
    accept_packages(dash, expert)
    typed = [(k, "five" if k == "sessions" else v) for k, v in PLAN]
    response = form_post(dash, "/dashboard/packages/new", typed, PAGE)
    assert response.status_code == 422
    assert "whole number" in error_beside(response.text, "sessions")
    assert 'value="Five intro calls"' in response.text and 'value="five"' in response.text
    assert "Five calls, six months." in response.text and 'value="intro-call" checked' in response.text
    no_service = [(k, v) for k, v in PLAN if k != "services"]
    response = form_post(dash, "/dashboard/packages/new", no_service, PAGE)
    assert "at least one service" in error_beside(response.text, "services")
    bad_price = [(k, "4OO" if k == "price.amount" else v) for k, v in PLAN]
    response = form_post(dash, "/dashboard/packages/new", bad_price, PAGE)
    assert "as a number" in error_beside(response.text, "price.amount") and 'value="4OO"' in response.text
    assert form_post(dash, "/dashboard/packages/new", PLAN, PAGE).status_code == 302
    again = form_post(dash, "/dashboard/packages/new", PLAN, PAGE)  # the same name: the same address
    assert "already have a package" in error_beside(again.text, "slug")
    assert len(admin(dash, expert, "/package-plans")["package_plans"]) == 1


def test_a_collection_made_in_the_dashboard_has_its_snippet_and_link_on_the_embed_page(dash, expert):
    accept_packages(dash, expert)
    form_post(dash, "/dashboard/packages/new", PLAN, PAGE)
    fields = [("name", "For my regulars"), ("description", "Sessions and packages for existing clients."),
              ("items", "service:intro-call"), ("items", "package:five-intro-calls"), ("clients_only", "on")]
    assert form_post(dash, "/dashboard/collections/new", fields, PAGE).status_code == 302
    [found] = admin(dash, expert, "/collections")["collections"]
    assert found == {"slug": "for-my-regulars", "name": "For my regulars",
                     "description": "Sessions and packages for existing clients.",
                     "items": [{"service": "intro-call"}, {"package": "five-intro-calls"}], "clients_only": True}
    embed = html.unescape(dash.get("/dashboard/embed").text)
    assert '<div data-kairos-expert="jane" data-kairos-collection="for-my-regulars" style="min-height:720px"></div>' in embed
    assert "/book/jane?collection=for-my-regulars" in embed and 'id="collection-for-my-regulars"' in embed

    # Unticking the package and opening it to everyone, then removing it after the question.
    assert form_post(dash, "/dashboard/collections/for-my-regulars/edit", fields[:3], PAGE).status_code == 302
    [found] = admin(dash, expert, "/collections")["collections"]
    assert (found["items"], found["clients_only"]) == ([{"service": "intro-call"}], False)
    assert "Its link and snippets stop working" in dash.get("/dashboard/collections/for-my-regulars/remove").text
    form_post(dash, "/dashboard/collections/for-my-regulars/remove", [], PAGE)
    assert admin(dash, expert, "/collections")["collections"] == []
    assert "No collections yet" in dash.get("/dashboard/embed").text


def test_a_refused_collection_keeps_what_was_typed(dash, expert):
    fields = [("name", ""), ("description", "Only for the Tuesday group."), ("items", "service:intro-call"),
              ("slug", "Tuesday Group")]
    response = form_post(dash, "/dashboard/collections/new", fields, PAGE)
    assert response.status_code == 422
    assert "lowercase" in error_beside(response.text, "slug").lower()
    assert "Name the collection" in error_beside(response.text, "name")
    assert "Only for the Tuesday group." in response.text and 'value="Tuesday Group"' in response.text
    assert 'value="service:intro-call" checked' in response.text
    assert admin(dash, expert, "/collections")["collections"] == []


def test_the_new_forms_refuse_a_missing_or_forged_csrf_token(dash, expert):
    accept_packages(dash, expert)
    form_post(dash, "/dashboard/packages/new", PLAN, PAGE)
    form_post(dash, "/dashboard/collections/new", [("name", "Regulars"), ("items", "service:intro-call")], PAGE)
    make_service(dash, expert, slug="circle", name="Circle", kind="group", duration_minutes=60, capacity=4)
    session = add_session(dash, expert, "circle", next_weekday(3), "18:00", "19:00")
    before = (admin(dash, expert, "/package-plans"), admin(dash, expert, "/collections"),
              admin(dash, expert, "/services/circle/sessions"))
    for path in ("/dashboard/packages/new", "/dashboard/packages/five-intro-calls/edit",
                 "/dashboard/packages/five-intro-calls/remove", "/dashboard/collections/new",
                 "/dashboard/collections/regulars/edit", "/dashboard/collections/regulars/remove",
                 f"/dashboard/services/circle/sessions/{session['id']}/remove", "/dashboard/settings/tokens/1/delete"):
        for data in ({}, {"csrf_token": "forged"}):
            response = dash.post(path, data={**data, "name": "Hacked", "sessions": "1"})
            assert response.status_code == 403 and "This form has expired" in response.text, path
    assert (admin(dash, expert, "/package-plans"), admin(dash, expert, "/collections"),
            admin(dash, expert, "/services/circle/sessions")) == before
    assert dash.get("/api/v1/admin/profile", headers=expert["headers"]).status_code == 200  # token 1 still works


def test_a_session_with_a_booking_is_not_removed_and_an_empty_one_is_after_the_question(dash, expert):
    make_service(dash, expert, slug="circle", name="Evening circle", kind="group", duration_minutes=60, capacity=4)
    day = next_weekday(3)
    booked = add_session(dash, expert, "circle", day, "18:00", "19:00")
    empty = add_session(dash, expert, "circle", day, "20:00", "21:00")
    assert book_session(dash, "circle", booked["id"], "ann@example.com").status_code == 201
    sessions_page = "/dashboard/services/circle/sessions"
    ask = html.unescape(dash.get(f"{sessions_page}/{booked['id']}/remove").text)
    assert "1 booking holds a seat in this session. Cancel them first" in ask
    assert "Remove session</button>" not in ask  # refused up front: no button to press
    refused = form_post(dash, f"{sessions_page}/{booked['id']}/remove", [], sessions_page)
    assert refused.status_code == 302
    assert "1 booking holds a seat" in html.unescape(dash.get(sessions_page).text)
    ask = html.unescape(dash.get(f"{sessions_page}/{empty['id']}/remove").text)
    assert "Nobody has booked it." in ask and "Remove session</button>" in ask
    form_post(dash, f"{sessions_page}/{empty['id']}/remove", [], sessions_page)
    left = admin(dash, expert, "/services/circle/sessions")["sessions"]
    assert [s["id"] for s in left] == [booked["id"]]
    assert "removed." in html.unescape(dash.get(sessions_page).text)
    assert dash.get(f"{sessions_page}/{empty['id']}/remove").status_code == 404


def test_revoking_an_api_token_asks_first(dash, expert):
    page = "/dashboard/settings/integrations"
    created = form_post(dash, "/dashboard/settings/tokens", [("label", "Zapier")], page)
    new = re.search(r'<code id="new-token">([^<]+)</code>', created.text).group(1)
    link = re.findall(r'href="(/dashboard/settings/tokens/\d+/delete)"', dash.get(page).text)[-1]
    ask = html.unescape(dash.get(link).text)
    assert "Revoke the API token “Zapier”?" in ask and "cannot be undone" in ask
    assert dash.get("/api/v1/admin/profile", headers={"Authorization": f"Bearer {new}"}).status_code == 200
    revoked = form_post(dash, link, [], page)
    assert revoked.status_code == 302 and revoked.headers["Location"].endswith(page)
    assert "API token revoked" in html.unescape(dash.get(page).text)
    assert dash.get("/api/v1/admin/profile", headers={"Authorization": f"Bearer {new}"}).status_code == 401
    again = form_post(dash, link, [], page)  # a second click on the same button: said beside the list, not a 404
    assert again.status_code == 302 and "No such API token." in html.unescape(dash.get(page).text)


def test_a_lapsed_offer_is_marked_in_the_pending_list(app, dash, expert):
    from backend.extensions import db
    from backend.models import Booking
    from backend.types import utcnow
    day = next_weekday(4)
    made = []
    for name in ("Ann Lee", "Bo Chen"):
        response = dash.post("/api/v1/admin/bookings", headers=expert["headers"], json={
            "service": "intro-call", "start": f"{day}T{'10' if name == 'Ann Lee' else '14'}:00:00+01:00",
            "client": {"name": name, "email": name.split()[0].lower() + "@example.com"},
            "expires_at": (utcnow() + timedelta(hours=2)).isoformat()})
        assert response.status_code == 201, response.get_json()
        made.append(response.get_json()["booking"])
    with app.app_context():  # Ann's offer ran out (its deadline passed): the state an expert finds the next day
        db.session.execute(update(Booking).where(Booking.id == made[0]["id"])
                           .values(expires_at=utcnow() - timedelta(minutes=5)))
        db.session.commit()
    overview = dash.get("/dashboard").text
    pending = overview[overview.index('id="h-pending"'):overview.index('id="h-cancelled"')]
    rows = re.findall(r"<tr>.*?</tr>", pending[pending.index("<tbody>"):], re.S)
    assert len(rows) == 2
    assert ['badge lapsed">Lapsed' in row for row in rows] == ["Ann Lee" in row for row in rows] == [True, False]

