"""A cached slots answer over HTTP: its headers, and the lane that serves it before Flask.

``representation`` is the one place that turns a cached answer into status, headers and body (the
``ETag``, ``If-None-Match`` → 304, ``Cache-Control``, gzip); the route ``public.get_slots`` and the lane
both use it.

``SlotsLane`` wraps the WSGI app. A page view asking for slots the route has already computed (the
same expert counter, service, dates, zone and minute) is answered from the cache with one statement
(``slot_answers.read_head``) and none of Flask's per-request work, which costs several times that
statement. The lane decides nothing itself: it answers only a ``GET`` it can read exactly (slugs,
``YYYY-MM-DD`` dates, a zone, ``include_full`` as the widget sends it, nothing else) for a **public**
service whose answer is already cached and fresh; for anything else, a miss, a clients-only service or
an error, it hands the request to Flask, which validates, checks access, computes and fills the cache.
Since the route stores an answer only for values it accepted, a hit is an answer the route gave.
It writes what Flask's hooks add to the route's answer: the request id and its log line
(``logs.py``) and the CORS headers of ``/api/v1/*`` (``app.py``); a test compares the two doors' headers.
"""
from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.http import parse_etags

from backend import logs
from backend.extensions import db
from backend.services import slot_answers
from backend.slot_cache import Entry
from backend.types import utcnow

log = logging.getLogger("kairos.request")

PATH = re.compile(r"/api/v1/experts/([a-z0-9-]{1,64})/services/([a-z0-9-]{1,64})/slots")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
FLAGS = {"true": True, "1": True, "false": False, "0": False}


def representation(entry: Entry, *, shared: bool, accept_encoding: str,
                   if_none_match: str | None) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body of a cached answer: 304 when the client holds it, gzip when it takes it.

    ``no-cache``: a browser may keep the answer but asks again every time, so a slot is never shown
    from a stale copy; ``private`` when it needs a client's sign-in, so no shared cache keeps it.
    """
    headers = [("ETag", entry.etag), ("Cache-Control", "no-cache" if shared else "private, no-cache"),
               ("Vary", "Accept-Encoding")]
    if if_none_match and parse_etags(if_none_match).contains_weak(entry.etag[3:-1]):
        return 304, headers, b""
    gzipped = entry.gzipped if entry.gzipped and "gzip" in accept_encoding else None
    if gzipped:
        headers.append(("Content-Encoding", "gzip"))
    return 200, [("Content-Type", "application/json"), *headers], gzipped or entry.body


def _query(raw: str) -> tuple[str, str, str, bool] | None:
    """start, end, timezone, include_full when the query string holds exactly these, plainly written."""
    pairs = parse_qsl(raw, keep_blank_values=True)
    found = dict(pairs)
    if len(found) != len(pairs) or not {"start", "end", "timezone"} <= found.keys() <= {
            "start", "end", "timezone", "include_full"}:
        return None
    include_full = FLAGS.get(found.get("include_full", "false"))
    if include_full is None or not DATE.fullmatch(found["start"]) or not DATE.fullmatch(found["end"]):
        return None
    return found["start"], found["end"], found["timezone"], include_full


#: Where a lane that missed leaves the head it read, for the route (``public.slots_head``) to reuse.
HEAD_KEY = "kairos.slots_head"


class SlotsLane:
    """WSGI middleware: a cached answer of a public service's slots, served before Flask."""

    def __init__(self, app: Flask, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.wsgi_app = wsgi_app
        with app.app_context():
            self.engine = db.engine
        self.store, self.namespace = app.extensions["kairos_slot_cache"]

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "GET":
            match = PATH.fullmatch(environ.get("PATH_INFO", ""))
            if match:
                served = self._serve(environ, start_response, match.group(1), match.group(2))
                if served is not None:
                    return served
        return self.wsgi_app(environ, start_response)

    def _serve(self, environ: dict[str, Any], start_response: Callable[..., Any], expert: str,
               service: str) -> list[bytes] | None:
        started = time.perf_counter()
        query = _query(environ.get("QUERY_STRING", ""))
        if query is None:
            return None
        try:
            found = slot_answers.read_head(self.engine, expert, service)
        except SQLAlchemyError:
            return None  # Flask answers with the error envelope
        if found is None or not found.public:
            return None
        now = utcnow()
        entry = self.store.get(slot_answers.cache_key(self.namespace, found, *query, now))
        if entry is None or not entry.fresh(now.timestamp()):
            environ[HEAD_KEY] = found  # Flask computes the answer from this head: no second read of it
            return None
        status, headers, body = representation(entry, shared=True,
                                               accept_encoding=environ.get("HTTP_ACCEPT_ENCODING", ""),
                                               if_none_match=environ.get("HTTP_IF_NONE_MATCH"))
        request_id = logs.request_id(environ.get("HTTP_X_REQUEST_ID", ""))
        if status == 200:
            headers.append(("Content-Length", str(len(body))))
        headers.append(("X-Request-ID", request_id))
        origin = environ.get("HTTP_ORIGIN")  # as flask-cors answers for /api/v1/* (origins "*")
        headers += [("Access-Control-Allow-Origin", origin or "*"), ("Access-Control-Expose-Headers", "X-Request-ID")]
        if origin:
            headers.append(("Vary", "Origin"))
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        log.info("request", extra={"method": "GET", "path": environ["PATH_INFO"], "status": status,
                                   "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                                   "request_id": request_id})
        return [body]
