"""PostgreSQL helpers for tests: reachability, throwaway databases."""
from __future__ import annotations

import os
from urllib.parse import urlparse, urlunparse

ADMIN_URL = os.environ.get("KAIROS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _connect(url: str, **kwargs):
    import psycopg
    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3, **kwargs)


def connect(url: str, **kwargs):
    """A psycopg connection to ``url`` (an app's ``postgresql+psycopg://`` URL too)."""
    return _connect(url, **kwargs)


def unreachable_reason() -> str | None:
    """Why PostgreSQL cannot be used (None when it can)."""
    try:
        with _connect(ADMIN_URL) as conn:
            conn.execute("select 1")
    except Exception as error:  # any failure means: not here
        return f"cannot connect to {ADMIN_URL}: {str(error).strip().splitlines()[0]}"
    return None


def create_database(name: str) -> str:
    with _connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parsed = urlparse(ADMIN_URL)
    return urlunparse(parsed._replace(scheme="postgresql+psycopg", path=f"/{name}"))


def drop_database(url: str) -> None:
    name = urlparse(url).path.lstrip("/")
    with _connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def truncate_all(url: str) -> None:
    """Empty every table but Alembic's, so each test starts from a migrated, empty database."""
    with _connect(url, autocommit=True) as conn:
        tables = [r[0] for r in conn.execute(
            "select tablename from pg_tables where schemaname = 'public' and tablename <> 'alembic_version'")]
        if tables:
            conn.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
