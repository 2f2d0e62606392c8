"""The public API read by the widget: an expert, a service, its bookable slots."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validates_schema

from backend.schemas.clients import PackagePlanOut
from backend.schemas.common import MAX_SLOT_RANGE_DAYS, Day, LocationSchema, Money, QuestionSchema, SeriesDate, TimeZone


class PublicServiceSchema(Schema):
    slug = fields.String()
    name = fields.String()
    description = fields.String()
    kind = fields.String()
    duration_minutes = fields.Integer()
    price = fields.Nested(Money, allow_none=True)
    deposit = fields.Nested(Money, allow_none=True)
    payment_options = fields.List(fields.String())
    location = fields.Nested(LocationSchema)
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
    packages = fields.List(fields.Nested(PackagePlanOut), metadata={"description": "Package plans on sale"})


class SlotsQuery(Schema):
    start = Day(required=True)
    end = Day(required=True)
    timezone = TimeZone(required=True)
    include_full = fields.Boolean(load_default=False, metadata={
        "description": "Also list full sessions (seats_left 0), whose waitlist a client may join"})

    @validates_schema
    def _range(self, data: dict, **kwargs) -> None:
        if "start" in data and "end" in data:
            days = (data["end"] - data["start"]).days
            if days < 0:
                raise ValidationError("end must be on or after start.", "end")
            if days >= MAX_SLOT_RANGE_DAYS:
                raise ValidationError(f"The range can be at most {MAX_SLOT_RANGE_DAYS} days.", "end")


class SlotSchema(Schema):
    start = fields.String(required=True)
    end = fields.String(required=True)
    seats_left = fields.Integer(required=True)
    session = fields.String(metadata={"description": "The scheduled session's id (group, series, mini)"})
    location = fields.Nested(LocationSchema, metadata={"description": "The session's place (group, series, mini)"})
    sessions = fields.List(fields.Nested(SeriesDate), metadata={"description": "Every date of a series"})


class SlotsSchema(Schema):
    timezone = fields.String()
    slots = fields.List(fields.Nested(SlotSchema))


class PublicCollectionOut(Schema):
    """A collection on the booking page: its services and package plans (API.md, "Collections")."""

    slug = fields.String(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    services = fields.List(fields.Nested(PublicServiceSchema), required=True)
    packages = fields.List(fields.Nested(PackagePlanOut), required=True)


class PublicCollectionEnvelope(Schema):
    collection = fields.Nested(PublicCollectionOut, required=True)
