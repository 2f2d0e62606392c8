"""Where computed slots answers are kept between requests: Redis when ``KAIROS_REDIS_URL`` is set
(shared by every worker and host), this process's memory otherwise.

The store knows nothing of slots: an ``Entry`` is an answer's bytes with the instant it stops being
true. Keys carry everything that decides the answer (``services/slot_answers.py``), so any worker
may serve any entry. If Redis stops answering, the store keeps entries in memory and tries Redis
again a few seconds later: an outage costs speed, never an error (as the rate limits do).
"""
from __future__ import annotations

import hashlib
import logging
import struct
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

import redis
from flask import Flask, current_app

log = logging.getLogger("kairos.slot_cache")


@dataclass(frozen=True)
class Entry:
    """One cached answer: JSON bytes (and their gzip), a validator, and when it stops being true."""

    body: bytes
    gzipped: bytes | None
    etag: str
    valid_until: float  # epoch seconds

    def fresh(self, now: float) -> bool:
        return now < self.valid_until


class Store(Protocol):
    def get(self, key: str) -> Entry | None: ...

    def put(self, key: str, entry: Entry, ttl: float) -> None: ...


class MemoryStore:
    """Entries of this process, least recently used dropped first (entries live a minute at most)."""

    def __init__(self, max_entries: int = 1024) -> None:
        self.max_entries = max_entries
        self._items: OrderedDict[str, Entry] = OrderedDict()
        self._lock = threading.Lock()  # the dev server and tests serve from threads

    def get(self, key: str) -> Entry | None:
        with self._lock:
            entry = self._items.get(key)
            if entry is not None:
                self._items.move_to_end(key)
            return entry

    def put(self, key: str, entry: Entry, ttl: float) -> None:
        with self._lock:
            self._items[key] = entry
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)


_HEADER = struct.Struct("!dII")  # valid_until, len(body), len(gzipped); then etag (ASCII)


def _pack(entry: Entry) -> bytes:
    gz = entry.gzipped or b""
    return _HEADER.pack(entry.valid_until, len(entry.body), len(gz)) + entry.body + gz + entry.etag.encode()


def _unpack(raw: bytes) -> Entry:
    valid_until, n_body, n_gz = _HEADER.unpack_from(raw)
    at = _HEADER.size
    body, gz = raw[at:at + n_body], raw[at + n_body:at + n_body + n_gz]
    return Entry(body, gz or None, raw[at + n_body + n_gz:].decode(), valid_until)


class RedisStore:
    """Entries in Redis, expiring with their answer; in memory while Redis is unreachable."""

    #: Seconds to leave Redis alone after a failure (each try may cost the socket timeout).
    RETRY_AFTER = 5.0

    def __init__(self, url: str) -> None:
        # A slow Redis must not slow every page view: give up fast and compute instead.
        self._redis = redis.Redis.from_url(url, socket_timeout=0.25, socket_connect_timeout=0.25)
        self._fallback = MemoryStore()
        self._down_until = 0.0

    def _up(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, error: Exception) -> None:
        if self._up():
            log.warning("slots cache: Redis unavailable, using this process's memory", extra={"error": str(error)})
        self._down_until = time.monotonic() + self.RETRY_AFTER

    def get(self, key: str) -> Entry | None:
        if self._up():
            try:
                raw = self._redis.get(key)
                return _unpack(raw) if isinstance(raw, bytes) else None
            except (redis.RedisError, OSError, struct.error, UnicodeDecodeError) as error:
                self._failed(error)
        return self._fallback.get(key)

    def put(self, key: str, entry: Entry, ttl: float) -> None:
        if self._up():
            try:
                self._redis.set(key, _pack(entry), px=max(1, int(ttl * 1000)))
                return
            except (redis.RedisError, OSError) as error:
                self._failed(error)
        self._fallback.put(key, entry, ttl)


def make_store(redis_url: str | None) -> Store:
    """The store for these settings: Redis when a URL is given, else memory."""
    return RedisStore(redis_url) if redis_url else MemoryStore()


def init_app(app: Flask) -> None:
    """Give the app its store, and a namespace for its database (one Redis may serve several)."""
    settings = app.config["KAIROS"]
    namespace = hashlib.sha256(settings.database_url.encode()).hexdigest()[:12]
    app.extensions["kairos_slot_cache"] = (make_store(settings.redis_url), namespace)


def current() -> tuple[Store, str]:
    """The running app's store and namespace."""
    return current_app.extensions["kairos_slot_cache"]
