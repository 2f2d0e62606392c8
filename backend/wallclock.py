"""The one rule for a wall-clock time in a zone (pure: no Flask, no database).

A local time inside a spring-forward gap does not exist: it is never offered or accepted (zoneinfo
would silently shift it by an hour). A local time repeated by a fall-back change is read once, as
its first occurrence (``fold=0``), as calendar apps read it. The slot engine, mini-session days and
the dashboard's session form all go through ``wall_instant``.
"""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def wall_instant(local: datetime, tz: ZoneInfo) -> datetime | None:
    """The aware UTC instant of naive ``local`` on the wall clock of ``tz``, or None in a DST gap."""
    offset = tz.utcoffset(local)  # fold=0: the offset before any transition (the first occurrence)
    if offset is None:  # a ZoneInfo always has one; kept for the type checker
        return None
    instant = datetime.combine(local.date(), local.time(), UTC) - offset
    if instant.astimezone(tz).replace(tzinfo=None) != local:  # did not survive the round trip: a gap
        return None
    return instant
