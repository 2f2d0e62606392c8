"""Pure: where an in-person session happens also says *when*, on the place's clock.

An in-person place has a time zone: its own ``timezone`` if the expert set one, else the expert's.
Answers carry it (``with_zone``), so the widget, the manage page and the emails can show the time at
the place first and the reader's own beside it when the two differ ("10:00 AM Boston time · 7:00 AM
your time"). ``city`` names the clock; without it, the zone's own city ("New York") does.
"""
from __future__ import annotations

from typing import Any, overload

IN_PERSON = "in_person"


def place_zone(location: dict[str, Any] | None, expert_timezone: str) -> str | None:
    """The IANA zone of an in-person place (its own, else the expert's); None for other locations."""
    if not location or location.get("type") != IN_PERSON:
        return None
    return location.get("timezone") or expert_timezone


@overload
def with_zone(location: dict[str, Any], expert_timezone: str) -> dict[str, Any]: ...
@overload
def with_zone(location: None, expert_timezone: str) -> None: ...
@overload
def with_zone(location: dict[str, Any] | None, expert_timezone: str) -> dict[str, Any] | None: ...


def with_zone(location: dict[str, Any] | None, expert_timezone: str) -> dict[str, Any] | None:
    """``location`` with its ``timezone`` filled in when it is an in-person place."""
    zone = place_zone(location, expert_timezone)
    if zone is None or location is None:
        return location
    return {**location, "timezone": zone}


def city(location: dict[str, Any], zone: str) -> str:
    """The name of the place's clock: the expert's ``city``, else the zone's city ("America/New_York" → "New York")."""
    return location.get("city") or zone.rsplit("/", 1)[-1].replace("_", " ")
