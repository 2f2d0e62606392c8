"""Refuse text that the databases cannot store, before any route sees it.

PostgreSQL rejects the NUL character in text ("A string literal cannot contain NUL"), so a name,
slug or token carrying one used to surface as a 500 from deep inside a query. No person types it,
so the request is refused up front with the usual error envelope: 404 for a path, 422 naming the
field for a query parameter, a JSON body or a form.
"""
from __future__ import annotations

from typing import Any

from flask import Flask, request

from backend.errors import NotFound, ValidationError

NUL = "\x00"
MESSAGE = "Text cannot contain the NUL character."


def find_nul(value: Any, path: str = "") -> str | None:
    """The dotted path of the first string (or key) in ``value`` that holds a NUL, or None."""
    if isinstance(value, str):
        return path.rstrip(".") or "body" if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if NUL in str(key):
                return f"{path}{key}".replace(NUL, "\\0")
            found = find_nul(item, f"{path}{key}.")
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = find_nul(item, f"{path}{index}.")
            if found:
                return found
    return None


def _refuse_nul() -> None:
    if NUL in request.path:
        raise NotFound()
    for source in (request.args, request.form):
        for key, values in source.lists():
            if NUL in key or any(NUL in v for v in values):
                raise ValidationError(fields={key.replace(NUL, "\\0"): [MESSAGE]})
    if request.is_json:
        found = find_nul(request.get_json(silent=True))
        if found:
            raise ValidationError(fields={found: [MESSAGE]})


def init_app(app: Flask) -> None:
    app.before_request(_refuse_nul)
