"""``inserts.insert_object``: a booking's row goes in as one table INSERT, with the values a flush would
have given the columns the caller left unset, and the object stays in the session as if just loaded:
reading any of its attributes back costs no statement. On SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select

from backend.extensions import db
from backend.inserts import _python_default, insert_object
from backend.models import Booking, Client, Expert, Service, public_id
from tests.test_booking_statements import statements


def test_a_booking_inserted_at_once_has_its_defaults_in_the_row_and_on_the_object(app, expert):
    start = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
    with app.app_context():
        jane = db.session.scalar(select(Expert).where(Expert.slug == "jane"))
        service = db.session.scalar(select(Service).where(Service.slug == "intro-call"))
        client = Client(expert_id=jane.id, email="ann@example.com", email_key="ann@example.com", name="Ann Lee")
        db.session.add(client)
        db.session.flush()
        # Only what a booking must say: message, answers, source, buffers, sequence, times are left to defaults.
        booking = Booking(id=public_id("bk"), expert_id=jane.id, service_id=service.id, client_id=client.id,
                          start=start, end=start + timedelta(minutes=30), timezone="Europe/Paris",
                          status="confirmed", manage_token_hash="h" * 64, manage_nonce="n" * 32)
        with statements(app) as sent:
            insert_object(db.session, booking)
            seen = {attr.key: getattr(booking, attr.key) for attr in Booking.__mapper__.column_attrs}
        # One INSERT; before it, the change counter's hook moves Jane's counter (no lock was taken here, as
        # a booking's own path does): nothing else, and nothing to read the attributes back.
        assert [s.split(" (")[0].split(" SET")[0] for s in sent] == ["UPDATE expert", "INSERT INTO booking"], sent
        assert (seen["message"], seen["answers"], seen["source"], seen["ics_sequence"]) == ("", {}, "widget", 0)
        assert seen["buffer_before_minutes"] == seen["buffer_after_minutes"] == 0
        assert seen["created_at"] is not None and seen["reminder_sent_at"] is None
        assert booking in db.session and not db.session.dirty
        db.session.commit()
        row = db.session.execute(select(Booking.__table__).where(Booking.id == booking.id)).mappings().one()
        assert {k: row[k] for k in ("message", "answers", "source", "ics_sequence")} == {
            "message": "", "answers": {}, "source": "widget", "ics_sequence": 0}


def test_a_default_only_the_database_knows_is_refused_rather_than_inserted_as_null() -> None:
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True),
                  Column("at", String, server_default=func.now()), Column("n", Integer, default=func.random()))
    for name in ("at", "n"):
        with pytest.raises(TypeError, match="only the database knows"):
            _python_default(table.c[name])
