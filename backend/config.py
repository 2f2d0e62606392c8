"""Settings, read from ``KAIROS_*`` environment variables.

A bad value stops the start with a message that names the setting.
"""
from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse


class ConfigError(RuntimeError):
    """A setting has a value the app cannot run with."""


INSTANCE_DIR = Path(os.environ.get("KAIROS_INSTANCE_DIR", Path.cwd() / "instance"))


def _url(name: str, value: str, schemes: tuple[str, ...]) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in schemes or (parsed.scheme not in ("sqlite",) and not parsed.netloc):
        raise ConfigError(f"{name}={value!r} is not a valid URL (expected {' or '.join(s + '://' for s in schemes)}…)")
    return value


def _database_url(value: str) -> str:
    _url("KAIROS_DATABASE_URL", value, ("sqlite", "postgresql", "postgresql+psycopg", "postgres"))
    if value.startswith("postgres://") or value.startswith("postgresql://"):
        # psycopg 3 is the driver we ship; the bare scheme would look for psycopg2.
        value = "postgresql+psycopg://" + value.split("://", 1)[1]
    return value


@dataclass
class Settings:
    """Every setting the app reads, with working defaults for `make run`."""

    database_url: str
    secret_key: str
    base_url: str
    smtp_url: str | None
    stripe_secret_key: str | None
    stripe_publishable_key: str | None
    stripe_webhook_secret: str | None
    stripe_api_base: str | None
    stripe_js_url: str
    redis_url: str | None
    instance_dir: Path
    outbox_in_process: bool
    #: Deliver webhooks to loopback/private/link-local addresses too (development and tests only).
    webhook_allow_private: bool = False
    #: How many reverse proxies in front of the app set X-Forwarded-For/-Proto (0: trust none).
    trusted_proxies: int = 0
    #: Keys retired by a rotation: they still open what they signed (links, feeds, sessions), never sign.
    previous_secret_keys: tuple[str, ...] = ()
    rate_limits: dict[str, int] = field(default_factory=dict)
    #: Read (and write back to) calendar servers on loopback/private addresses too (own network, tests).
    calendar_allow_private: bool = False
    #: Minutes between two syncs of each calendar source by ``kairos worker``.
    calendar_sync_minutes: int = 10
    #: Seconds before the first retry of a failed email or webhook (then doubling, capped at 6 hours).
    outbox_retry_seconds: int = 60
    #: Seconds a worker holds a message it claimed before another worker may take it (longer than one delivery).
    outbox_lease_seconds: int = 300
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate the settings; raise ConfigError naming the bad one."""
        env = os.environ if env is None else env
        instance_dir = Path(env.get("KAIROS_INSTANCE_DIR", str(INSTANCE_DIR)))
        db = env.get("KAIROS_DATABASE_URL") or f"sqlite:///{instance_dir / 'kairos.db'}"
        base_url = env.get("KAIROS_BASE_URL", "http://127.0.0.1:5000").rstrip("/")
        _url("KAIROS_BASE_URL", base_url, ("http", "https"))
        smtp = env.get("KAIROS_SMTP_URL") or None
        if smtp:
            _url("KAIROS_SMTP_URL", smtp, ("smtp", "smtps"))
        redis_url = env.get("KAIROS_REDIS_URL") or None
        if redis_url:
            _url("KAIROS_REDIS_URL", redis_url, ("redis", "rediss"))
        api_base = env.get("KAIROS_STRIPE_API_BASE") or None
        if api_base:
            _url("KAIROS_STRIPE_API_BASE", api_base, ("http", "https"))
        js_url = env.get("KAIROS_STRIPE_JS_URL") or "https://js.stripe.com/v3/"
        _url("KAIROS_STRIPE_JS_URL", js_url, ("http", "https"))
        secret = env.get("KAIROS_SECRET_KEY")
        if secret is not None and len(secret) < 16:
            raise ConfigError("KAIROS_SECRET_KEY must be at least 16 characters long")
        stripe_secret = env.get("KAIROS_STRIPE_SECRET_KEY") or None
        webhook_secret = env.get("KAIROS_STRIPE_WEBHOOK_SECRET") or None
        if stripe_secret and not webhook_secret:
            raise ConfigError("KAIROS_STRIPE_WEBHOOK_SECRET is required when KAIROS_STRIPE_SECRET_KEY is set")
        return cls(
            rate_limits=_rate_limits(env.get("KAIROS_RATE_LIMITS", "")),
            database_url=_database_url(db),
            secret_key=secret or _dev_secret(instance_dir),
            base_url=base_url,
            smtp_url=smtp,
            stripe_secret_key=stripe_secret,
            stripe_publishable_key=env.get("KAIROS_STRIPE_PUBLISHABLE_KEY") or None,
            stripe_webhook_secret=webhook_secret,
            stripe_api_base=api_base,
            stripe_js_url=js_url,
            redis_url=redis_url,
            instance_dir=instance_dir,
            outbox_in_process=_flag(env, "KAIROS_OUTBOX_IN_PROCESS"),
            # Off unless asked for: on a shared host, expert webhooks must not reach the internal network.
            webhook_allow_private=_flag(env, "KAIROS_WEBHOOK_ALLOW_PRIVATE"),
            trusted_proxies=_count(env, "KAIROS_TRUSTED_PROXIES"),
            previous_secret_keys=_previous_keys(env.get("KAIROS_SECRET_KEY_PREVIOUS", "")),
            # A calendar server on the local network is allowed by its own setting or by the webhooks' one.
            calendar_allow_private=(_flag(env, "KAIROS_CALENDAR_ALLOW_PRIVATE")
                                    or _flag(env, "KAIROS_WEBHOOK_ALLOW_PRIVATE")),
            calendar_sync_minutes=_minutes(env, "KAIROS_CALENDAR_SYNC_MINUTES", 10),
            outbox_retry_seconds=_seconds(env, "KAIROS_OUTBOX_RETRY_SECONDS", 60, most=3600),
            # At least a minute more than the longest delivery (SMTP 30 s, webhooks 10 s) in production;
            # tests of a killed worker shorten it.
            outbox_lease_seconds=_seconds(env, "KAIROS_OUTBOX_LEASE_SECONDS", 300, most=3600),
        )


def _flag(env: Mapping[str, str], name: str, default: str = "0") -> bool:
    """A 0/1 setting; anything else stops the start rather than guessing what was meant."""
    value = env.get(name, default)
    if value not in ("0", "1"):
        raise ConfigError(f"{name} must be 0 or 1")
    return value == "1"


def _previous_keys(value: str) -> tuple[str, ...]:
    """``KAIROS_SECRET_KEY_PREVIOUS``: comma-separated keys from before a rotation, newest first."""
    keys = tuple(k.strip() for k in value.split(",") if k.strip())
    if any(len(k) < 16 for k in keys):
        raise ConfigError("KAIROS_SECRET_KEY_PREVIOUS: each key must be at least 16 characters long")
    return keys


def _count(env: Mapping[str, str], name: str) -> int:
    """A small non-negative whole number setting (0 when unset)."""
    value = env.get(name, "0").strip() or "0"
    if not value.isdigit() or int(value) > 10:
        raise ConfigError(f"{name} must be a whole number from 0 to 10")
    return int(value)


def _minutes(env: Mapping[str, str], name: str, default: int) -> int:
    """A whole number of minutes from 1 to 1440."""
    value = env.get(name, "").strip() or str(default)
    if not value.isdigit() or not 1 <= int(value) <= 1440:
        raise ConfigError(f"{name} must be a whole number of minutes from 1 to 1440")
    return int(value)


def _seconds(env: Mapping[str, str], name: str, default: int, *, most: int) -> int:
    """A whole number of seconds from 1 to ``most``."""
    value = env.get(name, "").strip() or str(default)
    if not value.isdigit() or not 1 <= int(value) <= most:
        raise ConfigError(f"{name} must be a whole number of seconds from 1 to {most}")
    return int(value)


def _dev_secret(instance_dir: Path) -> str:
    """A per-install secret kept under instance/, so sessions survive restarts in development."""
    path = instance_dir / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        instance_dir.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(48)
        path.write_text(value)
        return value


def _rate_limits(value: str) -> dict[str, int]:
    """``"booking=30,manage=60"`` -> per-minute limits per address; 0 turns a bucket off."""
    limits: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in value.split(","))):
        name, _, number = part.partition("=")
        if not name or not number.isdigit():
            raise ConfigError(f"KAIROS_RATE_LIMITS={value!r}: use bucket=number pairs, e.g. booking=30,manage=60")
        limits[name.strip()] = int(number)
    return limits
