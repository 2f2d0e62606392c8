"""Who is signed in to the dashboard, and the CSRF token of every form.

The session is Flask's signed cookie (no server-side store, so nothing new to run). It holds the
expert's id, a fingerprint of their password hash (changing the password signs every browser out)
and a random CSRF token that each POST form must send back.
"""
from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from functools import wraps

from flask import current_app, g, redirect, session, url_for
from flask.typing import ResponseReturnValue

from backend.extensions import db
from backend.models import Expert
from backend.security import hmac_sha256, key_that_made, signing_keys

EXPERT_KEY = "expert_id"
FINGERPRINT_KEY = "auth"
CSRF_KEY = "csrf"
CSRF_FIELD = "csrf_token"


def _fingerprint(expert: Expert, key: str | None = None) -> str:
    """A keyed digest of the password hash: the cookie never carries the hash itself."""
    return hmac_sha256(key or current_app.config["SECRET_KEY"], f"{expert.id}:{expert.password_hash or ''}").hex()


def sign_in(expert: Expert) -> None:
    """Start a fresh session for ``expert`` (cleared first, so no value chosen before sign-in survives)."""
    session.clear()
    session.permanent = True
    session[EXPERT_KEY] = expert.id
    session[FINGERPRINT_KEY] = _fingerprint(expert)
    session[CSRF_KEY] = secrets.token_urlsafe(32)


def sign_out() -> None:
    """Forget who was signed in, and the CSRF token with it."""
    session.clear()


def signed_in_expert() -> Expert | None:
    """The expert of this browser's session, or None (signed out, deleted, or password changed since)."""
    expert_id = session.get(EXPERT_KEY)
    if not isinstance(expert_id, int):
        return None
    expert = db.session().get(Expert, expert_id)
    if expert is None or not expert.password_hash:
        return None
    given = str(session.get(FINGERPRINT_KEY, ""))
    # Keys retired by a rotation still count, like the cookie's own signature (SECRET_KEY_FALLBACKS).
    keys = signing_keys(current_app.config["SECRET_KEY"], current_app.config.get("SECRET_KEY_FALLBACKS", []))
    if key_that_made(keys, given, lambda key: _fingerprint(expert, key)) is None:
        return None
    return expert


def current_expert() -> Expert:
    """The expert of this request (set by ``login_required``)."""
    return g.dashboard_expert


def login_required(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
    """Send a signed-out browser to the sign-in page instead of running ``view``."""

    @wraps(view)
    def wrapped(*args, **kwargs) -> ResponseReturnValue:
        expert = signed_in_expert()
        if expert is None:
            return redirect(url_for("dashboard.login"))
        g.dashboard_expert = expert
        return view(*args, **kwargs)

    return wrapped


def csrf_token() -> str:
    """This session's CSRF token, made on first use (the sign-in form needs one before sign-in)."""
    token = session.get(CSRF_KEY)
    if not isinstance(token, str) or not token:
        token = session[CSRF_KEY] = secrets.token_urlsafe(32)
    return token


def csrf_valid(sent: str | None) -> bool:
    """Whether a form sent back this session's token (constant-time comparison)."""
    expected = session.get(CSRF_KEY)
    if not isinstance(expected, str) or not expected or not sent:
        return False
    return hmac.compare_digest(sent.encode(), expected.encode())
