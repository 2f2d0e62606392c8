"""CalDAV passwords at rest: Fernet (AES-128-CBC + HMAC-SHA256) with keys derived from the secret key.

The key is HKDF-SHA256 of ``KAIROS_SECRET_KEY`` with a purpose label, so it is never the key that
signs links and sessions. After a rotation, keys derived from ``KAIROS_SECRET_KEY_PREVIOUS`` still
decrypt what they encrypted (MultiFernet); new passwords use the current key.
"""
from __future__ import annotations

import base64
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_PURPOSE = b"kairos calendar source passwords v1"


class UnreadablePassword(Exception):
    """The stored password was encrypted with a key that is no longer configured."""


def _fernet(secret_key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def _keys(secret_key: str, previous: Sequence[str]) -> MultiFernet:
    return MultiFernet([_fernet(secret_key), *(_fernet(k) for k in previous)])


def encrypt(password: str, secret_key: str) -> str:
    """The token to store for ``password``."""
    return _fernet(secret_key).encrypt(password.encode()).decode()


def decrypt(token: str, secret_key: str, previous: Sequence[str] = ()) -> str:
    """The password in ``token``; UnreadablePassword if no configured key opens it."""
    try:
        return _keys(secret_key, previous).decrypt(token.encode()).decode()
    except InvalidToken:
        raise UnreadablePassword("The stored password cannot be decrypted with the current secret keys; "
                                 "enter it again.") from None
