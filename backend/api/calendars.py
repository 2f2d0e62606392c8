"""The expert's calendar sources (bearer token): add, list, sync now, remove."""
from __future__ import annotations

from flask import current_app

from backend import worker
from backend.api.auth import current_expert, login_required
from backend.api.blueprint import Blueprint
from backend.calendars import sources
from backend.extensions import db
from backend.schemas.calendars import CalendarCreate, CalendarEnvelope, CalendarsEnvelope

blp = Blueprint("calendars", __name__, url_prefix="/api/v1/admin",
                description="The expert's own calendars: busy times and bookings written back (Bearer token)")


@blp.route("/calendars")
@login_required
@blp.response(200, CalendarsEnvelope)
def list_calendars():
    """The expert's calendar sources with their health."""
    return {"calendars": [sources.view(s) for s in sources.list_sources(db.session(), current_expert().id)]}


@blp.route("/calendars", methods=["POST"])
@login_required
@blp.arguments(CalendarCreate)
@blp.response(201, CalendarEnvelope)
def create_calendar(data: dict):
    """Add a CalDAV calendar or an ICS feed; the worker reads it within moments (``status`` ``pending`` until then).

    An address on a private or internal network is refused with a 422 unless
    ``KAIROS_CALENDAR_ALLOW_PRIVATE=1``; the address a name resolves to is checked again at every fetch.
    """
    settings = current_app.config["KAIROS"]
    source = sources.add_source(db.session(), current_expert(), data, secret_key=settings.secret_key,
                                allow_private=settings.calendar_allow_private)
    db.session.commit()
    return {"calendar": sources.view(source)}


@blp.route("/calendars/<calendar_id>", methods=["DELETE"])
@login_required
@blp.response(204)
def delete_calendar(calendar_id: str):
    """Remove a source: its busy times stop blocking at once."""
    sources.remove_source(db.session(), sources.get_source(db.session(), current_expert().id, calendar_id))
    db.session.commit()


@blp.route("/calendars/<calendar_id>/sync", methods=["POST"])
@login_required
@blp.response(200, CalendarEnvelope)
def sync_calendar(calendar_id: str):
    """Read the calendar now (also how to test a source): the answer carries its new health."""
    expert_id = current_expert().id
    source = sources.get_source(db.session(), expert_id, calendar_id)
    worker.sync_calendar(db.session(), current_app.config["KAIROS"], source.id)
    return {"calendar": sources.view(sources.get_source(db.session(), expert_id, calendar_id))}
