"""Calendar files (RFC 5545) with ``icalendar``: the invitation attached to emails, and the expert's feed.

One booking keeps one UID for its whole life; every change raises ``SEQUENCE``
(``booking.ics_sequence``), so calendar apps update or remove the event they
already have instead of adding a second one.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from icalendar import Calendar, Event, vCalAddress, vText

from backend.models import Booking
from backend.plain_text import multi_line, one_line
from backend.views.bookings import private_location, series_dates

PRODID = "-//Kairos//Bookings//EN"


def uid(booking_id: str, index: int | None = None) -> str:
    """The stable UID of a booking's event (one per date for a series)."""
    suffix = f".{index}" if index else ""
    return f"{booking_id}{suffix}@kairos"


def location_text(location: dict[str, Any] | None) -> str:
    """A location as one line: name, address, call link or phone number, whichever it has."""
    if not location:
        return ""
    parts = [location.get(key) for key in ("name", "address", "url", "phone")]
    return ", ".join(p for p in parts if p)


def _event(booking: Booking, start: datetime, end: datetime, *, index: int | None, sequence: int,
           status: str, summary: str, description: str, attendee: bool) -> Event:
    event = Event()
    event.add("uid", uid(booking.id, index))
    event.add("sequence", sequence)
    event.add("dtstamp", datetime.now(UTC))
    # Always UTC ("Z"): every calendar app agrees on it; the app shows it in the reader's zone.
    event.add("dtstart", start.astimezone(UTC))
    event.add("dtend", end.astimezone(UTC))
    # icalendar escapes and folds text (RFC 5545); one_line also keeps out what some parsers read as a
    # line break (U+2028) or a reordering (bidi overrides) in text stored before the input rules.
    event.add("summary", one_line(summary))
    event.add("status", status)
    where = one_line(location_text(private_location(booking)))
    if where:
        event.add("location", where)
    if description:
        event.add("description", multi_line(description))
    organizer = vCalAddress(f"mailto:{booking.expert.email}")
    organizer.params["cn"] = vText(one_line(booking.expert.name))
    event.add("organizer", organizer)
    if attendee:
        guest = vCalAddress(f"mailto:{booking.client.email}")
        guest.params["cn"] = vText(one_line(booking.client.name))
        guest.params["role"] = vText("REQ-PARTICIPANT")
        event.add("attendee", guest)
    return event


def _dates(booking: Booking, start: datetime, end: datetime) -> list[tuple[int | None, datetime, datetime]]:
    """(index, start, end) of each event: one per session for a series, else the booking's own time."""
    dates = series_dates(booking)
    if dates:
        return [(i or None, s, e) for i, (s, e) in enumerate(dates)]
    return [(None, start, end)]


def invitation(booking: Booking, *, method: str, start: datetime, end: datetime, sequence: int,
               description: str = "") -> bytes:
    """The .ics sent to the client: ``METHOD:REQUEST`` to add or move, ``METHOD:CANCEL`` to remove."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("method", method)
    status = "CANCELLED" if method == "CANCEL" else "CONFIRMED"
    summary = f"{booking.session_name} – {booking.expert.name}"
    for index, s, e in _dates(booking, start, end):
        cal.add_component(_event(booking, s, e, index=index, sequence=sequence, status=status,
                                 summary=summary, description=description, attendee=True))
    return cal.to_ical()


def booking_file(booking: Booking, *, manage_url: str | None = None) -> bytes:
    """The booking as a file to add to a calendar (the manage page's "Add to calendar"): the same
    events, UID and SEQUENCE as the invitation emails carry, so an app that has one updates it."""
    description = "\n".join(x for x in (booking.service.confirmation_note, manage_url and f"Manage: {manage_url}") if x)
    method = "CANCEL" if booking.status == "cancelled" else "PUBLISH"
    return invitation(booking, method=method, start=booking.start, end=booking.end, sequence=booking.ics_sequence,
                      description=description)


def feed(name: str, bookings: Iterable[Booking]) -> bytes:
    """The expert's subscription feed: their confirmed bookings, one event each (no METHOD: it is published)."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"Kairos – {name}")
    for booking in bookings:
        lines = [f"{booking.client.name} <{booking.client.email}>"]
        if booking.client.phone:
            lines.append(booking.client.phone)
        if booking.message:
            lines.append(booking.message)
        summary = f"{booking.session_name} – {booking.client.name}"
        for index, s, e in _dates(booking, booking.start, booking.end):
            cal.add_component(_event(booking, s, e, index=index, sequence=booking.ics_sequence,
                                     status="CONFIRMED", summary=summary, description="\n".join(lines),
                                     attendee=False))
    return cal.to_ical()


def stored_events(booking: Booking) -> list[tuple[str, bytes]]:
    """The booking as objects to store in the expert's CalDAV calendar: (UID, one-event calendar) each.

    One object per UID (CalDAV servers refuse two UIDs in one resource); the same UIDs as the
    invitations and the feed, so a calendar app that also imported those sees one event.
    """
    summary = f"{booking.service.name} – {booking.client.name}"
    lines = [f"{booking.client.name} <{booking.client.email}>"]
    if booking.client.phone:
        lines.append(booking.client.phone)
    if booking.message:
        lines.append(booking.message)
    objects = []
    for index, s, e in _dates(booking, booking.start, booking.end):
        cal = Calendar()
        cal.add("prodid", PRODID)
        cal.add("version", "2.0")
        cal.add_component(_event(booking, s, e, index=index, sequence=booking.ics_sequence, status="CONFIRMED",
                                 summary=summary, description="\n".join(lines), attendee=False))
        objects.append((uid(booking.id, index), cal.to_ical()))
    return objects
