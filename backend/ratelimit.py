"""Rate limits for the public write endpoints (booking, manage actions, sign-in, feeds), with Flask-Limiter.

A fixed window of a minute per client address and bucket (every endpoint of a bucket shares its
counter). With ``KAIROS_REDIS_URL`` the counters live in Redis, shared by every worker and host;
without it they live in the process (fine for one process, which is what `make run` starts). If
Redis stops answering, the limits go on in memory (per process) until it is back: an outage never
means no limit. A refused request is a 429 ``rate_limited`` in the one error envelope, with
``Retry-After``.

``KAIROS_RATE_LIMITS`` (``bucket=number``; 0 turns a bucket off) overrides the numbers below, read
at each request so a test may change them on a running app (``app.config["KAIROS_RATE_LIMITS"]``).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, request
from flask_limiter import Limiter

#: The app's limiter (one Flask extension object, like ``extensions.db``); ``init_app`` gives it the
#: storage of the app being created.
limiter = Limiter(
    key_func=lambda: request.remote_addr or "unknown",  # the client, as ProxyFix resolved it behind trusted proxies
    strategy="fixed-window",
    headers_enabled=True,  # Retry-After on a 429 (and X-RateLimit-* on limited answers)
    in_memory_fallback_enabled=True,  # Redis down: keep limiting, in memory
    key_prefix="kairos:rl",
)


def init_app(app: Flask) -> None:
    """Count in Redis when ``KAIROS_REDIS_URL`` is set, else in this process."""
    settings = app.config["KAIROS"]
    app.config["RATELIMIT_STORAGE_URI"] = settings.redis_url or "memory://"
    if settings.redis_url:
        # A slow Redis must not slow every booking: give up fast and fall back to memory.
        app.config["RATELIMIT_STORAGE_OPTIONS"] = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5}
    limiter.init_app(app)


def _allowed(bucket: str, per_minute: int) -> int:
    """Requests a minute allowed in ``bucket`` now: the setting or the test override, else the default."""
    overrides = {**current_app.config["KAIROS"].rate_limits, **current_app.config.get("KAIROS_RATE_LIMITS", {})}
    return int(overrides.get(bucket, per_minute))


def limit(bucket: str, per_minute: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Allow ``per_minute`` requests a minute per client address to the views of ``bucket``, then 429."""
    return limiter.shared_limit(lambda: f"{_allowed(bucket, per_minute)}/minute", scope=bucket,
                                exempt_when=lambda: _allowed(bucket, per_minute) == 0)


def limit_by(bucket: str, per_minute: int, key: Callable[[], str]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Like ``limit``, counted per ``key()`` (an email, say) instead of per client address."""
    return limiter.shared_limit(lambda: f"{_allowed(bucket, per_minute)}/minute", scope=bucket, key_func=key,
                                exempt_when=lambda: _allowed(bucket, per_minute) == 0)
