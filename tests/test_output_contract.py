"""One output contract: every field a view builds is in the published schema, so nothing is dropped
on the way out and the OpenAPI document (which the contract test checks answers against) is exact."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from marshmallow import Schema, fields

from tests.conftest import next_weekday
from tests.test_lifecycle import token_of
from tests.test_sessions import add_session, book_session, make_service


def undeclared(data: Any, schema: Schema, path: str = "") -> list[str]:
    """Keys of ``data`` (recursively) that ``schema`` does not declare: they would be dropped on dump."""
    missing: list[str] = []
    for key, value in data.items():
        field = schema.fields.get(key)
        if field is None:
            missing.append(f"{path}{key}")
            continue
        inner = field.inner if isinstance(field, fields.List) else field
        if isinstance(inner, fields.Nested) and value is not None:
            for item in value if isinstance(field, fields.List) else [value]:
                missing += undeclared(item, inner.schema, f"{path}{key}.")
    return missing


def test_the_manage_page_of_a_series_lists_every_date_of_the_series(client, expert):
    make_service(client, expert, slug="course", name="Course", kind="series", duration_minutes=60, capacity=3)
    first = next_weekday(0)
    sessions = [add_session(client, expert, "course", first + timedelta(weeks=w), "18:00", "19:00") for w in range(3)]
    booking = book_session(client, "course", sessions[0]["id"], "ann@example.com").get_json()["booking"]

    view = client.get(f"/api/v1/manage/{token_of(booking)}").get_json()["booking"]

    assert [d["start"][:10] for d in view["sessions"]] == [(first + timedelta(weeks=w)).isoformat() for w in range(3)]
    assert all(d["start"].endswith("+01:00") and d["end"][11:16] == "19:00" for d in view["sessions"])


def test_the_expert_sees_a_bookings_history_oldest_first(client, expert):
    day = next_weekday(1)
    created = client.post("/api/v1/experts/jane/services/intro-call/bookings", json={
        "start": f"{day}T10:00:00+01:00", "timezone": "Europe/Paris",
        "client": {"name": "Ann Lee", "email": "ann@example.com"}, "message": "Hello"})
    assert created.status_code == 201, created.get_json()
    booking_id = created.get_json()["booking"]["id"]
    cancelled = client.post(f"/api/v1/admin/bookings/{booking_id}/cancel", headers=expert["headers"],
                            json={"reason": "I am away that day"})
    assert cancelled.status_code == 200, cancelled.get_json()

    history = client.get(f"/api/v1/admin/bookings/{booking_id}", headers=expert["headers"]).get_json()["booking"]["history"]

    assert [(h["type"], h["actor"], h["message"]) for h in history] == [
        ("created", "client", "Hello"), ("cancelled", "expert", "I am away that day")]
    assert all(h["at"].endswith("Z") or h["at"].endswith("+00:00") for h in history)


def test_every_field_a_view_builds_is_in_the_published_schema(app, client, expert):
    from backend.extensions import db
    from backend.models import Booking
    from backend.schemas import BookingOut, ManageOut
    from backend.services import bookings
    from backend.types import utcnow
    from backend.views import bookings as views

    make_service(client, expert, slug="course", name="Course", kind="series", duration_minutes=60, capacity=3,
                 location={"type": "in_person", "name": "Studio", "address": "1 Rue de Rivoli"})
    make_service(client, expert, slug="paid", name="Paid", duration_minutes=30, payment_options=["outside"],
                 price={"amount": 5000, "currency": "eur"}, outside_payment_instructions="Bank transfer")
    first = next_weekday(2)
    session = add_session(client, expert, "course", first, "18:00", "19:00")
    assert book_session(client, "course", session["id"], "ann@example.com").status_code == 201
    paid = client.post("/api/v1/experts/jane/services/paid/bookings", json={
        "start": f"{next_weekday(3)}T10:00:00+01:00", "timezone": "Europe/Paris",
        "client": {"name": "Bo", "email": "bo@example.com"}, "answers": {}})
    assert paid.status_code == 201, paid.get_json()

    with app.app_context():
        rows = db.session.scalars(db.select(Booking)).all()
        assert len(rows) == 2
        for row in rows:
            view = views.booking_view(row, manage_url="http://x/manage/t")
            view["history"] = []
            assert undeclared(view, BookingOut()) == []
            manage = views.manage_view(row, bookings.permissions(row, utcnow()), "http://x/manage/t")
            assert undeclared(manage, ManageOut()) == []
