"""The outbox worker: SMTP down delays but never loses or duplicates, racing workers, parking and retry."""
from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest

from tests.conftest import base_env, next_weekday
from tests.test_booking_api import book, slots_for
from tests.test_notifications import app, drain, outbox, smtp, smtp_url  # noqa: F401  (fixtures)

DAY = timedelta(days=1)


def _now():
    from backend.types import utcnow
    return utcnow()


def _book_some(client, n: int) -> list[dict]:
    slots = slots_for(client, next_weekday(1))
    made = []
    for i in range(n):
        response = book(client, slots[2 * i]["start"], email=f"client{i}@example.com")
        assert response.status_code == 201, response.get_json()
        made.append(response.get_json()["booking"])
    return made


def _queue_copies(app, n: int) -> None:
    """``n`` more copies of the first email row, each to its own address (a quick way to have many messages
    due at once: copies to one address would go out one after the other, in order)."""
    from backend.extensions import db
    from backend.outbox import enqueue
    first = outbox(app, kind="email")[0]
    with app.app_context():
        for i in range(n):
            enqueue(db.session, "email", first["topic"], {**first["payload"], "to": f"copy{i}@example.com"},
                    expert_id=None)
        db.session.commit()


def test_smtp_down_delays_mail_and_each_message_arrives_once_when_it_is_back(app, client, expert, smtp):
    smtp.stop()
    bookings = _book_some(client, 3)  # bookings succeed while mail is down
    assert all(b["status"] == "confirmed" for b in bookings)
    now = _now()
    assert drain(app, now) == 6
    rows = outbox(app)
    assert {(r["status"], r["attempts"]) for r in rows} == {("pending", 1)}
    assert all(r["last_error"] and "Connection" in r["last_error"] for r in rows)
    assert drain(app, now + timedelta(seconds=30)) == 0  # backing off, not hammering

    smtp.start()
    assert drain(app, now + DAY) == 6
    assert drain(app, now + 2 * DAY) == 0
    assert {r["status"] for r in outbox(app)} == {"sent"}
    ids = Counter(m["Message-ID"] for m in smtp.messages)
    assert len(ids) == 6 and set(ids.values()) == {1}
    for b in bookings:
        assert len(smtp.to(b["client"]["email"], "Confirmed")) == 1


def test_backoff_grows_and_has_jitter():
    from backend.worker import BASE_DELAY, MAX_DELAY, backoff
    assert BASE_DELAY * 0.8 <= backoff(1) <= BASE_DELAY * 1.2
    assert BASE_DELAY * 2 * 0.8 <= backoff(2) <= BASE_DELAY * 2 * 1.2
    assert backoff(30) <= MAX_DELAY * 1.2
    assert len({backoff(3) for _ in range(20)}) > 1


def test_racing_workers_never_send_one_message_twice(app, client, expert, smtp):
    from backend.worker import deliver_due
    _book_some(client, 1)
    _queue_copies(app, 38)
    total = len(outbox(app))
    smtp.delay = 0.005
    now = _now()
    errors: list[BaseException] = []
    done: Counter[int] = Counter()
    start = threading.Barrier(4)

    def work(worker: int) -> None:
        try:
            start.wait(10)  # all four claim from the same moment on
            while attempted := deliver_due(app, now=now, limit=3):
                done[worker] += attempted
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    ids = Counter(m["Message-ID"] for m in smtp.messages)
    assert sum(ids.values()) == total and set(ids.values()) == {1}, ids
    assert sum(done.values()) == total and len(done) >= 2, done  # they really shared the work
    assert {r["status"] for r in outbox(app)} == {"sent"}


def test_a_claimed_message_is_invisible_to_other_workers(app, client, expert, smtp):
    """Two connections: what one worker claimed, another neither claims nor sends until the lease ends."""
    from sqlalchemy.orm import Session

    from backend.extensions import db
    from backend.worker import LEASE, claim, deliver_due
    _book_some(client, 1)
    now = _now()
    with app.app_context():
        with Session(db.engine) as first:
            mine = claim(first, now, 10)
            first.commit()
        with Session(db.engine) as second:
            assert claim(second, now, 10) == []
            second.rollback()
    assert len(mine) == 2
    assert deliver_due(app, now=now) == 0 and smtp.messages == []
    assert deliver_due(app, now=now + LEASE + timedelta(seconds=1)) == 2  # the first worker died: retried
    assert len(smtp.messages) == 2


def test_a_batch_that_outlived_its_lease_does_not_send_what_another_worker_took_over(app, client, expert, smtp):
    """A slow batch (fifty 10-second webhooks) can outlast the lease: another worker then claims its tail.
    The first worker renews each message's lease before sending it, only if the lease is still its own."""
    from sqlalchemy.orm import Session

    from backend.extensions import db
    from backend.links import links_for
    from backend.worker import LEASE, _deliver_one, claim, deliver_due
    _book_some(client, 1)
    now = _now()
    with app.app_context():
        with Session(db.engine) as slow:
            mine = claim(slow, now, 10)
            slow.commit()
            assert len(mine) == 2
            # The lease ran out while the slow worker was busy: another worker claims both (and is sending).
            with Session(db.engine) as other:
                assert sorted(claim(other, now + LEASE + timedelta(seconds=1), 10)) == sorted(mine)
                other.commit()
            settings = app.config["KAIROS"]
            for message_id in mine:  # the slow worker reaches them at last: no longer its own, not sent
                _deliver_one(slow, message_id, now, links_for(settings), settings, held=now + LEASE,
                             renewed=now + 2 * LEASE)
    assert smtp.messages == [] and {r["status"] for r in outbox(app)} == {"pending"}
    assert deliver_due(app, now=now + 3 * LEASE) == 2  # (the other worker died too) sent after its lease, once
    assert len(smtp.messages) == 2 and {r["status"] for r in outbox(app)} == {"sent"}


def test_skip_locked_on_postgresql(app, client, expert, smtp, database_url):
    """While one worker's claiming transaction is open, another skips its rows instead of waiting."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite has one writer at a time")
    from sqlalchemy.orm import Session

    from backend.extensions import db
    from backend.worker import claim, deliver_due
    _book_some(client, 2)
    now = _now()
    with app.app_context():
        with Session(db.engine) as first:
            held = claim(first, now, 2)  # rows locked, transaction still open
            assert len(held) == 2
            result: list[int] = []
            other = threading.Thread(target=lambda: result.append(deliver_due(app, now=now)))
            other.start()
            other.join(20)
            assert not other.is_alive() and result == [2]  # it took the two others, without waiting
            first.commit()
    sent = {m["Message-ID"] for m in smtp.messages}
    assert len(sent) == 2 and not any(f"outbox.{i}." in mid for i in held for mid in sent)


def test_a_message_that_keeps_failing_is_parked_listed_and_retriable(app, client, expert, smtp):
    from backend.worker import MAX_ATTEMPTS
    h = expert["headers"]
    smtp.stop()
    _book_some(client, 1)
    now = _now()
    for _ in range(MAX_ATTEMPTS + 2):
        now += DAY
        drain(app, now)
    rows = outbox(app)
    assert {(r["status"], r["attempts"]) for r in rows} == {("parked", MAX_ATTEMPTS)}

    listed = client.get("/api/v1/admin/outbox", headers=h, query_string={"status": "parked"})
    assert listed.status_code == 200, listed.get_json()
    messages = listed.get_json()["messages"]
    assert {m["id"] for m in messages} == {r["id"] for r in rows}
    assert all(m["last_error"] and m["status"] == "parked" for m in messages)
    assert client.get("/api/v1/admin/outbox", headers=h, query_string={"status": "nope"}).status_code == 422
    assert client.get("/api/v1/admin/outbox").status_code == 401

    smtp.start()
    for m in messages:
        retried = client.post(f"/api/v1/admin/outbox/{m['id']}/retry", headers=h)
        assert retried.status_code == 200 and retried.get_json()["message"]["status"] == "pending"
    again = client.post(f"/api/v1/admin/outbox/{messages[0]['id']}/retry", headers=h)
    assert again.status_code == 403 and again.get_json()["error"]["reason"] == "not_parked"
    assert client.post("/api/v1/admin/outbox/999999/retry", headers=h).status_code == 404
    drain(app)
    assert {r["status"] for r in outbox(app)} == {"sent"}
    assert len(smtp.messages) == len(rows)
    assert client.get("/api/v1/admin/outbox", headers=h, query_string={"status": "parked"}).get_json() == {"messages": []}


def test_kairos_worker_once_delivers_what_is_due(app, client, expert, smtp):
    from backend.cli import worker
    _book_some(client, 2)
    result = app.test_cli_runner().invoke(worker, ["--once"])
    assert result.exit_code == 0, result.output
    assert len(smtp.messages) == 4 and {r["status"] for r in outbox(app)} == {"sent"}


def test_the_in_process_worker_of_kairos_serve_delivers(app, client, expert, smtp):
    from backend.worker import start_background_worker
    thread = start_background_worker(app)
    assert start_background_worker(app) is thread  # one per app
    _book_some(client, 1)
    deadline = time.monotonic() + 60  # a condition with a deadline: a busy machine only makes it later
    while len(smtp.messages) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(smtp.messages) == 2


def test_a_stopping_worker_hands_back_what_it_claimed_and_did_not_send(app, client, expert, smtp):
    from backend.worker import deliver_due
    _book_some(client, 2)
    total = len(outbox(app))
    stop = threading.Event()
    stop.set()  # TERM arrived as the batch was claimed
    assert deliver_due(app, _now(), stop=stop) == 0
    rows = outbox(app)
    assert {(r["status"], r["attempts"]) for r in rows} == {("pending", 0)}, "no attempt charged, due at once"
    assert deliver_due(app, _now()) == total  # the next worker sends them without waiting for a lease
    assert {r["status"] for r in outbox(app)} == {"sent"}


def _stderr_lines(proc: subprocess.Popen) -> queue.Queue[str]:
    """The process's stderr, line by line, read by a thread so a test can wait with a deadline."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in proc.stderr:
            lines.put(line)
    threading.Thread(target=pump, daemon=True).start()
    return lines


def _wait_for_line(lines: queue.Queue[str], text: str, seen: list[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not any(text in line for line in seen):
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no {text!r} on stderr within {timeout} s:\n" + "".join(seen)[-2000:]
        try:
            seen.append(lines.get(timeout=remaining))
        except queue.Empty:
            pass


def _start_worker(tmp_path, sqlite_template) -> subprocess.Popen:
    db_path = tmp_path / "k.db"
    shutil.copyfile(sqlite_template, db_path)
    env = {**os.environ, **base_env(tmp_path, f"sqlite:///{db_path}")}
    return subprocess.Popen([sys.executable, "-m", "backend", "worker"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_kairos_worker_stops_cleanly_on_term(tmp_path, sqlite_template):
    """A deploy sends TERM: the worker finishes the message in hand and exits 0."""
    proc = _start_worker(tmp_path, sqlite_template)
    lines, seen = _stderr_lines(proc), []
    _wait_for_line(lines, "kairos worker: ready", seen)  # started and polling, however busy the machine
    assert proc.poll() is None
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0, "".join(seen)[-2000:]
    _wait_for_line(lines, "kairos worker: stopped", seen)


def test_the_kairos_program_listens_for_term_before_any_of_the_app_loads():
    """`kairos worker` is stoppable from its first moments: its entry and the package load no app module."""
    probe = ("import sys, backend.__main__; "
             "print(sorted(m for m in sys.modules if m.startswith('backend')))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    assert loaded.stdout.strip() == "['backend', 'backend.__main__', 'backend.shutdown']"
