"""Bearer-token authentication for the expert API."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import g, request

from backend.errors import Unauthorized
from backend.extensions import db
from backend.models import Expert
from backend.services.experts import expert_for_token


def current_expert() -> Expert:
    """The expert of this request (set by ``login_required``)."""
    return g.expert


def login_required(view: Callable) -> Callable:
    """Refuse the request with 401 unless it carries a valid ``Authorization: Bearer`` token."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Send your API token as 'Authorization: Bearer TOKEN'.")
        g.expert = expert_for_token(db.session(), token.strip())
        return view(*args, **kwargs)

    return wrapped
