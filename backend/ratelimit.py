"""Rate limits for the public write endpoints (booking, manage actions).

A fixed window per client address and bucket. With ``KAIROS_REDIS_URL`` the counters live in
Redis, shared by every worker and host; without it they live in the process (fine for one
process, which is what `make run` starts).
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import wraps
from typing import Protocol

from flask import current_app, request

from backend.errors import RateLimited


class Counter(Protocol):
    def hit(self, key: str, window: int) -> int: ...


class MemoryCounter:
    """Per-process counters; old windows are dropped as new ones start."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._window_of: dict[str, int] = {}

    def hit(self, key: str, window: int) -> int:
        now_window = int(time.time()) // window
        with self._lock:
            if self._window_of.get(key) != now_window:
                self._window_of[key] = now_window
                self._counts[key] = 0
            self._counts[key] += 1
            if len(self._counts) > 100_000:  # bound memory under a flood of addresses
                self._counts.clear()
                self._window_of.clear()
            return self._counts.get(key, 1)


class RedisCounter:
    """Counters shared by every process through Redis (INCR + EXPIRE in one round trip)."""

    def __init__(self, url: str) -> None:
        import redis
        self._redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    def hit(self, key: str, window: int) -> int:
        bucket = f"kairos:rl:{key}:{int(time.time()) // window}"
        pipe = self._redis.pipeline()
        pipe.incr(bucket)
        pipe.expire(bucket, window + 1)
        count, _ = pipe.execute()
        return int(count)


def init_app(app) -> None:
    settings = app.config["KAIROS"]
    app.extensions["kairos_ratelimit"] = RedisCounter(settings.redis_url) if settings.redis_url else MemoryCounter()


def limit(bucket: str, per_minute: int) -> Callable:
    """Allow ``per_minute`` requests a minute per client address to the decorated view, then 429."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            overrides = {**current_app.config["KAIROS"].rate_limits, **current_app.config.get("KAIROS_RATE_LIMITS", {})}
            limit_value = overrides.get(bucket, per_minute)
            if limit_value == 0:
                return view(*args, **kwargs)
            counter: Counter = current_app.extensions["kairos_ratelimit"]
            try:
                count = counter.hit(f"{bucket}:{request.remote_addr}", 60)
            except Exception:  # Redis down: serve rather than refuse every booking
                current_app.logger.warning("rate limiter unavailable", exc_info=True)
                count = 0
            if count > limit_value:
                raise RateLimited()
            return view(*args, **kwargs)

        return wrapped

    return decorator
