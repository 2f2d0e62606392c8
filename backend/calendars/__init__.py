"""The expert's own calendars: busy times read from CalDAV calendars and ICS feeds, bookings written back.

- ``credentials``: CalDAV passwords encrypted at rest with a key derived from ``KAIROS_SECRET_KEY``;
- ``fetch``: every request to a calendar server goes through the SSRF guard of
  ``notifications/destinations.py`` (vetted addresses, pinned connections, no redirects to elsewhere);
- ``expand``: pure; calendar data in, busy UTC intervals of the booking horizon out
  (``icalendar`` + ``recurring-ical-events``);
- ``sources``: add, list, remove sources (the admin API and the dashboard call these);
- ``sync``: the worker's job that refreshes each source's cached intervals, and its health emails;
- ``writeback``: bookings written to a chosen CalDAV calendar, through the outbox.

Slots and bookings never talk to a calendar server: they read ``calendar_busy`` rows in the
same query as bookings (``services/slots.py``).
"""
