"""Health for whoever runs Kairos: a load balancer, a container orchestrator, a person on call.

``/healthz`` says whether this process can serve bookings: the database answers and its schema is
the one this code expects (a deploy that forgot ``kairos migrate`` is not ready). It also reports
the outbox backlog, which is how a stopped ``kairos worker`` shows itself before clients notice
missing emails, and how a mail server or webhook receiver that is down shows itself (``pending``,
``retrying``: messages waiting for their next try are not due); a backlog alone does not make the
process unready. ``calendars.failing`` counts the
experts' calendar sources whose last sync failed.
"""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from backend.calendars import sync as calendar_sync
from backend.extensions import db
from backend.models import OutboxMessage
from backend.statuses import OutboxStatus
from backend.types import utcnow

bp = Blueprint("health", __name__)


@lru_cache(maxsize=1)
def _head_revision(directory: str) -> str | None:
    config = Config()
    config.set_main_option("script_location", directory)
    return ScriptDirectory.from_config(config).get_current_head()


def check() -> tuple[bool, dict[str, Any]]:
    """(ready, report) for this process and its database."""
    report: dict[str, Any] = {}
    try:
        ready = _check_database(report)
    except SQLAlchemyError as error:
        # Down, restarting, or gone between two of the queries: unready, and the counts are unknown.
        report.clear()
        report["database"] = f"unreachable: {type(error.__cause__ or error).__name__}"
        return False, report
    return ready, report


def _check_database(report: dict[str, Any]) -> bool:
    """Fill ``report`` from the database; raises SQLAlchemyError when it cannot be reached."""
    with db.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
        current = MigrationContext.configure(connection).get_current_revision()
    report["database"] = "ok"
    head = _head_revision(current_app.extensions["migrate"].directory)
    report["migrations"] = "current" if current == head else f"at {current}, code expects {head}: run kairos migrate"
    if current != head:
        return False
    report["outbox"] = _outbox_backlog(utcnow())
    # Failing calendars keep their last busy times, so they do not make the process unready.
    report["calendars"] = {"failing": calendar_sync.failing_count(db.session())}
    return True


def _outbox_backlog(now: datetime) -> dict[str, int]:
    """The undelivered outbox in one read: one aggregate over its pending and parked messages."""
    pending = OutboxMessage.status == OutboxStatus.PENDING
    due = pending & (OutboxMessage.next_attempt_at <= now)
    # ``due`` alone would read 0 while SMTP is down: failed messages wait for their next try in the
    # future. ``pending`` counts everything not yet delivered, ``retrying`` those that failed at least once.
    due_count, oldest_due, parked, pending_count, retrying, first_written = db.session.execute(select(
        func.count().filter(due), func.min(OutboxMessage.next_attempt_at).filter(due),
        func.count().filter(OutboxMessage.status == OutboxStatus.PARKED),
        func.count().filter(pending), func.count(OutboxMessage.last_error).filter(pending),
        func.min(OutboxMessage.created_at).filter(pending),
    ).where(OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.PARKED)))).one()
    return {"due": due_count, "parked": parked,
            "oldest_due_seconds": int((now - oldest_due).total_seconds()) if oldest_due else 0,
            "pending": pending_count, "retrying": retrying,
            "oldest_pending_seconds": int((now - first_written).total_seconds()) if first_written else 0}


@bp.get("/healthz")
def healthz() -> Response:
    ready, report = check()
    response = jsonify({"status": "ok" if ready else "unavailable", **report})
    response.status_code = 200 if ready else 503
    response.headers["Cache-Control"] = "no-store"
    return response
