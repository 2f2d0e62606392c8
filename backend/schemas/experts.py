"""The expert API: profile, services, availability, scheduled sessions, clients and leads."""
from __future__ import annotations

from urllib.parse import urlparse

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates, validates_schema

from backend.models import PAYMENT_OPTIONS, PHONE_MODES, SERVICE_KINDS, VISIBILITIES
from backend.schemas.common import (
    SLUG_RE,
    WEEKDAYS,
    ClientRef,
    Day,
    Instant,
    Intervals,
    Line,
    LocationSchema,
    Money,
    QuestionSchema,
    Text,
    TimeZone,
    parse_hhmm,
)
from backend.statuses import LeadStatus, values


def _origin(value: str) -> None:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.path not in ("", "/") \
            or parsed.query or parsed.fragment:
        raise ValidationError("Give an origin such as https://www.example.com (scheme and host, no path).")


class ProfileSchema(Schema):
    slug = fields.String(dump_only=True)
    name = Line(validate=validate.Length(min=1, max=200))
    email = fields.Email()
    bio = Text(validate=validate.Length(max=5000))
    avatar_url = fields.Url(allow_none=True, schemes={"http", "https"})
    timezone = TimeZone()
    brand_color = fields.String(allow_none=True, validate=validate.Regexp(r"^#[0-9a-fA-F]{6}$", error="Use a colour like #1a73e8."))
    locale = fields.String(allow_none=True, validate=validate.OneOf(("en", "fr")))
    notification_email = fields.Email(allow_none=True)
    allowed_origins = fields.List(fields.String(validate=_origin))

    @post_load
    def _normalise(self, data: dict, **kwargs) -> dict:
        if "allowed_origins" in data:
            data["allowed_origins"] = sorted({o.rstrip("/").lower() for o in data["allowed_origins"]})
        return data


class PolicySchema(Schema):
    client_can_cancel = fields.Boolean(load_default=True)
    client_can_reschedule = fields.Boolean(load_default=True)
    cutoff_hours = fields.Integer(load_default=24, validate=validate.Range(min=0, max=24 * 365))
    refund = fields.String(load_default="full", validate=validate.OneOf(("full", "none")))


class ServiceSchema(Schema):
    """A service as the expert sees and edits it."""

    slug = fields.String(required=True, validate=validate.Regexp(SLUG_RE, error="Use lowercase letters, digits and dashes."))
    name = Line(required=True, validate=validate.Length(min=1, max=200))
    description = Text(validate=validate.Length(max=5000))
    kind = fields.String(validate=validate.OneOf(SERVICE_KINDS))
    duration_minutes = fields.Integer(required=True, strict=True, validate=validate.Range(min=5, max=24 * 60))
    price = fields.Nested(Money, allow_none=True)
    deposit = fields.Nested(Money, allow_none=True, metadata={
        "description": "Paid online when booking; the rest is due as the expert says (outside, or by card later)"})
    payment_options = fields.List(fields.String(validate=validate.OneOf(PAYMENT_OPTIONS)))
    outside_payment_instructions = Text(validate=validate.Length(max=5000))
    location = fields.Nested(LocationSchema)
    visibility = fields.String(validate=validate.OneOf(VISIBILITIES))
    capacity = fields.Integer(strict=True, validate=validate.Range(min=1, max=10_000))
    min_notice_minutes = fields.Integer(strict=True, validate=validate.Range(min=0, max=60 * 24 * 365))
    max_advance_days = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=730))
    buffer_before_minutes = fields.Integer(strict=True, validate=validate.Range(min=0, max=240))
    buffer_after_minutes = fields.Integer(strict=True, validate=validate.Range(min=0, max=240))
    slot_interval_minutes = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=5, max=24 * 60))
    daily_limit = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=1000))
    hold_minutes = fields.Integer(strict=True, validate=validate.Range(min=1, max=24 * 60))
    policy = fields.Nested(PolicySchema)
    confirmation_note = Text(validate=validate.Length(max=5000))
    outside_payment_status = fields.String(validate=validate.OneOf(("confirmed", "pending")),
                                           metadata={"description": "What a booking paid outside Kairos starts as"})
    reminder_hours = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=24 * 14))
    phone = fields.String(validate=validate.OneOf(PHONE_MODES))
    message = fields.Boolean()
    questions = fields.List(fields.Nested(QuestionSchema))
    position = fields.Integer(strict=True)

    @validates_schema
    def _payment(self, data: dict, partial=None, **kwargs) -> None:
        options = data.get("payment_options")
        if options and len(set(options)) != len(options):
            raise ValidationError("Each payment option once.", "payment_options")
        if options and ("online" in options or "outside" in options) and data.get("price", 0) is None:
            raise ValidationError("A paid option needs a price.", "price")


class ServiceEnvelope(Schema):
    service = fields.Nested(ServiceSchema)


class ServicesEnvelope(Schema):
    services = fields.List(fields.Nested(ServiceSchema))


class OverrideSchema(Schema):
    date = Day(required=True)
    intervals = Intervals(required=True)


class AvailabilitySchema(Schema):
    timezone = TimeZone(required=True)
    weekly = fields.Dict(keys=fields.String(validate=validate.OneOf(WEEKDAYS)), values=Intervals(), required=True)
    overrides = fields.List(fields.Nested(OverrideSchema), load_default=list)

    @validates("overrides")
    def _unique_dates(self, value: list, **kwargs) -> None:
        dates = [o["date"] for o in value if "date" in o]  # an override without a date is already an error
        if len(dates) != len(set(dates)):
            raise ValidationError("Each date at most once.")


class SessionCreate(Schema):
    start = Instant(required=True)
    end = Instant(required=True)
    capacity = fields.Integer(strict=True, validate=validate.Range(min=1, max=10_000))
    location = fields.Nested(LocationSchema, allow_none=True)

    @validates_schema
    def _order(self, data: dict, **kwargs) -> None:
        if "start" in data and "end" in data and data["end"] <= data["start"]:
            raise ValidationError("The end must be after the start.", "end")


class SessionOut(Schema):
    id = fields.String()
    start = fields.String()
    end = fields.String()
    capacity = fields.Integer()
    seats_left = fields.Integer()
    location = fields.Nested(LocationSchema, allow_none=True)


class SessionEnvelope(Schema):
    session = fields.Nested(SessionOut)


class ClientOut(Schema):
    id = fields.Integer()
    name = fields.String()
    email = fields.String()
    phone = fields.String(allow_none=True)
    created_at = fields.String()


class ClientsEnvelope(Schema):
    clients = fields.List(fields.Nested(ClientOut))
    next_cursor = fields.String(allow_none=True, metadata={"description": "Pass as ?cursor= for the next page"})


class LeadServiceRef(Schema):
    slug = fields.String(required=True)
    name = fields.String(required=True)


class LeadOut(Schema):
    id = fields.String()
    status = fields.String(validate=validate.OneOf(values(LeadStatus)))
    client = fields.Nested(ClientRef)
    service = fields.Nested(LeadServiceRef)
    created_at = fields.String()
    updated_at = fields.String()


class LeadsEnvelope(Schema):
    leads = fields.List(fields.Nested(LeadOut))
    next_cursor = fields.String(allow_none=True, metadata={"description": "Pass as ?cursor= for the next page"})


class MiniDayCreate(Schema):
    """One mini-session day: Kairos cuts it into single-seat slots."""

    date = Day(required=True)
    start_time = fields.String(required=True)
    end_time = fields.String(required=True)
    slot_minutes = fields.Integer(strict=True, validate=validate.Range(min=5, max=24 * 60))
    gap_minutes = fields.Integer(strict=True, load_default=0, validate=validate.Range(min=0, max=24 * 60))
    location = fields.Nested(LocationSchema, required=True)

    @validates_schema
    def _times(self, data: dict, **kwargs) -> None:
        errors = {}
        for key in ("start_time", "end_time"):
            if key in data:
                try:
                    parse_hhmm(data[key])
                except ValidationError as error:
                    errors[key] = error.messages
        if errors:
            raise ValidationError(errors)
        if "start_time" in data and "end_time" in data and data["start_time"] == "24:00":
            raise ValidationError("Start before midnight.", "start_time")
        if "start_time" in data and "end_time" in data and data["end_time"] != "24:00" \
                and data["end_time"] <= data["start_time"]:
            raise ValidationError("The end must be after the start.", "end_time")


class SessionsEnvelope(Schema):
    sessions = fields.List(fields.Nested(SessionOut))


class LeadEnvelope(Schema):
    lead = fields.Nested(LeadOut)
