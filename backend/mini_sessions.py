"""Cutting a mini-session day into short single-seat slots (pure: no Flask, no database).

A photographer says "Saturday 10:00–12:00 at Riverside Park, 20-minute slots, 10 minutes
between them" and gets 10:00, 10:30, 11:00, 11:30. Times are wall-clock times of the expert's
zone on that date; a slot that would run past the end is not made, and a local time that does
not exist (a DST gap) is skipped.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from backend.wallclock import wall_instant


def cut_day(day: date, start: time, end: time, slot_minutes: int, gap_minutes: int,
            tz_name: str) -> list[tuple[datetime, datetime]]:
    """The (start, end) UTC instants of each slot of one mini-session day.

    ``end`` of time(0, 0) means midnight at the end of the day. Slots step by
    ``slot_minutes + gap_minutes`` of wall-clock time and each lasts ``slot_minutes``
    of real time; it must end by the day's end instant.
    """
    if slot_minutes <= 0 or gap_minutes < 0:
        raise ValueError("slot length must be positive and the gap not negative")
    tz = ZoneInfo(tz_name)
    day_end_local = datetime.combine(day + timedelta(days=1) if end == time(0) else day, end)
    end_instant = _instant(day_end_local, tz)
    local = datetime.combine(day, start)
    step = timedelta(minutes=slot_minutes + gap_minutes)
    length = timedelta(minutes=slot_minutes)
    slots: list[tuple[datetime, datetime]] = []
    while local < day_end_local:
        instant = wall_instant(local, tz)
        if instant is not None:  # a time skipped by a DST change is not a slot
            slot_end = instant + length
            if slot_end > end_instant:
                break
            slots.append((instant, slot_end))
        local += step
    return slots


def _instant(local: datetime, tz: ZoneInfo) -> datetime:
    """The end of the day as an instant; inside a gap, the instant zoneinfo reads it as (fold=0)."""
    return local.replace(tzinfo=tz, fold=0).astimezone(UTC)
