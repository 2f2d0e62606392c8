"""``UNREAD``: an argument saying "the caller has not looked this row up" (None says "looked: none").

Functions that find or create a row (``find_or_create_client``, ``touch_lead``, ``idempotency.remember``)
take the row a caller already read in its own query, so a booking does not read it twice.
"""
from __future__ import annotations

from typing import Any


class _Unread:
    def __repr__(self) -> str:
        return "UNREAD"


UNREAD: Any = _Unread()
