"""Small time helpers shared by the API and the services (the slot engine has its own)."""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """A cached ZoneInfo: the zone object is cached, never an offset."""
    return ZoneInfo(name)


def iso_in(instant: datetime, tz_name: str) -> str:
    """``instant`` as ISO 8601 with the offset it has in ``tz_name`` on that date."""
    return instant.astimezone(zone(tz_name)).isoformat(timespec="seconds")


def iso_utc(instant: datetime) -> str:
    return instant.astimezone(zone("UTC")).isoformat(timespec="seconds")
