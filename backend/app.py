"""The application factory."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider
from jinja2 import ChoiceLoader, FileSystemLoader
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from backend import (
    change_counter,  # noqa: F401 (imported for its session hooks, registered on import)
    dashboard,
    input_guard,
    logs,
    ratelimit,
    slot_cache,
)
from backend.api import (
    admin,
    api,
    calendars,
    client_auth,
    collections,
    health,
    manage,
    notifications,
    package_plans,
    pages,
    payments,
    promotions,
    public,
    slots_lane,
)
from backend.api.pages import WIDGET_DIR
from backend.config import Settings
from backend.errors import register_error_handlers
from backend.extensions import cors, db, migrate
from backend.worker import start_background_worker

MIGRATIONS_DIR = str(Path(__file__).resolve().parent / "migrations")


def _end_session(_error: BaseException | None) -> None:
    """Give the request's connection back; one the database cut is dropped, not raised.

    Closing the session rolls back, and a rollback on a connection the server closed (a restart or a
    failover between the request's last query and its end) raises: from a teardown that would replace
    the answer already made (a 200, or the 503 of the one envelope) with a bare 500, and leave the broken
    session to the thread's next request. Invalidating closes it without a rollback; the pool replaces
    the connection.
    """
    try:
        db.session.remove()
    except SQLAlchemyError as error:
        logging.getLogger("kairos.errors").warning("connection lost at the end of a request: %s",
                                                   type(error.orig or error).__name__
                                                   if isinstance(error, DBAPIError) else type(error).__name__)
        db.session().invalidate()
        db.session.remove()


def create_app(config: Mapping[str, Any] | Settings | None = None) -> Flask:
    """Build the app. ``config`` may be Settings, a mapping of KAIROS_* variables, or None (the environment)."""
    if isinstance(config, Settings):
        settings = config
    else:
        settings = Settings.from_env(config)
    logs.configure_logging()

    app = Flask(__name__, instance_path=str(settings.instance_dir))
    app.config.update(
        KAIROS=settings,
        SECRET_KEY=settings.secret_key,
        SECRET_KEY_FALLBACKS=list(settings.previous_secret_keys),  # dashboard sessions survive a rotation
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings.database_url),
        JSON_SORT_KEYS=False,
        MAX_CONTENT_LENGTH=256 * 1024,
        API_TITLE="Kairos",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
    )
    # sort_keys belongs to Flask's default provider, the one every Flask app starts with.
    assert isinstance(app.json, DefaultJSONProvider)
    app.json.sort_keys = False
    if settings.trusted_proxies:
        # Behind a load balancer every request comes from its address: rate limits and logs need the
        # client's, taken from X-Forwarded-For, but only from the proxies we were told to trust
        # (otherwise anyone could claim any address in that header).
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies,  # type: ignore[method-assign]
                                x_proto=settings.trusted_proxies)
    if settings.database_url.startswith("sqlite"):
        settings.instance_dir.mkdir(parents=True, exist_ok=True)

    app.jinja_loader = ChoiceLoader([
        FileSystemLoader(str(Path(__file__).resolve().parent / "templates")),
        FileSystemLoader(str(WIDGET_DIR)),
    ])

    db.init_app(app)
    # Registered after Flask-SQLAlchemy's, so it runs first (teardowns run in reverse order).
    app.teardown_appcontext(_end_session)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    # The public API is read by experts' own scripts too; the expert API uses bearer tokens, not cookies.
    cors.init_app(app, resources={r"/api/v1/*": {"origins": "*"}}, expose_headers=["X-Request-ID"])
    logs.init_app(app)
    ratelimit.init_app(app)
    slot_cache.init_app(app)
    input_guard.init_app(app)

    api.init_app(app)
    api.register_blueprint(public.blp)
    api.register_blueprint(client_auth.blp)
    api.register_blueprint(package_plans.blp)
    api.register_blueprint(collections.blp)
    api.register_blueprint(admin.blp)
    api.register_blueprint(manage.blp)
    api.register_blueprint(payments.blp)
    api.register_blueprint(notifications.blp)
    api.register_blueprint(calendars.blp)
    api.register_blueprint(promotions.blp)
    app.register_blueprint(notifications.feed_bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(health.bp)
    dashboard.init_app(app)
    register_error_handlers(app)

    if settings.outbox_in_process:
        # For a gunicorn deployment that wants no separate `kairos worker` (each worker process delivers).
        start_background_worker(app)

    # Outermost: a cached slots answer of a public service is served before Flask (see slots_lane.py).
    app.wsgi_app = slots_lane.SlotsLane(app, app.wsgi_app)  # type: ignore[method-assign]

    @app.after_request
    def _compress_api(response):
        # The widget's first screen is measured on the wire: JSON shrinks about 5x with gzip.
        if request.path.startswith("/api/") and response.mimetype == "application/json":
            return pages.compress(response)
        return response

    return app


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        # A writer waits for the lock instead of failing at once; the booking lock relies on it.
        return {"connect_args": {"timeout": 30, "check_same_thread": False}}
    return {"pool_pre_ping": True, "pool_size": 5, "max_overflow": 5}


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """WAL lets readers work while one writer books; foreign keys are off by default in SQLite."""
    module = type(dbapi_connection).__module__
    if "sqlite" not in module:
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
