"""Expert webhooks: event bodies, the ``Kairos-Signature`` header, and one delivery over HTTP.

Signature recipe (API.md): ``Kairos-Signature: t=TIMESTAMP,v1=HEX`` where HEX is
HMAC-SHA256 with the endpoint's secret over ``f"{TIMESTAMP}.{raw body}"``.

Deliveries go only to public internet addresses unless ``KAIROS_WEBHOOK_ALLOW_PRIVATE=1``
(``check_url`` at registration, ``destinations.vetted_addresses`` plus a pinned connection at
each delivery), and never follow redirects. See ``backend/notifications/destinations.py``.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from http.client import HTTPConnection, HTTPException
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from backend.errors import ValidationError
from backend.models import WebhookEndpoint, public_id
from backend.notifications.destinations import (
    DestinationRefused,
    PinnedHTTPConnection,
    PinnedHTTPSConnection,
    host_refusal,
    vetted_addresses,
)

#: The event types of API.md, in the order the docs list them.
EVENT_TYPES = ("booking.created", "booking.confirmed", "booking.rescheduled", "booking.cancelled",
               "payment.succeeded", "payment.refunded")
SIGNATURE_HEADER = "Kairos-Signature"
TIMEOUT_SECONDS = 10
#: A receiver that answers with an older signed timestamp than this is replaying; a helper for receivers.
DEFAULT_TOLERANCE_SECONDS = 300


class DeliveryError(Exception):
    """The receiver did not answer 2xx (or could not be reached); the worker retries."""


def new_secret() -> str:
    """A signing secret for a new endpoint."""
    return "whsec_" + secrets.token_urlsafe(32)


def new_event(event_type: str, data: dict[str, Any], created: int | None = None) -> dict[str, Any]:
    """An event body with its id fixed now, so every retry resends the same id (receivers de-duplicate by it)."""
    return {"id": public_id("evt"), "type": event_type, "created": int(created or time.time()), "data": data}


def encode(event: dict[str, Any]) -> bytes:
    """The exact bytes that are signed and sent."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Kairos-Signature`` header value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, body: bytes, *, now: float | None = None,
           tolerance: int = DEFAULT_TOLERANCE_SECONDS) -> bool:
    """What a receiver does: recompute the HMAC and compare in constant time; refuse stale timestamps."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now or time.time()) - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def check_url(url: str, *, allow_private: bool) -> None:
    """Refuse, at registration, a URL that plainly points inside a network (no DNS lookup: see destinations)."""
    if allow_private:
        return
    reason = host_refusal(urlsplit(url).hostname)
    if reason:
        raise ValidationError(fields={"url": [
            f"Webhooks can only be sent to a public internet address, and {reason}."]})


def subscribe(db: Session, expert_id: int, url: str, events: list[str], *, allow_private: bool) -> WebhookEndpoint:
    """A new endpoint of the expert's for these event types (in API.md's order), with its signing secret.

    A URL on a private or internal network is refused (ValidationError) unless ``allow_private``.
    """
    check_url(url, allow_private=allow_private)
    endpoint = WebhookEndpoint(expert_id=expert_id, url=url, events=sorted(set(events), key=EVENT_TYPES.index),
                               secret=new_secret(), active=True)
    db.add(endpoint)
    db.flush()
    return endpoint


def _connection(url: str, *, allow_private: bool) -> tuple[HTTPConnection, str]:
    """An unopened connection to the URL's vetted addresses, and the path to request.

    Raises DestinationRefused for a private destination, DeliveryError for a URL or name that does not work.
    """
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise DeliveryError(f"bad port in {url}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DeliveryError(f"not an http(s) URL: {url}")
    try:
        addresses = vetted_addresses(parts.hostname, port, allow_private=allow_private)
    except DestinationRefused as refused:
        raise DestinationRefused(f"not sent to {url}: {refused}; webhooks only go to public internet addresses") \
            from None
    except OSError as error:  # socket.gaierror: the name does not resolve (now)
        raise DeliveryError(f"cannot resolve {parts.hostname}: {error}") from None
    cls = PinnedHTTPSConnection if parts.scheme == "https" else PinnedHTTPConnection
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return cls(parts.hostname, port, addresses, timeout=TIMEOUT_SECONDS), path


def deliver(url: str, secret: str, event: dict[str, Any], *, allow_private: bool = False) -> int:
    """POST one signed event; return the status.

    Raises DestinationRefused when the URL leads to a private address (unless ``allow_private``),
    DeliveryError for anything but a 2xx. Redirects are not followed: a redirected POST would lose its
    body, and the new location would escape the address check, so a 3xx is a failed delivery.
    """
    body = encode(event)
    connection, path = _connection(url, allow_private=allow_private)
    headers = {"Content-Type": "application/json", "User-Agent": "Kairos-Webhooks/1",
               SIGNATURE_HEADER: signature(secret, int(time.time()), body)}
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        status, location = response.status, response.getheader("Location")
    except (OSError, HTTPException) as error:
        raise DeliveryError(f"cannot reach {url}: {error}") from None
    finally:
        connection.close()
    if 300 <= status < 400:
        raise DeliveryError(f"HTTP {status} from {url}: redirects are not followed "
                            f"(Location: {(location or '-')[:300]}); register the final URL instead")
    if not 200 <= status < 300:
        raise DeliveryError(f"HTTP {status} from {url}")
    return status
