"""Links we hand to clients: the manage link of a booking.

A manage token is HMAC-SHA256(secret key, booking id + a random nonce kept on the
booking). The database stores only its SHA-256 hash, so a copy of the database
opens nothing; the server can still rebuild the link for a reminder or a re-share.
Rotating the nonce (re-sharing) makes every older link worthless. Rotating the secret key
keeps links working: the stored hash still finds the booking, and links rebuilt later (reminders,
re-sent emails) are signed with whichever key, current or previous, made the stored one.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask import current_app

from backend.security import b64_mac, key_that_made, signing_keys, token_hash


@dataclass(frozen=True)
class Links:
    base_url: str
    secret: str
    previous: tuple[str, ...] = ()

    def manage_token(self, booking_id: str, nonce: str, secret: str | None = None) -> str:
        return "mt_" + b64_mac(secret or self.secret, f"manage:{booking_id}:{nonce}")

    def manage_url(self, booking) -> str:
        """The manage link of ``booking`` (a Booking row): the one its client already holds, even when
        it was signed with a key retired since."""
        for secret in signing_keys(self.secret, self.previous):
            token = self.manage_token(booking.id, booking.manage_nonce, secret)
            if token_hash(token) == booking.manage_token_hash:
                return f"{self.base_url}/manage/{token}"
        return f"{self.base_url}/manage/{self.manage_token(booking.id, booking.manage_nonce)}"

    def issue(self, booking) -> str:
        """Give ``booking`` a fresh nonce and token hash; return the new manage link."""
        booking.manage_nonce = secrets.token_hex(16)
        booking.manage_token_hash = token_hash(self.manage_token(booking.id, booking.manage_nonce))
        return self.manage_url(booking)

    def waitlist_token(self, entry_id: str, nonce: str, secret: str | None = None) -> str:
        """The token of a waitlist offer: ``wt_<entry id>.<HMAC of id and nonce>`` (nothing stored)."""
        return f"wt_{entry_id}." + b64_mac(secret or self.secret, f"waitlist:{entry_id}:{nonce}")

    def waitlist_url(self, expert_slug: str, service_slug: str, entry_id: str, nonce: str) -> str:
        """The booking page opened on the seat held for a waitlisted client."""
        return f"{self.base_url}/book/{expert_slug}/{service_slug}?waitlist={self.waitlist_token(entry_id, nonce)}"

    def waitlist_entry_id(self, token: str, nonce_of) -> str | None:
        """The entry id a waitlist token names if its MAC is good (under any signing key), else None.

        ``nonce_of(entry_id)`` returns the entry's current offer nonce (None if it has none).
        """
        if not token.startswith("wt_") or "." not in token or len(token) > 200:
            return None
        entry_id, _, mac = token[3:].partition(".")
        nonce = nonce_of(entry_id)
        if not nonce:
            return None
        keys = signing_keys(self.secret, self.previous)
        found = key_that_made(keys, token, lambda key: self.waitlist_token(entry_id, nonce, key))
        return entry_id if found else None


def app_links() -> Links:
    """The Links of the current app (base URL and secret key from the settings)."""
    return links_for(current_app.config["KAIROS"])


def links_for(settings) -> Links:
    """The Links of these Settings: the current key signs, previous keys still verify."""
    return Links(settings.base_url, settings.secret_key, settings.previous_secret_keys)
