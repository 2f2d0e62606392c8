"""The widget page carries a personal service's first slots in no zone, so a visitor anywhere sees the
first times with no request (backend/api/first_answers.py; widget/early.js ``answerIn`` writes them
in the browser, e2e/test_first_slots_any_zone.py checks that side).

Here: what the page carries holds, for every zone on Earth, exactly the API's answer for that zone's
first window, at moments chosen where it is hard: the UTC date behind or ahead of the zone's, the first
window running to the next month's end in some zones and not others, and a DST change inside it.
"""
from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from backend.api.first_answers import any_window, any_zone, first_range
from backend.extensions import db
from backend.services import slot_answers
from backend.slot_cache import MemoryStore
from backend.timeutil import iso_in
from tests.test_sessions import add_session, make_service

# UTC-12 to UTC+14, half and three-quarter hours, DST north and south (Santiago's starts at midnight).
ZONES = ["Etc/GMT+12", "Pacific/Pago_Pago", "America/New_York", "America/St_Johns", "America/Santiago", "UTC",
         "Europe/Paris", "Asia/Kolkata", "Asia/Kathmandu", "Australia/Lord_Howe", "Pacific/Chatham",
         "Pacific/Kiritimati"]


def carried_answer(carried: dict, tz: str, start: date, end: date) -> dict | None:
    """What widget/early.js ``answerIn`` makes of the carried slots (the same rule, in Python)."""
    def at(minutes: int) -> datetime:
        return datetime.fromtimestamp(minutes * 60, UTC)

    if not (iso_in(at(carried["from"]), tz)[:10] < start.isoformat()
            and iso_in(at(carried["to"]), tz)[:10] > end.isoformat()):
        return None
    slots, minutes = [], 0
    for step in carried["starts"]:
        minutes += step
        first = iso_in(at(minutes), tz)
        if start.isoformat() <= first[:10] <= end.isoformat():
            slots.append({"start": first, "end": iso_in(at(minutes + carried["length"]), tz), "seats_left": 1})
    return {"timezone": tz, "slots": slots}


@pytest.mark.parametrize("now", [
    datetime(2026, 12, 2, 15, 0, tzinfo=UTC),
    datetime(2026, 12, 22, 23, 30, tzinfo=UTC),  # Kiritimati's Dec 23 runs to the end of January, UTC's to Dec 31
    datetime(2027, 3, 8, 4, 0, tzinfo=UTC),  # New York's clocks move on March 14, inside its first window
    datetime(2027, 3, 24, 11, 0, tzinfo=UTC),  # Paris's on March 28, Santiago's on April 4 (to the end of April)
])
def test_the_carried_slots_are_every_zones_first_answer(app, expert, now):
    with app.app_context():
        store = MemoryStore()
        found = slot_answers.head(db.session, "jane", "intro-call")
        carried = any_zone(db.session, store, "test", found, "intro-call", now)
        assert carried is not None and carried["service"] == "intro-call" and carried["length"] == 30
        for tz in ZONES:
            start, end = first_range(now.astimezone(ZoneInfo(tz)).date())
            api = json.loads(slot_answers.answer(db.session, store, "test", found, start, end, tz, True, now).body)
            assert api["slots"], f"{tz}: a window with slots"
            assert carried_answer(carried, tz, start, end) == api, f"{tz} at {now}"
        db.session.rollback()


def test_a_window_the_carried_slots_do_not_hold_is_asked_for(app, expert):
    now = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
    with app.app_context():
        carried = any_zone(db.session, MemoryStore(), "test", slot_answers.head(db.session, "jane", "intro-call"),
                           "intro-call", now)
        db.session.rollback()
    assert carried_answer(carried, "Europe/Paris", date(2026, 12, 2), date(2027, 1, 31)) is None
    assert carried_answer(carried, "Europe/Paris", date(2026, 11, 30), date(2026, 12, 31)) is None
    assert any_window(date(2026, 12, 22)) == (date(2026, 12, 21), date(2027, 2, 1))


def data_block(client, path: str) -> dict:
    html = client.get(path).get_data(as_text=True)
    return json.loads(re.search(r'<script type="application/json" id="kairos-data">(.*?)</script>', html, re.S).group(1))


def test_a_direct_link_carries_its_slots_in_no_zone_and_a_workshop_its_answer_in_the_experts(client, expert):
    data = data_block(client, "/widget/jane/intro-call")
    assert list(data["answers"]) == ["/experts/jane"], "no answer tied to one zone"
    assert data["slots"]["service"] == "intro-call" and len(data["slots"]["starts"]) > 20

    make_service(client, expert, slug="workshop", name="Workshop", kind="group", duration_minutes=60, capacity=5)
    add_session(client, expert, "workshop", date.today() + timedelta(days=3), "10:00", "11:00")
    data = data_block(client, "/widget/jane/workshop")
    assert "slots" not in data
    [path] = [p for p in data["answers"] if "/slots?" in p]
    assert "timezone=Europe%2FParis" in path
    assert data["answers"][path] == client.get("/api/v1" + path).get_json(), "the very answer of the API"
