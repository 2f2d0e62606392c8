"""Links we hand to clients: the manage link of a booking.

A manage token is HMAC-SHA256(secret key, booking id + a random nonce kept on the
booking). The database stores only its SHA-256 hash, so a copy of the database
opens nothing; the server can still rebuild the link for a reminder or a re-share.
Rotating the nonce (re-sharing) makes every older link worthless.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from flask import current_app

from backend.security import token_hash


@dataclass(frozen=True)
class Links:
    base_url: str
    secret: str

    def manage_token(self, booking_id: str, nonce: str) -> str:
        mac = hmac.new(self.secret.encode(), f"manage:{booking_id}:{nonce}".encode(), hashlib.sha256).digest()
        return "mt_" + base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def manage_url(self, booking) -> str:
        """The manage link of ``booking`` (a Booking row)."""
        return f"{self.base_url}/manage/{self.manage_token(booking.id, booking.manage_nonce)}"

    def issue(self, booking) -> str:
        """Give ``booking`` a fresh nonce and token hash; return the new manage link."""
        booking.manage_nonce = secrets.token_hex(16)
        booking.manage_token_hash = token_hash(self.manage_token(booking.id, booking.manage_nonce))
        return self.manage_url(booking)


def app_links() -> Links:
    """The Links of the current app (base URL and secret key from the settings)."""
    settings = current_app.config["KAIROS"]
    return Links(settings.base_url, settings.secret_key)
