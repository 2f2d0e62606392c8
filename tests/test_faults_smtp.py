"""Fault: the mail server is down for a while, then back.

A real SMTP server (aiosmtpd) stopped and started again on the same port, a real `kairos worker`
process, the real app. Bookings go on while mail is down; the worker keeps retrying; /healthz and
the expert's outbox show the backlog; once the server is back every email arrives exactly once.

"A minute" down: with the default KAIROS_OUTBOX_RETRY_SECONDS=60 a minute of outage is the first try
and one retry; here the first retry comes after 1 s (then 2, 4 …), and the server stays down until
every first-in-line email has failed three times: the same behaviour, in seconds.
"""
from __future__ import annotations

from collections import Counter

import pytest

from tests.conftest import base_env, next_weekday
from tests.faults import WorkerProcess, wait_until
from tests.test_booking_api import book, slots_for
from tests.test_notifications import app, outbox, smtp, smtp_url, token_of  # noqa: F401  (fixtures)

RETRY = {"KAIROS_OUTBOX_RETRY_SECONDS": "1"}


@pytest.fixture
def app_env() -> dict[str, str]:
    return RETRY


def test_mail_down_then_back_delivers_every_email_exactly_once(app, client, expert, smtp, database_url, tmp_path):
    smtp.stop()  # down: the port refuses connections
    worker = WorkerProcess(base_env(tmp_path, database_url, KAIROS_SMTP_URL=f"smtp://127.0.0.1:{smtp.port}",
                                    **RETRY)).start()
    try:
        slots = slots_for(client, next_weekday(3))
        made = []
        for i, name in enumerate(("ann", "bob", "cem")):
            response = book(client, slots[2 * i]["start"], email=f"{name}@example.com")
            assert response.status_code == 201, response.get_json()  # mail being down changes nothing here
            made.append(response.get_json()["booking"])
        cancelled = client.post(f"/api/v1/manage/{token_of(made[2])}/cancel", json={"reason": "Ill"})
        assert cancelled.status_code == 200, cancelled.get_json()
        rows = outbox(app, kind="email")
        assert len(rows) == 8  # 3 × (confirmation + the expert's "new booking") + cancellation × 2

        def first_in_line_failed(times: int):
            emails = outbox(app, kind="email")
            return sum(r["attempts"] >= times and "Connection" in (r["last_error"] or "") for r in emails) == 6
        wait_until(lambda: first_in_line_failed(3), "each first email failed three times while SMTP is down")

        # The backlog is visible: /healthz counts what is not delivered, the expert sees why.
        health = client.get("/healthz").get_json()
        assert health["status"] == "ok"  # mail down is not the app down
        assert health["outbox"]["pending"] == 8 and health["outbox"]["retrying"] == 6, health
        listed = client.get("/api/v1/admin/outbox", headers=expert["headers"],
                            query_string={"status": "pending"}).get_json()["messages"]
        assert len(listed) == 8 and sum(bool(m["last_error"]) for m in listed) == 6
        # The cancellations wait behind the confirmations of the same booking and address: never tried yet.
        waiting = [r for r in outbox(app, kind="email") if r["topic"].endswith("booking_cancelled")]
        assert [(r["status"], r["attempts"]) for r in waiting] == [("pending", 0)] * 2
        assert smtp.messages == []

        smtp.start()  # back, on the same port
        wait_until(lambda: all(r["status"] == "sent" for r in outbox(app)), "every email sent once SMTP is back")
    finally:
        assert worker.stop() == 0, worker.log()

    sent = list(smtp.messages)
    assert len(sent) == 8
    assert set(Counter(m["Message-ID"] for m in sent).values()) == {1}
    per_mail = Counter((m["To"], m["Subject"]) for m in sent)
    assert set(per_mail.values()) == {1}, per_mail  # every recipient got each email exactly once
    for name in ("ann", "bob", "cem"):
        got = [m["Subject"].split(":")[0] for m in smtp.to(f"{name}@example.com")]
        assert got == (["Confirmed", "Cancelled"] if name == "cem" else ["Confirmed"]), got  # in order
    assert len(smtp.to("jane@example.com")) == 4
    health = client.get("/healthz").get_json()["outbox"]
    assert (health["pending"], health["retrying"], health["parked"]) == (0, 0, 0)
    # No booking lost, doubled or half-written while mail was down.
    listed = client.get("/api/v1/admin/bookings", headers=expert["headers"]).get_json()["bookings"]
    assert sorted((b["client"]["email"], b["status"]) for b in listed) == [
        ("ann@example.com", "confirmed"), ("bob@example.com", "confirmed"), ("cem@example.com", "cancelled")]
