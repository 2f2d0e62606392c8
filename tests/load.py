"""Simulated visitors of many experts' booking pages: the load bench's traffic and the fault tests'.

``seed_experts`` turns a started ``GunicornApp`` into ``count`` bookable experts in a second or two:
the app's own expert gets its week and a personal service through the expert API (the code under
test writes them), then SQL copies those rows (``expert``, ``availability``, ``service``) to the
others. The copy reads the column names from the database, so it seeds the baseline's schema and
today's alike.

``Visitors`` runs ``users`` concurrent visitors (aiohttp, one event loop) for a fixed time. Each
visit is what the widget asks for when a page shows it: the expert page
(``GET /api/v1/experts/{e}``) and a week of slots; every ``views_per_booking``-th visit also books a
slot it was just shown, with an ``Idempotency-Key`` as the widget sends. Experts are picked with
Zipf-like popularity (a few experts get most views, so bookings also race for the same times), and
visitors come from a few time zones. Every request is kept as a ``Sample``; every booking attempt as
a ``BookingAttempt`` (its key and body, so a caller can retry it as a client would).
"""
from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import aiohttp

from tests import pg
from tests.live import GunicornApp

SERVICE = "s"
ZONE = "Europe/Paris"
#: Where visitors are (the widget asks for slots in the browser's zone): mostly the expert's.
VISITOR_ZONES = [ZONE] * 8 + ["Europe/London", "America/New_York"]
#: Page views per booking attempt in the mix.
VIEWS_PER_BOOKING = 50
#: The kinds of request a visitor makes, in report order.
KINDS = ("expert page", "slots (7 days)", "booking")
#: The answers each kind may give in a healthy run (409: the time was taken by another visitor).
EXPECTED = {"expert page": {200}, "slots (7 days)": {200}, "booking": {201, 409}}


def seed_experts(app: GunicornApp, count: int) -> list[str]:
    """Make ``count`` experts bookable every day 08:00–20:00 Paris time with a 30-minute personal
    service ``s``; return their slugs (the app's own expert first)."""
    weekly = {d: [["08:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    status, body = app.admin("PUT", "/availability", {"timezone": ZONE, "weekly": weekly})
    assert status == 200, body
    status, body = app.admin("POST", "/services", {"slug": SERVICE, "name": "Consultation", "duration_minutes": 30,
                                                   "slot_interval_minutes": 30, "max_advance_days": 60})
    assert status == 201, body
    template = "race"
    slugs = [f"expert-{n:04d}" for n in range(1, count)]
    with pg.connect(app.env["KAIROS_DATABASE_URL"]) as conn:
        def columns(table: str, *leave_out: str) -> str:
            names = [r[0] for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
                "AND table_name = %s ORDER BY ordinal_position", (table,))]
            return ", ".join(f'"{n}"' for n in names if n not in leave_out)

        expert_cols = columns("expert", "id", "slug", "email")
        conn.execute(f"INSERT INTO expert (slug, email, {expert_cols}) "
                     f"SELECT s, s || '@example.com', {expert_cols} FROM expert, unnest(%s::text[]) AS s "
                     "WHERE slug = %s", (slugs, template))
        availability_cols = columns("availability", "expert_id")
        conn.execute(f"INSERT INTO availability (expert_id, {availability_cols}) "
                     f"SELECT e.id, {', '.join('a.' + c for c in availability_cols.split(', '))} "
                     "FROM availability a JOIN expert t ON t.id = a.expert_id AND t.slug = %s "
                     "JOIN expert e ON e.slug = ANY(%s)", (template, slugs))
        service_cols = columns("service", "id", "expert_id")
        conn.execute(f"INSERT INTO service (expert_id, {service_cols}) "
                     f"SELECT e.id, {', '.join('v.' + c for c in service_cols.split(', '))} "
                     "FROM service v JOIN expert t ON t.id = v.expert_id AND t.slug = %s "
                     "JOIN expert e ON e.slug = ANY(%s)", (template, slugs))
        conn.commit()
    return [template, *slugs]


@dataclass
class Sample:
    """One request: its kind, HTTP status (0: no answer), seconds, when it started (monotonic), and for an
    unexpected answer the envelope's ``error.code`` and a piece of the body."""

    kind: str
    status: int
    seconds: float
    started: float
    code: str = ""
    error: str = ""


@dataclass
class BookingAttempt:
    """One booking POST as sent, and what came back."""

    url: str
    key: str
    body: dict[str, Any]
    status: int
    answer: dict[str, Any]
    started: float

    @property
    def booking_id(self) -> str | None:
        return (self.answer.get("booking") or {}).get("id") if self.status == 201 else None


@dataclass
class Visitors:
    """``users`` visitors viewing and booking ``slugs``' pages on ``base_url`` (see the module's doc)."""

    base_url: str
    slugs: list[str]
    users: int = 32
    views_per_booking: int = VIEWS_PER_BOOKING
    seed: int = 1
    timeout: float = 60.0
    samples: list[Sample] = field(default_factory=list)
    bookings: list[BookingAttempt] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        # Zipf-like popularity (exponent 1): the 10 most viewed experts get about 40 % of the views.
        self._weights = list(itertools.accumulate(1 / rank for rank in range(1, len(self.slugs) + 1)))
        self._visits = itertools.count(1)
        # Two days ahead, so no notice rule and no "today" in any visitor's zone gets in the way.
        self.first_day = date.today() + timedelta(days=2)

    def run(self, seconds: float) -> Visitors:
        """Visit for ``seconds`` (new visits start until then; those under way finish)."""
        deadline = time.monotonic() + seconds
        return self.run_until(lambda: time.monotonic() >= deadline)

    def run_until(self, done: Callable[[], bool]) -> Visitors:
        """Visit until ``done()`` (a ``threading.Event().is_set`` when another thread decides)."""
        asyncio.run(self._run(done))
        return self

    async def _run(self, done: Callable[[], bool]) -> None:
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        connector = aiohttp.TCPConnector(limit=self.users)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            await asyncio.gather(*(self._visitor(session, done) for _ in range(self.users)))

    async def _visitor(self, session: aiohttp.ClientSession, done: Callable[[], bool]) -> None:
        while not done():
            await self.visit(session)

    async def visit(self, session: aiohttp.ClientSession) -> None:
        """One page view (expert page + a week of slots), and the booking when it is this visit's turn."""
        slug = self._rng.choices(self.slugs, cum_weights=self._weights)[0]
        zone = self._rng.choice(VISITOR_ZONES)
        number = next(self._visits)
        page = f"{self.base_url}/api/v1/experts/{slug}"
        await self._request(session, "expert page", "GET", page)
        end = self.first_day + timedelta(days=6)
        status, slots = await self._request(session, "slots (7 days)", "GET",
                                            f"{page}/services/{SERVICE}/slots?start={self.first_day}&end={end}"
                                            f"&timezone={zone}")
        if number % self.views_per_booking or status != 200 or not slots.get("slots"):
            return
        start = self._rng.choice(slots["slots"])["start"]
        body = {"start": start, "timezone": zone, "client": {"name": f"Visitor {number}",
                                                             "email": f"visitor{number}@example.com"}}
        key = uuid.uuid4().hex
        url = f"{page}/services/{SERVICE}/bookings"
        started = time.monotonic()
        status, answer = await self._request(session, "booking", "POST", url, body, {"Idempotency-Key": key})
        self.bookings.append(BookingAttempt(url, key, body, status, answer, started))

    async def _request(self, session: aiohttp.ClientSession, kind: str, method: str, url: str,
                       body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
        started = time.monotonic()
        t0 = time.perf_counter()
        try:
            async with session.request(method, url, json=body, headers=headers) as response:
                status = response.status
                text = await response.text()
            answer = json.loads(text)
            if not isinstance(answer, dict):
                raise ValueError("not a JSON object")
            code, error = "", ""
            if status not in EXPECTED[kind]:
                code, error = str((answer.get("error") or {}).get("code")), text[:300]
        except (TimeoutError, aiohttp.ClientError) as exc:
            status, answer, code, error = 0, {}, "", f"{type(exc).__name__}: {exc}"[:300]
        except (ValueError, AttributeError):  # not the JSON envelope (a traceback page, say)
            answer, code, error = {}, "not_json", text[:300]
        self.samples.append(Sample(kind, status, time.perf_counter() - t0, started, code, error))
        return status, answer


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0–1) of ``values``, nearest rank; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def overlapping_bookings(database_url: str) -> list[tuple[str, str]]:
    """Pairs of confirmed bookings of one expert whose times overlap (the promise: none)."""
    with pg.connect(database_url) as conn:
        return [tuple(r) for r in conn.execute(
            'SELECT a.id, b.id FROM booking a JOIN booking b ON a.expert_id = b.expert_id AND a.id < b.id '
            'AND a.start < b."end" AND b.start < a."end" '
            "WHERE a.status = 'confirmed' AND b.status = 'confirmed'")]
