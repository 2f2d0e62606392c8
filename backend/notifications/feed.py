"""The expert's secret .ics feed URL: ``/feeds/<expert id>.<HMAC>.ics``.

Like manage links, the MAC is HMAC-SHA256(secret key, expert id + a nonce kept on
the expert), so nothing secret is stored and rotating the nonce revokes the old URL.
"""
from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.models import Booking, Expert
from backend.security import b64_mac, key_that_made

#: How far back the feed goes: calendar apps keep what they already have.
FEED_HISTORY = timedelta(days=90)
FEED_LIMIT = 5000


def _mac(secret: str, expert_id: int, nonce: str) -> str:
    return b64_mac(secret, f"feed:{expert_id}:{nonce}")


def feed_url(base_url: str, secret: str, expert: Expert, *, rotate: bool = False) -> str:
    """The expert's feed URL, giving them a nonce first if they have none (or a fresh one with ``rotate``)."""
    if rotate or not expert.feed_nonce:
        expert.feed_nonce = secrets.token_hex(16)
    return f"{base_url}/feeds/{expert.id}.{_mac(secret, expert.id, expert.feed_nonce)}.ics"


def expert_for_token(db: Session, keys: Sequence[str], token: str) -> Expert | None:
    """The expert a feed token opens, or None (no hint whether the expert exists). ``keys`` are the
    current secret key and any retired by a rotation, so a rotation does not break subscriptions."""
    expert_id, _, mac = token.partition(".")
    if not expert_id.isdigit() or not mac or len(token) > 200:
        return None
    expert = db.get(Expert, int(expert_id))
    if expert is None or not expert.feed_nonce:
        return None
    nonce = expert.feed_nonce
    return expert if key_that_made(keys, mac, lambda key: _mac(key, expert.id, nonce)) else None


def feed_bookings(db: Session, expert: Expert, now: datetime) -> list[Booking]:
    """The expert's confirmed bookings from ``FEED_HISTORY`` ago on."""
    return list(db.scalars(select(Booking).where(Booking.expert_id == expert.id, Booking.status == "confirmed",
                                                 Booking.end > now - FEED_HISTORY)
                           .order_by(Booking.start).limit(FEED_LIMIT)))
