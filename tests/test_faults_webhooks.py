"""Fault: the expert's webhook receiver answers 500, then 200 again.

A real receiver (HTTP server, signature checked), a real `kairos worker` process, the real app. While
the receiver fails, the booking's first event is retried and the later ones wait their turn; once it
answers 200, every event arrives once, in the order the booking lived it.
"""
from __future__ import annotations

from collections import Counter

import pytest

from tests.conftest import base_env, next_weekday
from tests.faults import WebhookReceiver, WorkerProcess, subscribe, wait_until
from tests.test_booking_api import book, slots_for
from tests.test_notifications import app, outbox, smtp, smtp_url, token_of  # noqa: F401  (fixtures)

#: Retries after 1, 2, 4 … seconds instead of 60, 120, 240 …: the same schedule, shorter.
RETRY = {"KAIROS_OUTBOX_RETRY_SECONDS": "1", "KAIROS_WEBHOOK_ALLOW_PRIVATE": "1"}
LIFE = ["booking.created", "booking.confirmed", "booking.rescheduled", "booking.cancelled"]


@pytest.fixture
def app_env() -> dict[str, str]:
    return RETRY


@pytest.fixture
def receiver():
    r = WebhookReceiver(status=500)
    yield r
    r.close()


def test_a_failing_receiver_gets_each_event_once_and_in_order_once_it_answers(
        app, client, expert, smtp, receiver, database_url, tmp_path):
    receiver.secret = subscribe(client, expert["headers"], receiver.url)
    worker = WorkerProcess(base_env(tmp_path, database_url, KAIROS_SMTP_URL=f"smtp://127.0.0.1:{smtp.port}",
                                    **RETRY)).start()
    try:
        slots = slots_for(client, next_weekday(2))
        ann = book(client, slots[0]["start"]).get_json()["booking"]
        bob = book(client, slots[2]["start"], email="bob@example.com").get_json()["booking"]
        # The receiver fails the first events: the worker retries them, with growing delays.
        wait_until(lambda: sum(d.status == 500 for d in receiver.snapshot()) >= 4,
                   "the worker retried the failing receiver")
        token = token_of(ann)
        moved = client.post(f"/api/v1/manage/{token}/reschedule", json={"start": slots[4]["start"],
                                                                         "timezone": "Europe/Paris"})
        assert moved.status_code == 200, moved.get_json()
        assert client.post(f"/api/v1/manage/{token}/cancel", json={"reason": "Ill"}).status_code == 200
        wait_until(lambda: sum(d.status == 500 and d.booking_id == ann["id"] for d in receiver.snapshot()) >= 3,
                   "booking.created retried at least twice after the reschedule and the cancellation")

        # Nothing later of a booking was sent while its first event kept failing.
        failing = receiver.snapshot()
        assert {d.type for d in failing} == {"booking.created"}, [(d.type, d.status) for d in failing]
        assert {d.booking_id for d in failing} == {ann["id"], bob["id"]}
        assert len({d.event_id for d in failing}) == 2  # the same two events, each tried again
        health = client.get("/healthz").get_json()["outbox"]
        hooks = len(outbox(app, kind="webhook"))
        assert health["pending"] >= hooks and health["retrying"] >= 2, health  # the backlog is visible

        receiver.status = 200  # the receiver is fixed
        wait_until(lambda: all(r["status"] == "sent" for r in outbox(app, kind="webhook")),
                   "every webhook delivered once the receiver answers 200")
    finally:
        assert worker.stop() == 0, worker.log()

    accepted = receiver.accepted()
    assert all(d.signed for d in receiver.snapshot())
    assert set(receiver.accepted_counts().values()) == {1}  # each event processed once
    assert len(accepted) == hooks == 6
    assert [d.type for d in accepted if d.booking_id == ann["id"]] == LIFE  # in the order it happened
    assert [d.type for d in accepted if d.booking_id == bob["id"]] == LIFE[:2]
    # Every event that failed was later delivered under the same id (receivers de-duplicate by it).
    assert {d.event_id for d in failing} <= {d.event_id for d in accepted}
    # No booking lost, doubled or half-written: two bookings, as their clients left them.
    views = {b: client.get(f"/api/v1/manage/{token_of(x)}").get_json()["booking"] for b, x in
             (("ann", ann), ("bob", bob))}
    assert views["ann"]["status"] == "cancelled" and views["bob"]["status"] == "confirmed"
    assert views["ann"]["start"] != ann["start"]  # the reschedule stuck before the cancellation
    listed = client.get("/api/v1/admin/bookings", headers=expert["headers"]).get_json()["bookings"]
    assert Counter(b["id"] for b in listed) == Counter({ann["id"]: 1, bob["id"]: 1})
