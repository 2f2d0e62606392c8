"""Refuse what no route can use, before any route sees it, each in the one error envelope.

- **Too big**: a body over ``MAX_CONTENT_LENGTH`` (256 KB; the largest real request, a service with
  its questions, is a few KB) is a 413 ``payload_too_large`` (werkzeug raises it on the first read).
- **Not JSON**: the API reads JSON only, so a body sent to ``/api/`` as a form, ``text/plain`` or with
  no Content-Type is a 415 ``unsupported_media_type`` rather than a confusing "field missing" 422.
- **Nested too deep**: JSON deeper than ``MAX_JSON_DEPTH`` is a 400. Python's parser recurses, so
  ``[[[[…`` a hundred thousand deep raised RecursionError, a 500; no request of ours nests past 5.
- **NUL**: PostgreSQL rejects the NUL character in text ("A string literal cannot contain NUL"), so a
  name, slug or token carrying one used to surface as a 500 from deep inside a query. No person types
  it: 404 for a path, 422 naming the field for a query parameter, a JSON body or a form.

Invalid UTF-8 in a JSON body is a 400 from the JSON parser itself (``bad_request``).
"""
from __future__ import annotations

import json
from typing import Any

from flask import Flask, request
from werkzeug.exceptions import UnsupportedMediaType

from backend.errors import DomainError, NotFound, ValidationError

NUL = "\x00"
MESSAGE = "Text cannot contain the NUL character."
MAX_JSON_DEPTH = 32


def json_depth(value: Any) -> int:
    """How deeply ``value`` nests lists and objects (1 for a flat object), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _refuse_unreadable_body() -> None:
    if not request.path.startswith("/api/") or request.method in ("GET", "HEAD", "OPTIONS", "DELETE"):
        return
    raw = request.get_data(cache=True)  # over MAX_CONTENT_LENGTH: 413 here
    if not raw:
        return  # actions without a body (confirm, sign out) need no Content-Type
    if not request.is_json:
        raise UnsupportedMediaType()
    try:
        too_deep = json_depth(json.loads(raw)) > MAX_JSON_DEPTH
    except RecursionError:
        too_deep = True
    except ValueError:
        return  # not JSON, or not UTF-8: the route's parser answers 400
    if too_deep:
        raise DomainError(f"The JSON is nested more than {MAX_JSON_DEPTH} levels deep.")


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
    _refuse_unreadable_body()
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
