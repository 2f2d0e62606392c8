"""The booking rules give the same answers whatever the hour, the weekday or the season.

A test that books "the first free time" passes at 10:00 and fails at 22:00 when a rule (the notice,
the cancellation cutoff) depends on "now". Here "now" is injected: the demo expert (New York,
weekdays 09:00–17:00) is booked, cancelled and rescheduled with the clock set late in the evening
and early in the morning, on a Friday (the next free time is after a weekend) and on a Sunday, in
winter, in summer and across both DST changes. Each answer is checked against the rule itself,
not against a time written into the test.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from backend.errors import NotAllowed, SlotUnavailable
from backend.extensions import db
from backend.links import app_links
from backend.models import Booking, Service
from backend.services import bookings, slots
from backend.services.demo import seed_demo

NEW_YORK = ZoneInfo("America/New_York")
CUTOFF = timedelta(hours=24)  # the demo services keep the default policy
HORIZON = timedelta(days=14)

# Fridays and Sundays: 2026-01-16/18 (winter), 2026-03-06/08 (DST starts on Sunday the 8th at 02:00),
# 2026-07-10/12 (summer), 2026-10-30/11-01 (DST ends on Sunday 1 November at 02:00).
DAYS = [date(2026, 1, 16), date(2026, 1, 18), date(2026, 3, 6), date(2026, 3, 8),
        date(2026, 7, 10), date(2026, 7, 12), date(2026, 10, 30), date(2026, 11, 1)]
HOURS = [time(23, 30), time(8, 0)]
NOWS = [datetime.combine(day, hour, NEW_YORK) for day in DAYS for hour in HOURS]


def _label(now: datetime) -> str:
    return now.strftime("%a-%Y-%m-%d-%H%M")


@pytest.fixture
def demo(app):
    with app.app_context():
        seed_demo(db.session)
        yield db.session.scalar(select(Service).where(Service.slug == "coaching-session")).expert


def _free(service: Service, now: datetime) -> list[datetime]:
    return [s.start for s in slots.personal_slots(db.session, service, now, now + HORIZON, now)]


def _book(expert, service: Service, start: datetime, now: datetime, email: str) -> Booking:
    request = bookings.BookingRequest(timezone="America/New_York", client_name="Ann Lee", client_email=email,
                                      start=start, client_phone="+1 617 555 0142", message="",
                                      answers={q["id"]: "A career change" for q in service.questions or []})
    status, body = bookings.create_booking(db.session, expert, service, request, now=now, links=app_links())
    db.session.commit()
    assert status == 201, body
    return db.session.get(Booking, body["booking"]["id"])


@pytest.mark.parametrize("now", NOWS, ids=_label)
@pytest.mark.parametrize("slug", ["intro-call", "coaching-session", "quick-question"])
def test_book_cancel_and_reschedule_follow_the_rules_at_any_hour(app, demo, slug, now):
    expert = demo
    service = next(s for s in expert.services if s.slug == slug)
    now = now.astimezone(ZoneInfo("UTC"))
    notice = timedelta(minutes=service.min_notice_minutes or 0)
    free = _free(service, now)

    # Offered: at least one time in two weeks, none inside the notice, each inside the weekly hours
    # on its own local date (09:00–12:00 or 13:00–17:00, Monday to Friday, New York).
    assert free, f"nothing offered at {now}"
    assert all(start >= now + notice for start in free)
    for start in free:
        local = start.astimezone(NEW_YORK)
        end = local + timedelta(minutes=service.duration_minutes)
        assert local.weekday() < 5 and (time(9) <= local.time() and end.time() <= time(12)
                                        or time(13) <= local.time() and end.time() <= time(17)), local

    # The first free time books, whatever the hour; the manage link's answer follows the cutoff.
    first = _book(expert, service, free[0], now, f"first-{slug}@example.com")
    allowed = bookings.permissions(first, now)
    inside = first.start - now < CUTOFF
    assert (allowed.can_cancel, allowed.can_reschedule) == (not inside, not inside)
    assert allowed.reason == ("past_cutoff" if inside else None)
    if inside:
        with pytest.raises(NotAllowed) as refused:
            bookings.cancel_booking(db.session, first, actor="client", reason="", now=now)
        assert refused.value.reason == "past_cutoff"
        db.session.rollback()

    # A time clear of the cutoff can be moved (to a time on another day) and cancelled by the client.
    clear = [start for start in _free(service, now) if start - now > CUTOFF]
    assert clear and clear[-1] - clear[0] > timedelta(days=1), f"too few times beyond the cutoff at {now}"
    was, to = clear[0], clear[-1]
    later = _book(expert, service, was, now, f"later-{slug}@example.com")
    assert bookings.permissions(later, now) == bookings.Permissions(True, True, None)
    moved = bookings.reschedule_booking(db.session, later, start=to, session_id=None,
                                        timezone="America/New_York", actor="client", now=now)
    db.session.commit()
    assert moved.start == to and moved.status == "confirmed"
    assert was in _free(service, now) and to not in _free(service, now)
    cancelled = bookings.cancel_booking(db.session, moved, actor="client", reason="", now=now)
    db.session.commit()
    assert cancelled.status == "cancelled" and to in _free(service, now)

    # A time inside the notice is refused, even when it sits inside the weekly hours.
    too_soon = [s for s in _free(service, now - notice - timedelta(hours=1)) if now <= s < now + notice]
    for start in too_soon[:1]:
        with pytest.raises(SlotUnavailable):
            _book(expert, service, start, now, f"soon-{slug}@example.com")
        db.session.rollback()


def test_the_sweep_covers_what_the_issue_asks():
    """23:30 and 08:00 in the demo expert's zone, on a Friday and a Sunday, and both DST changes."""
    assert {n.strftime("%H:%M") for n in NOWS} == {"23:30", "08:00"}
    assert {n.strftime("%A") for n in NOWS} == {"Friday", "Sunday"}
    offsets = {n.date(): n.utcoffset() for n in NOWS}
    assert offsets[date(2026, 3, 6)] != offsets[date(2026, 3, 8)]  # New York changes clocks between them
    assert offsets[date(2026, 10, 30)] != offsets[date(2026, 11, 1)]
