"""Domain errors and the one JSON error envelope of API.md.

Services raise ``DomainError`` subclasses; the API layer turns every error,
domain or HTTP, into ``{"error": {"code", "message", "fields"}}``.
"""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, g, jsonify, render_template, request
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, MethodNotAllowed

log = logging.getLogger("kairos.errors")


class DomainError(Exception):
    """An error a caller can act on, with its API code and HTTP status."""

    code = "bad_request"
    status = 400
    message = "The request could not be processed."

    def __init__(self, message: str | None = None, *, fields: dict[str, list[str]] | None = None,
                 **extra: Any) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        self.fields = fields or {}
        self.extra = extra


class ValidationError(DomainError):
    code, status, message = "validation_error", 422, "Some fields are not valid."


class NotFound(DomainError):
    code, status, message = "not_found", 404, "Not found."


class Unauthorized(DomainError):
    code, status, message = "unauthorized", 401, "Sign in or send a valid API token."


class SignInRequired(DomainError):
    """Only the expert's existing clients may see this: sign in first (API.md, existing clients)."""

    code, status, message = "sign_in_required", 401, "Sign in with the email you booked with to see this."


class Forbidden(DomainError):
    code, status, message = "forbidden", 403, "You may not do this."


class NotAllowed(DomainError):
    """A policy forbids the action; ``reason`` says which (API.md)."""

    code, status, message = "not_allowed", 403, "This is not allowed."

    def __init__(self, reason: str, message: str | None = None) -> None:
        super().__init__(message, reason=reason)
        self.reason = reason


class SlotUnavailable(DomainError):
    code, status, message = "slot_unavailable", 409, "That time was just taken. Please pick another."


class IdempotencyConflict(DomainError):
    code, status = "idempotency_conflict", 409
    message = "This Idempotency-Key was already used with a different request."


class PaymentFailed(DomainError):
    code, status, message = "payment_failed", 402, "The payment did not go through."


class RateLimited(DomainError):
    code, status, message = "rate_limited", 429, "Too many requests. Please wait a moment and try again."


class ServiceUnavailable(DomainError):
    """The database cannot be reached (restarting, failing over, out of connections): try again soon."""

    code, status = "service_unavailable", 503
    message = "Kairos is briefly unavailable. Please try again in a few seconds."


#: What a 503 for an unreachable database tells clients to wait: a restart or a failover takes seconds.
RETRY_AFTER_SECONDS = 5


def database_unavailable(error: BaseException) -> bool:
    """Whether ``error`` means the database is away (not a bug nor a broken rule): the server is down or
    restarting, the connection was cut (SQLAlchemy then invalidates it, so the pool reconnects on the
    next checkout), no connection could be had in time, or a lock or statement timed out."""
    if isinstance(error, (OperationalError, PoolTimeout)):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


_HTTP_CODES = {
    400: ("bad_request", "The request could not be understood."),
    401: ("unauthorized", Unauthorized.message),
    403: ("forbidden", Forbidden.message),
    404: ("not_found", "Nothing here: check the address."),
    405: ("method_not_allowed", "This method is not allowed here."),
    409: ("conflict", "The request conflicts with the current state."),
    413: ("payload_too_large", "The request is too large."),
    415: ("unsupported_media_type", "Send JSON with Content-Type: application/json."),
    422: ("validation_error", ValidationError.message),
    429: ("rate_limited", RateLimited.message),
}


def envelope(code: str, message: str, status: int, fields: dict[str, list[str]] | None = None,
             **extra: Any) -> Response:
    """Build the error response every error uses."""
    body = {"error": {"code": code, "message": message, "fields": fields or {}, **extra}}
    response = jsonify(body)
    response.status_code = status
    return response


_PAGE_TITLES = {404: "This page isn’t here", 429: "Please wait a moment"}


def _wants_page() -> bool:
    """A browser opening a page (a direct booking link, a widget frame) gets a page, not JSON.
    The API under /api/ always answers with the envelope, whatever the Accept header says."""
    if request.path.startswith("/api/") or request.method not in ("GET", "HEAD"):
        return False
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


def error_response(code: str, message: str, status: int, fields: dict[str, list[str]] | None = None,
                   **extra: Any) -> Response:
    """The envelope, or for a person's browser on a page URL, the same message as a small HTML page."""
    if not _wants_page():
        return envelope(code, message, status, fields, **extra)
    title = _PAGE_TITLES.get(status, "Something went wrong" if status >= 500 else "This can’t be shown")
    response = Response(render_template("error.html", title=title, message=message, status=status,
                                        request_id=g.get("request_id")), status=status, mimetype="text/html")
    response.headers["Content-Security-Policy"] = "default-src 'self'; frame-ancestors *"
    return response


def flatten_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn marshmallow's nested messages into dotted paths (``client.email``)."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if key == "_schema":
                path = prefix or "_schema"
            for k, v in flatten_messages(value, path).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        out[prefix or "_schema"] = list(messages)
    elif isinstance(messages, list):
        for m in messages:
            for k, v in flatten_messages(m, prefix).items():
                out.setdefault(k, []).extend(v)
    else:
        out[prefix or "_schema"] = [str(messages)]
    return out


def http_error_response(error: HTTPException) -> Response:
    """Map any werkzeug/webargs HTTP error to the envelope."""
    status = error.code or 500
    if status == 422:
        messages = getattr(error, "data", {}).get("messages", {})
        # webargs nests by location ("json", "query"); the client only cares about the field.
        merged: dict[str, Any] = {}
        if isinstance(messages, dict):
            for loc_messages in messages.values():
                if isinstance(loc_messages, dict):
                    merged.update(loc_messages)
        fields = flatten_messages(merged)
        return error_response("validation_error", _summary(fields), 422, fields)
    code, message = _HTTP_CODES.get(status, ("http_error", error.description or "Request failed."))
    if status >= 500:
        code, message = "internal_error", "Something went wrong on our side. Please try again."
    response = error_response(code, message, status)
    # Only werkzeug's MethodNotAllowed (what routing raises for 405) knows the allowed methods.
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def _summary(fields: dict[str, list[str]]) -> str:
    if len(fields) == 1:
        (path, msgs), = fields.items()
        if path == "_schema":
            return msgs[0]
        return f"{path}: {msgs[0]}"
    return ValidationError.message


def register_error_handlers(app: Flask) -> None:
    """Every error leaves as the envelope; a 5xx never shows a traceback or SQL."""

    @app.errorhandler(DomainError)
    def _domain(error: DomainError) -> Response:
        message = error.message
        if isinstance(error, ValidationError) and error.fields and error.message == ValidationError.message:
            message = _summary(error.fields)
        return error_response(error.code, message, error.status, error.fields, **error.extra)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Response:
        return http_error_response(error)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        if database_unavailable(error):
            # An outage, not a bug: one line per request, not a traceback each (there may be hundreds).
            log.warning("database unavailable: %s", type(getattr(error, "orig", None) or error).__name__)
            response = error_response(ServiceUnavailable.code, ServiceUnavailable.message, 503)
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response
        log.exception("unhandled error")
        return error_response("internal_error", "Something went wrong on our side. Please try again.", 500)
