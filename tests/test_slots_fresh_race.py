"""Never a stale slot, across processes: gunicorn with 4 workers on SQLite and PostgreSQL, the slots
cache in each worker's memory or shared in Redis.

Readers ask for Jane's week again and again (page views, served from the cache) while bookers take
times from it. Once a booking has been answered 201, no read sent after that answer may offer its
time, whichever worker serves it.
"""
from __future__ import annotations

import random
import threading
import time
import uuid

import pytest

from tests.live import call, live_app, weekdays_ahead

pytestmark = pytest.mark.slow

REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_reason() -> str | None:
    import redis
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except redis.RedisError as error:
        return str(error)
    return None


@pytest.mark.parametrize("store", ["memory", "redis"])
@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_no_read_after_a_201_offers_the_booked_time(kind, store, tmp_path_factory):
    if store == "redis" and redis_reason():
        pytest.skip(f"Redis is not running here: {redis_reason()}")
    env = {"KAIROS_REDIS_URL": REDIS_URL} if store == "redis" else {}
    with live_app(kind, tmp_path_factory, f"fresh_{kind}_{store}", env=env) as app:
        weekly = {d: [["09:00", "13:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
        assert app.admin("PUT", "/availability", {"timezone": "Europe/Paris", "weekly": weekly})[0] == 200
        assert app.admin("POST", "/services", {"slug": "s", "name": "S", "duration_minutes": 30,
                                               "slot_interval_minutes": 30, "max_advance_days": 60})[0] == 201
        days = weekdays_ahead(5)
        slots_url = (f"{app.url}/api/v1/experts/race/services/s/slots?start={days[0]}&end={days[-1]}"
                     "&timezone=Europe/Paris")
        status, body = call("GET", slots_url)
        assert status == 200
        starts = [s["start"] for s in body["slots"]]
        assert len(starts) == 40

        booked: list[tuple[float, str]] = []  # (when the 201 was received, the start it took)
        reads: list[tuple[float, set[str]]] = []  # (when the read was sent, the starts it offered)
        errors: list[str] = []
        stop = threading.Event()
        lock = threading.Lock()

        def reader() -> None:
            while not stop.is_set():
                sent = time.monotonic()
                status, body = call("GET", slots_url)
                if status != 200:
                    errors.append(f"read {status}")
                    continue
                with lock:
                    reads.append((sent, {s["start"] for s in body["slots"]}))

        def booker(seed: int) -> None:
            rng = random.Random(seed)
            for _ in range(12):
                start = rng.choice(starts)
                status, _ = call("POST", f"{app.url}/api/v1/experts/race/services/s/bookings",
                                 {"start": start, "timezone": "Europe/Paris",
                                  "client": {"name": "C", "email": f"c{uuid.uuid4().hex[:8]}@example.com"}},
                                 {"Idempotency-Key": uuid.uuid4().hex})
                if status == 201:
                    with lock:
                        booked.append((time.monotonic(), start))
                elif status != 409:
                    errors.append(f"booking {status}")

        readers = [threading.Thread(target=reader) for _ in range(6)]
        bookers = [threading.Thread(target=booker, args=(n,)) for n in range(3)]
        for thread in readers + bookers:
            thread.start()
        for thread in bookers:
            thread.join(timeout=300)
        stop.set()
        for thread in readers:
            thread.join(timeout=120)

        assert not errors, errors[:5]
        assert len(booked) >= 5, "the bookers took too few times to say anything"
        stale = [(start, round(sent - when, 3)) for when, start in booked for sent, offered in reads
                 if sent > when and start in offered]
        assert stale == [], f"reads sent after a 201 offered its time: {stale[:5]}"
        after = sum(1 for sent, _ in reads if sent > min(when for when, _ in booked))
        assert after >= 20, "too few reads after the first booking to say anything"
        # And the last word: every booked time is gone, and nothing else is.
        _, body = call("GET", slots_url)
        assert {s["start"] for s in body["slots"]} == set(starts) - {start for _, start in booked}
