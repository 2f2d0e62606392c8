"""The expert's calendars (Settings → Calendars): the same services and request schema as
/api/v1/admin/calendars — connect (and read at once), read now, remove — with each source's health."""
from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError as SchemaError

from backend import worker
from backend.calendars import sources
from backend.dashboard import auth
from backend.dashboard.common import Form, act, page, save
from backend.dashboard.routes import bp
from backend.extensions import db
from backend.schemas.calendars import CalendarCreate
from backend.statuses import CalendarStatus

#: What each status means to the expert, in the list.
STATUS_TEXT = {CalendarStatus.PENDING: "Not read yet", CalendarStatus.OK: "Up to date",
               CalendarStatus.FAILING: "Cannot be read"}


def _page(values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
          status: int = 200) -> ResponseReturnValue:
    rows = sources.list_sources(db.session(), auth.current_expert().id)
    return page("dashboard/calendars.html", "dashboard.settings", status, calendars=rows, status_text=STATUS_TEXT,
                values=values or {"type": "caldav"}, errors=errors or {})


@bp.get("/calendars")
@auth.login_required
def calendars() -> ResponseReturnValue:
    """The expert's calendars, their health, and the form to connect another."""
    return _page()


@bp.post("/calendars")
@auth.login_required
def add_calendar() -> ResponseReturnValue:
    """Connect a calendar and read it at once, so the expert sees whether it works."""
    form = request.form
    values = {"type": form.get("type", ""), "url": form.get("url", "").strip(),
              "username": form.get("username", "").strip(), "write_bookings": form.get("write_bookings") == "on"}
    data = {key: value for key, value in values.items() if value not in ("", None)}
    if form.get("password"):
        data["password"] = form["password"]
    settings = current_app.config["KAIROS"]
    try:
        loaded = CalendarCreate().load(data)
    except SchemaError as error:
        messages = error.messages if isinstance(error.messages, dict) else {"url": error.messages}
        return _page(values, {k: " ".join(v) if isinstance(v, list) else str(v) for k, v in messages.items()}, 422)
    form_state = Form(values=values)
    source = save(form_state, lambda: sources.add_source(
        db.session(), auth.current_expert(), loaded, secret_key=settings.secret_key,
        allow_private=settings.calendar_allow_private))
    if source is None:  # refused by the service (an address the SSRF guard keeps out, …): nothing kept
        errors = dict(form_state.errors)
        if "form" in errors:  # a message about the calendar as a whole belongs beside its address
            errors["url"] = errors.pop("form")
        return _page(values, errors, 422)
    worker.sync_calendar(db.session(), settings, source.id)
    _flash_health(source.id, "Calendar connected.")
    return redirect(url_for("dashboard.calendars"))


@bp.post("/calendars/<calendar_id>/sync")
@auth.login_required
def sync_calendar(calendar_id: str) -> ResponseReturnValue:
    """Read a calendar now (also how to test it after fixing its address or password on the server)."""
    source = sources.get_source(db.session(), auth.current_expert().id, calendar_id)
    worker.sync_calendar(db.session(), current_app.config["KAIROS"], source.id)
    _flash_health(source.id, "Calendar read again.")
    return redirect(url_for("dashboard.calendars"))


@bp.post("/calendars/<calendar_id>/remove")
@auth.login_required
def remove_calendar(calendar_id: str) -> ResponseReturnValue:
    """Disconnect a calendar: its busy times stop blocking at once."""
    source = sources.get_source(db.session(), auth.current_expert().id, calendar_id)
    return act(lambda: sources.remove_source(db.session(), source),
               "Calendar removed. Its events no longer block your time.", url_for("dashboard.calendars"))


def _flash_health(calendar_id: str, done: str) -> None:
    source = sources.get_source(db.session(), auth.current_expert().id, calendar_id)
    if source.status == CalendarStatus.FAILING:
        flash(f"{done} It cannot be read yet: {source.last_error}", "error")
    else:
        flash(f"{done} Its busy times now block your availability.", "success")
