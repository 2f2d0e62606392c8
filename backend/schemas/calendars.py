"""Request and response schemas of the calendar sources API (API.md, "Busy times from the expert's own calendars")."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from backend.models import CalendarType
from backend.statuses import CalendarStatus


class CalendarCreate(Schema):
    type = fields.String(required=True, validate=validate.OneOf([t.value for t in CalendarType]))
    url = fields.Url(required=True, schemes={"http", "https", "webcal"}, require_tld=False,
                     validate=validate.Length(max=2000))
    username = fields.String(validate=validate.Length(max=320), load_default=None, allow_none=True)
    password = fields.String(validate=validate.Length(max=1000), load_default=None, allow_none=True,
                             load_only=True, metadata={"description": "Stored encrypted; never returned."})
    write_bookings = fields.Boolean(load_default=False,
                                    metadata={"description": "CalDAV only: write each booking to this calendar."})

    @validates_schema
    def _caldav_url(self, data: dict, **kwargs) -> None:
        if data.get("type") == CalendarType.CALDAV and str(data.get("url", "")).lower().startswith("webcal:"):
            raise ValidationError("A CalDAV calendar has an http or https address.", "url")


class CalendarOut(Schema):
    id = fields.String()
    type = fields.String(validate=validate.OneOf([t.value for t in CalendarType]))
    url = fields.String()
    username = fields.String(allow_none=True)
    write_bookings = fields.Boolean()
    status = fields.String(validate=validate.OneOf([s.value for s in CalendarStatus]))
    last_synced_at = fields.String(allow_none=True)
    last_error = fields.String(allow_none=True)
    created_at = fields.String()


class CalendarEnvelope(Schema):
    calendar = fields.Nested(CalendarOut)


class CalendarsEnvelope(Schema):
    calendars = fields.List(fields.Nested(CalendarOut))
