"""Every request and response payload, once. The same schemas validate requests
and generate /api/openapi.json (flask-smorest)."""
from __future__ import annotations

import base64
import json
import re
from datetime import datetime, time
from functools import lru_cache
from typing import Any
from urllib.parse import urlparse
from zoneinfo import available_timezones

from marshmallow import Schema, ValidationError, fields, post_load, pre_load, validate, validates, validates_schema

from backend.models import LOCATION_TYPES, PAYMENT_OPTIONS, PHONE_MODES, SERVICE_KINDS, VISIBILITIES

MAX_SLOT_RANGE_DAYS = 62
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SLUG_RE = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_timezone(name: str) -> bool:
    """True for an IANA zone name that zoneinfo knows."""
    return name in _zones()


class TimeZone(fields.String):
    """An IANA time zone name; anything else is a 422."""

    default_error_messages = {"unknown": "Unknown time zone: use an IANA name such as Europe/Paris."}

    def _deserialize(self, value: Any, attr, data, **kwargs) -> str:
        name = super()._deserialize(value, attr, data, **kwargs)
        if not is_timezone(name):
            raise self.make_error("unknown")
        return name


class Instant(fields.AwareDateTime):
    """An ISO 8601 timestamp that must carry its offset."""

    default_error_messages = {
        "invalid": "Not a valid ISO 8601 date and time.",
        "invalid_awareness": "Give the time with its UTC offset, e.g. 2026-12-01T09:00:00+01:00.",
    }


class PageCursor(fields.String):
    """An opaque position in a list: the sort value and id of the previous page's last row."""

    default_error_messages = {"invalid": "Not a valid cursor: pass the next_cursor of the previous page."}

    @staticmethod
    def encode(value: datetime | str, row_id: str | int) -> str:
        kind, text = ("t", value.isoformat()) if isinstance(value, datetime) else ("s", value)
        raw = json.dumps([kind, text, row_id], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> tuple[Any, Any]:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            kind, sort_value, row_id = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            if kind == "t":
                sort_value = datetime.fromisoformat(sort_value)
                if sort_value.tzinfo is None:
                    raise ValueError("naive")
            elif kind != "s" or not isinstance(sort_value, str):
                raise ValueError(kind)
            if not isinstance(row_id, (str, int)) or isinstance(row_id, bool):
                raise ValueError("id")
        except (ValueError, TypeError, UnicodeDecodeError):
            raise self.make_error("invalid") from None
        return sort_value, row_id


class PageQuery(Schema):
    """``?limit=&cursor=``: one page of a long list (follow ``next_cursor`` until it is null)."""

    limit = fields.Integer(load_default=200, validate=validate.Range(min=1, max=1000))
    cursor = PageCursor()


def patch_schema(schema_cls: type[Schema]) -> Schema:
    """The PATCH variant of a schema: any top-level field may be left out, but a nested object that is
    sent (a price, a policy, a location) is whole, so it is validated as on creation."""
    return schema_cls(partial=tuple(schema_cls._declared_fields))


class Money(Schema):
    amount = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=100_000_000))
    currency = fields.String(required=True, validate=validate.Regexp(r"^[a-zA-Z]{3}$", error="Use an ISO 4217 code such as usd."))

    @post_load
    def _lower(self, data: dict, **kwargs) -> dict:
        if "currency" in data:
            data["currency"] = data["currency"].lower()
        return data


class ErrorBody(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    reason = fields.String()
    # "fields" would shadow the module inside the class body, so it is declared with data_key.
    field_errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), data_key="fields")


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBody, required=True)


# --- public ---------------------------------------------------------------

class LocationSchema(Schema):
    type = fields.String(required=True, validate=validate.OneOf(LOCATION_TYPES))
    name = fields.String(validate=validate.Length(max=200))
    address = fields.String(validate=validate.Length(max=500))
    url = fields.Url(schemes={"http", "https"})
    phone = fields.String(validate=validate.Length(max=40))
    details = fields.String(validate=validate.Length(max=2000))


class QuestionSchema(Schema):
    id = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9_]{1,40}$"))
    label = fields.String(required=True, validate=validate.Length(min=1, max=300))
    type = fields.String(load_default="text", validate=validate.OneOf(("text", "textarea", "select", "checkbox")))
    required = fields.Boolean(load_default=False)
    options = fields.List(fields.String(validate=validate.Length(max=200)), load_default=list)


class PublicServiceSchema(Schema):
    slug = fields.String()
    name = fields.String()
    description = fields.String()
    kind = fields.String()
    duration_minutes = fields.Integer()
    price = fields.Nested(Money, allow_none=True)
    payment_options = fields.List(fields.String())
    location = fields.Dict()
    phone = fields.String()
    message = fields.Boolean()
    questions = fields.List(fields.Nested(QuestionSchema))
    capacity = fields.Integer()
    hold_minutes = fields.Integer()
    outside_payment_instructions = fields.String()


class PublicExpertSchema(Schema):
    slug = fields.String()
    name = fields.String()
    bio = fields.String()
    avatar_url = fields.String(allow_none=True)
    timezone = fields.String()
    brand_color = fields.String(allow_none=True)
    locale = fields.String(allow_none=True)
    services = fields.List(fields.Nested(PublicServiceSchema))


class SlotsQuery(Schema):
    start = fields.Date(required=True)
    end = fields.Date(required=True)
    timezone = TimeZone(required=True)

    @validates_schema
    def _range(self, data: dict, **kwargs) -> None:
        if "start" in data and "end" in data:
            days = (data["end"] - data["start"]).days
            if days < 0:
                raise ValidationError("end must be on or after start.", "end")
            if days >= MAX_SLOT_RANGE_DAYS:
                raise ValidationError(f"The range can be at most {MAX_SLOT_RANGE_DAYS} days.", "end")


class SlotSchema(Schema):
    start = fields.String()
    end = fields.String()
    seats_left = fields.Integer()
    session = fields.String()
    location = fields.Dict()


class SlotsSchema(Schema):
    timezone = fields.String()
    slots = fields.List(fields.Nested(SlotSchema))


class ClientInput(Schema):
    @pre_load
    def _trim(self, data: Any, **kwargs) -> Any:
        # People paste emails with a trailing space; that is not an error worth showing them.
        if isinstance(data, dict):
            return {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}
        return data

    name = fields.String(required=True, validate=validate.Length(min=1, max=200, error="Enter your name."))
    email = fields.Email(required=True, validate=validate.Length(max=320))
    phone = fields.String(load_default=None, allow_none=True,
                          validate=validate.Regexp(r"^\+?[0-9 ().\-]{5,30}$", error="Not a valid phone number."))

    @post_load
    def _strip(self, data: dict, **kwargs) -> dict:
        data["name"] = data["name"].strip()
        data["email"] = data["email"].strip()
        if data.get("phone"):
            data["phone"] = data["phone"].strip()
        if not data["name"]:
            raise ValidationError("Enter your name.", "name")
        return data


class BookingCreate(Schema):
    start = Instant()
    session = fields.String(validate=validate.Length(max=40))
    timezone = TimeZone(required=True)
    client = fields.Nested(ClientInput, required=True)
    message = fields.String(load_default="", validate=validate.Length(max=5000))
    answers = fields.Dict(keys=fields.String(), load_default=dict)
    payment_option = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(PAYMENT_OPTIONS))

    @validates_schema
    def _when(self, data: dict, **kwargs) -> None:
        if "start" not in data and "session" not in data:
            raise ValidationError("Choose a time.", "start")


class BookingServiceRef(Schema):
    slug = fields.String()
    name = fields.String()
    kind = fields.String()


class BookingOut(Schema):
    id = fields.String()
    status = fields.String()
    start = fields.String(metadata={"description": "ISO 8601 in the booking's timezone"})
    end = fields.String()
    timezone = fields.String()
    service = fields.Nested(BookingServiceRef)
    expert = fields.Dict()
    client = fields.Dict()
    location = fields.Dict(allow_none=True)
    session = fields.String(allow_none=True)
    manage_url = fields.String()
    payment = fields.Dict(allow_none=True)
    message = fields.String()
    answers = fields.Dict()
    confirmation_note = fields.String()
    share_url = fields.String()
    created_at = fields.String()


class BookingEnvelope(Schema):
    booking = fields.Nested(BookingOut)


class BookingsPage(Schema):
    bookings = fields.List(fields.Nested(BookingOut))
    next_cursor = fields.String(allow_none=True, metadata={
        "description": "Pass as ?cursor= for the next page; null on the last page"})


# --- expert API -------------------------------------------------------------

def _origin(value: str) -> None:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.path not in ("", "/") \
            or parsed.query or parsed.fragment:
        raise ValidationError("Give an origin such as https://www.example.com (scheme and host, no path).")


class ProfileSchema(Schema):
    slug = fields.String(dump_only=True)
    name = fields.String(validate=validate.Length(min=1, max=200))
    email = fields.Email()
    bio = fields.String(validate=validate.Length(max=5000))
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
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(validate=validate.Length(max=5000))
    kind = fields.String(validate=validate.OneOf(SERVICE_KINDS))
    duration_minutes = fields.Integer(required=True, strict=True, validate=validate.Range(min=5, max=24 * 60))
    price = fields.Nested(Money, allow_none=True)
    payment_options = fields.List(fields.String(validate=validate.OneOf(PAYMENT_OPTIONS)))
    outside_payment_instructions = fields.String(validate=validate.Length(max=5000))
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
    confirmation_note = fields.String(validate=validate.Length(max=5000))
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


def parse_hhmm(value: str) -> time:
    """``"09:30"`` -> time(9, 30); ``"24:00"`` -> time(0, 0), the end of the day."""
    if not isinstance(value, str) or not re.fullmatch(r"\d{2}:\d{2}", value):
        raise ValidationError("Use HH:MM times.")
    hours, minutes = int(value[:2]), int(value[3:])
    if value == "24:00":
        return time(0, 0)
    if hours > 23 or minutes > 59:
        raise ValidationError("Use HH:MM times between 00:00 and 24:00.")
    return time(hours, minutes)


def _minutes(value: str) -> int:
    return 24 * 60 if value == "24:00" else int(value[:2]) * 60 + int(value[3:])


class Intervals(fields.List):
    """A day's intervals: ``[["09:00", "12:00"], ["13:00", "17:00"]]``, sorted, not overlapping."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(fields.List(fields.String(), validate=validate.Length(equal=2)), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        intervals = super()._deserialize(value, attr, data, **kwargs)
        for start, end in intervals:
            parse_hhmm(start)
            parse_hhmm(end)
            if start == "24:00" or _minutes(end) <= _minutes(start):
                raise ValidationError(f"{start}–{end}: the end must be after the start.")
        ordered = sorted(intervals, key=lambda iv: _minutes(iv[0]))
        for (_, prev_end), (next_start, _) in zip(ordered, ordered[1:]):
            if _minutes(next_start) < _minutes(prev_end):
                raise ValidationError("Intervals of one day must not overlap.")
        return [list(iv) for iv in ordered]


class OverrideSchema(Schema):
    date = fields.Date(required=True)
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
    location = fields.Dict(allow_none=True)


class SessionEnvelope(Schema):
    session = fields.Nested(SessionOut)


class BookingsQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(("pending_payment", "pending", "confirmed", "cancelled")))
    start = Instant()
    end = Instant()


class ClientOut(Schema):
    id = fields.Integer()
    name = fields.String()
    email = fields.String()
    phone = fields.String(allow_none=True)
    created_at = fields.String()


class ClientsEnvelope(Schema):
    clients = fields.List(fields.Nested(ClientOut))
    next_cursor = fields.String(allow_none=True, metadata={"description": "Pass as ?cursor= for the next page"})


class LeadOut(Schema):
    id = fields.String()
    status = fields.String()
    client = fields.Dict()
    service = fields.Dict()
    created_at = fields.String()
    updated_at = fields.String()


class LeadsEnvelope(Schema):
    leads = fields.List(fields.Nested(LeadOut))
    next_cursor = fields.String(allow_none=True, metadata={"description": "Pass as ?cursor= for the next page"})


class CancelInput(Schema):
    reason = fields.String(load_default="", validate=validate.Length(max=2000))


class RescheduleInput(Schema):
    start = Instant()
    session = fields.String(validate=validate.Length(max=40))
    timezone = TimeZone(required=True)

    @validates_schema
    def _when(self, data: dict, **kwargs) -> None:
        if "start" not in data and "session" not in data:
            raise ValidationError("Choose a new time.", "start")


class ManageOut(Schema):
    booking = fields.Nested(BookingOut)
    can_cancel = fields.Boolean()
    can_reschedule = fields.Boolean()
    reason = fields.String(allow_none=True)
    reason_text = fields.String()


class ExpertBookingCreate(Schema):
    """A session the expert sets up for a client (API.md): it stays pending until the client completes it."""

    service = fields.String(allow_none=True, load_default=None)
    start = Instant(required=True)
    duration_minutes = fields.Integer(strict=True, validate=validate.Range(min=5, max=24 * 60))
    custom_time = fields.Boolean(load_default=False)
    name = fields.String(validate=validate.Length(max=200))
    timezone = TimeZone()
    client = fields.Nested(ClientInput, required=True)


class MiniDayCreate(Schema):
    """One mini-session day: Kairos cuts it into single-seat slots."""

    date = fields.Date(required=True)
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
