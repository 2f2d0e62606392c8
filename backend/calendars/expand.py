"""Pure: calendar data in, the busy UTC intervals of a horizon out (no network, no database).

``recurring-ical-events`` works out RRULE, RDATE, EXDATE and moved occurrences (RECURRENCE-ID) over
``icalendar``'s parse; this module only decides what blocks the expert's time:

- an event marked ``TRANSP:TRANSPARENT`` (free) or ``STATUS:CANCELLED`` does not, per occurrence
  (a moved or cancelled occurrence carries its own properties);
- an all-day event blocks the expert's whole local day(s), read in the expert's zone with zoneinfo
  (a day whose midnight is skipped by DST starts at its first existing instant);
- a time without a zone ("floating") is the expert's wall time; one with a TZID keeps its own zone;
- an event Kairos itself wrote (write-back, UID ``…@kairos``) is skipped: its booking already blocks,
  and a cancelled or moved booking must free its time at once, not at the next sync.

Intervals are merged, then cut into pieces of at most a day: the slots query bounds its index scan
by the longest possible interval (``services/slots.MAX_BOOKING``), so a week's holiday is seven rows.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import recurring_ical_events
from icalendar import Calendar

from backend.slot_engine import local_dates_window
from backend.timeutil import zone

MAX_PIECE = timedelta(days=1)
#: How the UIDs of Kairos's own events end (``notifications/ics.uid``).
KAIROS_UID_SUFFIX = "@kairos"


class CalendarDataError(Exception):
    """The data is not an iCalendar file."""


def parse(data: bytes) -> Calendar:
    """An iCalendar document; CalendarDataError for anything else (an HTML login page, say)."""
    try:
        return Calendar.from_ical(data)
    except (ValueError, IndexError, KeyError) as error:
        raise CalendarDataError(f"not an iCalendar file: {str(error)[:200]}") from None


def _instant(value: datetime, tz: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:  # floating: the expert's wall time
        value = value.replace(tzinfo=zone(tz))
    return value.astimezone(UTC)


def occurrence_interval(event, tz: str) -> tuple[datetime, datetime] | None:
    """The UTC interval one expanded occurrence blocks, or None if it does not block time."""
    if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
        return None
    if str(event.get("STATUS", "")).upper() == "CANCELLED":
        return None
    start, end = event.start, event.end
    if not isinstance(start, datetime):  # an all-day event: whole local days of the expert
        last = end - timedelta(days=1) if end > start else start
        return local_dates_window(start, last, tz)
    begin = _instant(start, tz)
    finish = _instant(end, tz) if isinstance(end, datetime) else begin
    return (begin, finish) if finish > begin else None


def busy_intervals(calendars: Iterable[Calendar], tz: str, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Merged busy intervals of every event occurring in ``[start, end)``, cut to pieces of at most a day."""
    spans = []
    for calendar in calendars:
        for event in recurring_ical_events.of(calendar, components=["VEVENT"]).between(start, end):
            if str(event.get("UID", "")).endswith(KAIROS_UID_SUFFIX):
                continue
            span = occurrence_interval(event, tz)
            if span and span[1] > start and span[0] < end:
                spans.append(span)
    return split(merge(spans), MAX_PIECE)


def merge(spans: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Overlapping or touching intervals joined, sorted."""
    merged: list[tuple[datetime, datetime]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            if e > merged[-1][1]:
                merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return merged


def split(spans: list[tuple[datetime, datetime]], longest: timedelta) -> list[tuple[datetime, datetime]]:
    """Each interval cut into consecutive pieces no longer than ``longest``."""
    pieces = []
    for s, e in spans:
        while e - s > longest:
            pieces.append((s, s + longest))
            s += longest
        pieces.append((s, e))
    return pieces
