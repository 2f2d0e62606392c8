"""Fixtures: a fresh app per test on SQLite and, when reachable, on PostgreSQL.

Set KAIROS_REQUIRE_POSTGRES=1 (CI does) to fail instead of skipping when PostgreSQL is down.
"""
from __future__ import annotations

import os
import shutil
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests import pg

SQLITE_TEMPLATE: dict[str, Path] = {}


def _migrate(env: dict[str, str]) -> None:
    from flask_migrate import upgrade

    from backend.app import create_app
    app = create_app(env)
    with app.app_context():
        upgrade()
        from backend.extensions import db
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """One migrated SQLite file per test process; each test gets a copy (much faster than migrating)."""
    directory = tmp_path_factory.mktemp("sqlite-template")
    path = directory / "template.db"
    _migrate(base_env(directory, f"sqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A migrated PostgreSQL database of this test process, dropped at the end."""
    reason = pg.unreachable_reason()
    if reason:
        if os.environ.get("KAIROS_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required here but {reason}")
        pytest.skip(f"PostgreSQL tests skipped: {reason}")
    url = pg.create_database(f"kairos_test_{uuid.uuid4().hex[:10]}")
    _migrate(base_env(Path("/tmp"), url))
    yield url
    pg.drop_database(url)


def base_env(instance: Path, database_url: str, **extra: str) -> dict[str, str]:
    env = {
        "KAIROS_INSTANCE_DIR": str(instance),
        "KAIROS_DATABASE_URL": database_url,
        "KAIROS_SECRET_KEY": "test-secret-key-0123456789",
        "KAIROS_BASE_URL": "http://kairos.test",
    }
    env.update(extra)
    return env


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> str:
    """A fresh, migrated, empty database for one test."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "kairos.db"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_database")
    pg.truncate_all(url)
    return url


@pytest.fixture
def app_env() -> dict[str, str]:
    """Extra KAIROS_* settings of the ``app`` fixtures; a module or a parametrize overrides it.

    Empty, so tests run with the defaults, including refusing webhooks to private addresses
    (KAIROS_WEBHOOK_ALLOW_PRIVATE): tests/test_webhooks.py turns that on for its 127.0.0.1 receivers.
    """
    return {}


@pytest.fixture
def app(database_url: str, tmp_path, app_env):
    from backend.app import create_app
    app = create_app(base_env(tmp_path, database_url, **app_env))
    app.config["TESTING"] = True
    yield app
    from backend.extensions import db
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def expert(app) -> dict[str, Any]:
    """An expert in Europe/Paris with Mon–Fri 09:00–12:00 and 13:00–17:00 and a free 30-minute service."""
    from backend.extensions import db
    from backend.services import experts
    with app.app_context():
        found, token = experts.create_expert(db.session, "jane", email="jane@example.com", name="Jane Doe",
                                             timezone="Europe/Paris")
        db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    weekly = {d: [["09:00", "12:00"], ["13:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    response = client.put("/api/v1/admin/availability", headers=headers,
                          json={"timezone": "Europe/Paris", "weekly": weekly, "overrides": []})
    assert response.status_code == 200, response.get_json()
    response = client.post("/api/v1/admin/services", headers=headers, json={
        "slug": "intro-call", "name": "Intro call", "duration_minutes": 30, "slot_interval_minutes": 30,
        "location": {"type": "video", "url": "https://meet.example.com/jane"}, "max_advance_days": 90})
    assert response.status_code == 201, response.get_json()
    return {"slug": "jane", "token": token, "headers": headers}


def next_weekday(weekday: int, *, after: date | None = None, weeks: int = 1) -> date:
    """A date on ``weekday`` (0=Monday) at least a few days ahead, so notice rules never bite."""
    start = (after or date.today()) + timedelta(days=3)
    days = (weekday - start.weekday()) % 7
    return start + timedelta(days=days + 7 * (weeks - 1))
