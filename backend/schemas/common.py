"""Building blocks every area shares: time zones, instants, cursors, money, errors, places, questions."""
from __future__ import annotations

import base64
import json
import re
from datetime import datetime, time
from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

from marshmallow import Schema, ValidationError, fields, post_load, pre_load, validate

from backend.models import LOCATION_TYPES

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


class LocationSchema(Schema):
    type = fields.String(required=True, validate=validate.OneOf(LOCATION_TYPES))
    name = fields.String(validate=validate.Length(max=200))
    address = fields.String(validate=validate.Length(max=500))
    url = fields.Url(schemes={"http", "https"})
    phone = fields.String(validate=validate.Length(max=40))
    details = fields.String(validate=validate.Length(max=2000))
    # An in-person place's clock (default: the expert's zone) and the city that names it ("Boston").
    timezone = TimeZone()
    city = fields.String(validate=validate.Length(max=100))


class QuestionSchema(Schema):
    id = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9_]{1,40}$"))
    label = fields.String(required=True, validate=validate.Length(min=1, max=300))
    type = fields.String(load_default="text", validate=validate.OneOf(("text", "textarea", "select", "checkbox")))
    required = fields.Boolean(load_default=False)
    options = fields.List(fields.String(validate=validate.Length(max=200)), load_default=list)


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
