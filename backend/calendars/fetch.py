"""Talking to calendar servers, always behind the SSRF guard (``notifications/destinations.py``).

An expert chooses the URL and the worker fetches it from inside our network, exactly like a webhook,
so the same rules hold: at registration a URL that plainly points inside a network is refused
(``check_url``, no DNS); at each fetch the name is resolved once, every answer must be public, and the
connection goes to those vetted addresses only — for ICS feeds through the pinned ``http.client``
connections, for CalDAV through an in-memory resolver given to the ``caldav`` client's HTTP session,
which then cannot look the name up again. ``KAIROS_CALENDAR_ALLOW_PRIVATE=1`` (or
``KAIROS_WEBHOOK_ALLOW_PRIVATE=1``) lifts the refusals for a calendar server on the local network.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from http.client import HTTPConnection, HTTPException
from typing import cast
from urllib.parse import urljoin, urlsplit

import niquests
from caldav.calendarobjectresource import CalendarObjectResource
from caldav.collection import Calendar as DavCalendar
from caldav.davclient import DAVClient
from caldav.lib.error import DAVError
from urllib3_future.contrib.resolver.in_memory import InMemoryResolver

from backend.errors import ValidationError
from backend.notifications.destinations import (
    DestinationRefused,
    PinnedHTTPConnection,
    PinnedHTTPSConnection,
    Resolved,
    host_refusal,
    vetted_addresses,
)

TIMEOUT_SECONDS = 20
#: A feed larger than this is refused rather than read into memory (a year of a busy calendar is ~1 MB).
MAX_FEED_BYTES = 20 * 1024 * 1024
MAX_REDIRECTS = 3


class FetchError(Exception):
    """The calendar could not be read or written (network, HTTP status, refused address, bad data)."""


def normalise_url(url: str) -> str:
    """``webcal://`` (how calendar apps publish feeds) is https."""
    return "https://" + url[len("webcal://"):] if url.lower().startswith("webcal://") else url


def check_url(url: str, *, allow_private: bool) -> None:
    """Refuse, when a source is added, a URL that plainly points inside a network (no DNS lookup)."""
    parts = urlsplit(normalise_url(url))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(fields={"url": ["Use an http, https or webcal address."]})
    if allow_private:
        return
    reason = host_refusal(parts.hostname)
    if reason:
        raise ValidationError(fields={"url": [
            f"Calendars are only read from public internet addresses, and {reason}."]})


def _vetted(url: str, allow_private: bool) -> tuple[str, int, list[Resolved]]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(f"not an http(s) URL: {url}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise FetchError(f"bad port in {url}") from None
    try:
        return parts.hostname, port, vetted_addresses(parts.hostname, port, allow_private=allow_private)
    except DestinationRefused as refused:
        raise FetchError(f"not fetched: {refused}; calendars are only read from public internet addresses") \
            from None
    except OSError as error:  # the name does not resolve (now)
        raise FetchError(f"cannot resolve {parts.hostname}: {error}") from None


def fetch_ics(url: str, *, allow_private: bool) -> bytes:
    """GET an ICS feed. Redirects are followed (a few) only to addresses that pass the same vetting."""
    url = normalise_url(url)
    for _ in range(MAX_REDIRECTS + 1):
        host, port, addresses = _vetted(url, allow_private)
        parts = urlsplit(url)
        cls = PinnedHTTPSConnection if parts.scheme == "https" else PinnedHTTPConnection
        connection: HTTPConnection = cls(host, port, addresses, timeout=TIMEOUT_SECONDS)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request("GET", path, headers={"Accept": "text/calendar", "User-Agent": "Kairos-Calendars/1"})
            response = connection.getresponse()
            if response.status in (301, 302, 303, 307, 308) and response.getheader("Location"):
                url = normalise_url(urljoin(url, response.getheader("Location")))
                continue
            if response.status != 200:
                raise FetchError(f"HTTP {response.status} from {url}")
            body = response.read(MAX_FEED_BYTES + 1)
        except (OSError, HTTPException) as error:
            raise FetchError(f"cannot reach {url}: {error}") from None
        finally:
            connection.close()
        if len(body) > MAX_FEED_BYTES:
            raise FetchError(f"{url} is larger than {MAX_FEED_BYTES // (1024 * 1024)} MB")
        return body
    raise FetchError(f"{url}: more than {MAX_REDIRECTS} redirects")


@contextmanager
def caldav_calendar(url: str, username: str | None, password: str | None, *,
                    allow_private: bool) -> Iterator[DavCalendar]:
    """The CalDAV calendar at ``url`` (a calendar collection), over connections to vetted addresses only.

    The client's session resolves names from an in-memory table holding just the vetted addresses
    of the URL's host, and follows no redirect: nothing the server says can send it elsewhere.
    """
    host, _port, addresses = _vetted(url, allow_private)
    resolver = InMemoryResolver()
    for answer in addresses:
        resolver.register(host, str(answer.address))
    client = DAVClient(url=url, username=username or None, password=password or None,
                              timeout=TIMEOUT_SECONDS, enable_rfc6764=False)
    client.session.close()
    client.session = niquests.Session(resolver=resolver)
    client.session.max_redirects = 0
    try:
        yield client.calendar(url=url)
    except DAVError as error:
        raise FetchError(f"{type(error).__name__} from {url}: {str(error)[:300]}") from None
    except (OSError, niquests.exceptions.RequestException) as error:
        raise FetchError(f"cannot reach {url}: {str(error)[:300]}") from None
    finally:
        client.close()


def caldav_events(url: str, username: str | None, password: str | None, start: datetime, end: datetime, *,
                  allow_private: bool) -> list[bytes]:
    """The raw iCalendar objects of a CalDAV calendar with an occurrence in ``[start, end)``.

    The server filters by time range (recurring events whose series touches the range come whole,
    with their exceptions); ``expand`` then works them out, as it does for a feed.
    """
    with caldav_calendar(url, username, password, allow_private=allow_private) as calendar:
        # The synchronous client answers lists (its type also names the async client's coroutines).
        found = cast(list[CalendarObjectResource], calendar.search(start=start, end=end, event=True))
        return [item.data.encode() if isinstance(item.data, str) else item.data for item in found]
