"""Building blocks every area shares: time zones, instants, cursors, money, errors, places, questions."""
from __future__ import annotations

import base64
import json
import re
from datetime import UTC, date, datetime, time
from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

from marshmallow import Schema, ValidationError, fields, post_load, pre_load, utils, validate

from backend.models import LOCATION_TYPES
from backend.plain_text import CONTROL_RE, LINE_BREAKING_RE

MAX_SLOT_RANGE_DAYS = 62

#: Dates and instants outside these years are refused (422). Nothing is booked before 1900 or after 2999,
#: and year 1 or 9999 moved by a UTC offset falls outside what a datetime can hold (it was a 500).
MIN_YEAR, MAX_YEAR = 1900, 2999
YEARS_MESSAGE = f"Choose a date between the years {MIN_YEAR} and {MAX_YEAR}."



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
    """An ISO 8601 timestamp that must carry its offset, between the years MIN_YEAR and MAX_YEAR."""

    default_error_messages = {
        "invalid": "Not a valid ISO 8601 date and time.",
        "invalid_awareness": "Give the time with its UTC offset, e.g. 2026-12-01T09:00:00+01:00.",
        "years": YEARS_MESSAGE,
    }

    def _deserialize(self, value: Any, attr, data, **kwargs) -> datetime:
        instant = super()._deserialize(value, attr, data, **kwargs)
        # The local year is checked first: converting year 1 at +14:00 to UTC would overflow.
        if not MIN_YEAR <= instant.year <= MAX_YEAR or not MIN_YEAR <= instant.astimezone(UTC).year <= MAX_YEAR:
            raise self.make_error("years")
        return instant


class Day(fields.Date):
    """An ISO 8601 date (``2026-12-01``) between the years MIN_YEAR and MAX_YEAR."""

    default_error_messages = {"years": YEARS_MESSAGE}

    def _deserialize(self, value: Any, attr, data, **kwargs) -> date:
        day = super()._deserialize(value, attr, data, **kwargs)
        if not MIN_YEAR <= day.year <= MAX_YEAR:
            raise self.make_error("years")
        return day


class Line(fields.String):
    """One line of text a person types (a name, a title, a label, an address): leading and trailing
    spaces dropped; line breaks, control characters and direction overrides refused with a 422, so
    nothing stored can split an email header or a calendar line, or reorder what a page shows."""

    default_error_messages = {"control": "Use one line of plain text (no line breaks or control characters)."}

    def _deserialize(self, value: Any, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if LINE_BREAKING_RE.search(text):
            raise self.make_error("control")
        return text


class Text(fields.String):
    """Free text that may span lines (a message, a bio, a note): CR LF and lone CR become LF; other
    control characters and direction overrides are refused with a 422."""

    default_error_messages = {"control": "Remove the control characters from this text."}

    def _deserialize(self, value: Any, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).replace("\r\n", "\n").replace("\r", "\n")
        if CONTROL_RE.search(text):
            raise self.make_error("control")
        return text


class PageCursor(fields.Field[tuple[datetime | str, str | int]]):
    """An opaque position in a list: the sort value and id of the previous page's last row.

    A string on the wire that loads as a tuple, so not a ``fields.String`` (whose loaded value is a
    str); the API documents it as a string (``register_field`` in backend/api).
    """

    default_error_messages = {"invalid": "Not a valid cursor: pass the next_cursor of the previous page.",
                              "invalid_utf8": "Not a valid utf-8 string."}

    @staticmethod
    def encode(value: datetime | str, row_id: str | int) -> str:
        kind, text = ("t", value.isoformat()) if isinstance(value, datetime) else ("s", value)
        raw = json.dumps([kind, text, row_id], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _deserialize(self, value: Any, attr: str | None, data: Any,
                     **kwargs: Any) -> tuple[datetime | str, str | int]:
        # What fields.String accepts (str, or UTF-8 bytes), with its errors.
        if not isinstance(value, (str, bytes)):
            raise self.make_error("invalid")
        try:
            text = utils.ensure_text_type(value)
        except UnicodeDecodeError as error:
            raise self.make_error("invalid_utf8") from error
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


class LocationSchema(Schema):
    type = fields.String(required=True, validate=validate.OneOf(LOCATION_TYPES))
    name = Line(validate=validate.Length(max=200))
    address = Line(validate=validate.Length(max=500))
    url = fields.Url(schemes={"http", "https"})
    phone = Line(validate=validate.Length(max=40))
    details = Text(validate=validate.Length(max=2000))
    # An in-person place's clock (default: the expert's zone) and the city that names it ("Boston").
    timezone = TimeZone()
    city = Line(validate=validate.Length(max=100))


class QuestionSchema(Schema):
    id = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9_]{1,40}$"))
    label = Line(required=True, validate=validate.Length(min=1, max=300))
    type = fields.String(load_default="text", validate=validate.OneOf(("text", "textarea", "select", "checkbox")))
    required = fields.Boolean(load_default=False)
    options = fields.List(Line(validate=validate.Length(max=200)), load_default=list)


class SeriesDate(Schema):
    """One dated session of a series, in the answer's time zone."""

    start = fields.String(required=True)
    end = fields.String(required=True)


class ClientInput(Schema):
    @pre_load
    def _trim(self, data: Any, **kwargs) -> Any:
        # People paste emails with a trailing space; that is not an error worth showing them.
        if isinstance(data, dict):
            return {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}
        return data

    name = Line(required=True, validate=validate.Length(min=1, max=200, error="Enter your name."))
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


class ClientRef(Schema):
    name = fields.String(required=True)
    email = fields.String(required=True)


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
        for (_, prev_end), (next_start, _) in zip(ordered, ordered[1:], strict=False):
            if _minutes(next_start) < _minutes(prev_end):
                raise ValidationError("Intervals of one day must not overlap.")
        return [list(iv) for iv in ordered]
