"""A booking costs what its rules need: at most 8 statements for a returning client, 9 for a new one.

Counted at the driver (SQLAlchemy's ``before_cursor_execute``), from the request's first statement
to its commit, on SQLite and PostgreSQL. The race tests (tests/test_race*.py) prove the same
statements still keep every promise under load; here we prove there are few of them.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from tests.conftest import next_weekday

#: The budget of one booking: one read before the lock, the lock, one read of what blocks the time, one
#: INSERT per table written (booking, history, the emails together, the Idempotency-Key's answer) and the
#: lead if it changes. More means a lazy load, a row-by-row insert or an autoflush crept in.
MAX_STATEMENTS = 8
#: A client new to the expert adds their own row and their lead's (each table is one statement at least).
MAX_NEW_CLIENT = 9


@contextmanager
def statements(app) -> Iterator[list[str]]:
    """Every SQL statement the app sends while the block runs (each is one round trip to the database)."""
    from backend.extensions import db
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def book(client, start: str, email: str):
    return client.post("/api/v1/experts/jane/services/intro-call/bookings",
                       json={"start": start, "timezone": "Europe/Paris", "message": "About my project",
                             "client": {"name": "Ann Lee", "email": email}},
                       headers={"Idempotency-Key": uuid.uuid4().hex})


def free_starts(client, day) -> list[str]:
    response = client.get("/api/v1/experts/jane/services/intro-call/slots",
                          query_string={"start": day.isoformat(), "end": day.isoformat(), "timezone": "Europe/Paris"})
    return [s["start"] for s in response.get_json()["slots"]]


def test_a_booking_costs_at_most_eight_statements_for_a_returning_client_nine_for_a_new_one(app, client, expert):
    starts = free_starts(client, next_weekday(1))
    client.get("/api/v1/experts/jane")  # the app is warm: what follows is the booking's own cost

    with statements(app) as new_client:
        first = book(client, starts[0], "ann@example.com")
    assert first.status_code == 201, first.get_json()
    assert len(new_client) <= MAX_NEW_CLIENT, "\n".join(new_client)

    with statements(app) as returning:
        second = book(client, starts[2], "ANN@example.com")  # the same client, whatever the case
    assert second.status_code == 201, second.get_json()
    assert len(returning) <= MAX_STATEMENTS, "\n".join(returning)

    # Fewer statements, the same booking: the client is found again, the answer is whole.
    one, two = first.get_json()["booking"], second.get_json()["booking"]
    assert one["client"] == two["client"] == {"name": "Ann Lee", "email": "ann@example.com"}
    assert two["status"] == "confirmed" and two["start"] == starts[2] and two["manage_url"]
    assert two["location"]["url"] == "https://meet.example.com/jane"
    history = client.get(f"/api/v1/admin/bookings/{two['id']}", headers=expert["headers"]).get_json()
    assert [e["type"] for e in history["booking"]["history"]] == ["created"]


def test_a_taken_time_is_refused_within_the_same_budget(app, client, expert):
    start = free_starts(client, next_weekday(2))[0]
    assert book(client, start, "ann@example.com").status_code == 201
    with statements(app) as seen:
        again = book(client, start, "bob@example.com")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "slot_unavailable"
    assert len(seen) <= MAX_STATEMENTS, "\n".join(seen)
