"""Expert webhooks: event bodies, the ``Kairos-Signature`` header, and one delivery over HTTP.

Signature recipe (API.md): ``Kairos-Signature: t=TIMESTAMP,v1=HEX`` where HEX is
HMAC-SHA256 with the endpoint's secret over ``f"{TIMESTAMP}.{raw body}"``.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request
from typing import Any

from backend.models import public_id

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


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirected POST would turn into a GET without the body; count it as a failed delivery instead.
    def redirect_request(self, *args, **kwargs):  # type: ignore[override]
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def deliver(url: str, secret: str, event: dict[str, Any]) -> int:
    """POST one signed event; return the status, raise DeliveryError unless it is 2xx."""
    body = encode(event)
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json",
        "User-Agent": "Kairos-Webhooks/1",
        SIGNATURE_HEADER: signature(secret, int(time.time()), body),
    })
    try:
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        raise DeliveryError(f"HTTP {error.code} from {url}") from None
    except (urllib.error.URLError, OSError) as error:
        raise DeliveryError(f"cannot reach {url}: {getattr(error, 'reason', error)}") from None
    if not 200 <= status < 300:
        raise DeliveryError(f"HTTP {status} from {url}")
    return status
