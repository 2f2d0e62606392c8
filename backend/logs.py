"""JSON logs, one line per request, each with its request id."""
from __future__ import annotations

import logging
import sys
import time
import uuid

from flask import Flask, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.request_id = g.get("request_id")
        elif not hasattr(record, "request_id"):  # given as ``extra`` by the slots lane (outside Flask)
            record.request_id = None
        return True


def configure_logging(level: str = "INFO") -> None:
    """Send every ``kairos.*`` log to stderr as JSON (idempotent)."""
    logger = logging.getLogger("kairos")
    if any(getattr(h, "_kairos", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler._kairos = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                                       rename_fields={"asctime": "time", "levelname": "level"}))
    handler.addFilter(RequestIdFilter())
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False


def request_id(incoming: str) -> str:
    """The caller's X-Request-ID when it is short and printable, else a new one."""
    return incoming if 0 < len(incoming) <= 100 and incoming.isprintable() else uuid.uuid4().hex


def init_app(app: Flask) -> None:
    """Give each request an id (or keep the caller's X-Request-ID) and log it when it ends."""
    log = logging.getLogger("kairos.request")

    @app.before_request
    def _start() -> None:
        g.request_id = request_id(request.headers.get("X-Request-ID", ""))
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        if request.path.startswith(("/widget-assets/", "/assets/")):
            return response
        log.info("request", extra={
            "method": request.method, "path": request.path, "status": response.status_code,
            "duration_ms": round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 2),
        })
        return response
