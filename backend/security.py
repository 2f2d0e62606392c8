"""Secrets handed to people (API tokens, manage tokens) and how we keep them."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable, Sequence


def new_token(prefix: str) -> str:
    """A long random token (256 bits) with a readable prefix."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def token_hash(token: str) -> str:
    """SHA-256 of a token: tokens are random, so a fast hash is enough to keep them unreadable at rest."""
    return hashlib.sha256(token.encode()).hexdigest()


def same_hash(token: str, stored_hash: str) -> bool:
    """Compare a presented token with a stored hash in constant time."""
    return hmac.compare_digest(token_hash(token), stored_hash)


# --- the one HMAC helper: signed links (manage, feed) and dashboard sessions ----------------------

def hmac_sha256(key: str, message: str) -> bytes:
    """HMAC-SHA256 of ``message`` under ``key``: every MAC Kairos hands out is made here."""
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).digest()


def b64_mac(key: str, message: str) -> str:
    """``hmac_sha256`` as URL-safe base64 without padding (what goes into a link)."""
    return base64.urlsafe_b64encode(hmac_sha256(key, message)).decode().rstrip("=")


def signing_keys(current: str, previous: Sequence[str] = ()) -> tuple[str, ...]:
    """The keys that verify, newest first: the current secret key signs, keys retired by a rotation
    (``KAIROS_PREVIOUS_SECRET_KEYS``) still verify, so a rotation breaks no link or session."""
    return (current, *previous)


def key_that_made(keys: Sequence[str], given: str, make: Callable[[str], str]) -> str | None:
    """The key among ``keys`` whose ``make(key)`` equals ``given`` (compared in constant time), or None."""
    found = None
    for key in keys:
        if hmac.compare_digest(given, make(key)) and found is None:
            found = key  # keep comparing: the time taken does not tell which key matched
    return found
