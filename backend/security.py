"""Secrets handed to people (API tokens, manage tokens) and how we keep them."""
from __future__ import annotations

import hashlib
import hmac
import secrets


def new_token(prefix: str) -> str:
    """A long random token (256 bits) with a readable prefix."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def token_hash(token: str) -> str:
    """SHA-256 of a token: tokens are random, so a fast hash is enough to keep them unreadable at rest."""
    return hashlib.sha256(token.encode()).hexdigest()


def same_hash(token: str, stored_hash: str) -> bool:
    """Compare a presented token with a stored hash in constant time."""
    return hmac.compare_digest(token_hash(token), stored_hash)
