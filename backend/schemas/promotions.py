"""Waitlists and coupons: what the widget and the expert send, and what comes back (API.md, wave 2)."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from backend.schemas.common import SLUG_RE, ClientInput, ClientRef, Instant, TimeZone
from backend.statuses import WaitlistStatus, values


class WaitlistJoin(Schema):
    session = fields.String(required=True, validate=validate.Length(min=1, max=40))
    client = fields.Nested(ClientInput, required=True)
    timezone = TimeZone(load_default="UTC", metadata={"description": "The client's zone, for the offer's times"})


class WaitlistEntryOut(Schema):
    id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(values(WaitlistStatus)))
    session = fields.String(required=True)
    start = fields.String(required=True, metadata={"description": "The session's start in the entry's timezone"})
    end = fields.String(required=True)
    timezone = fields.String(required=True)
    position = fields.Integer(metadata={"description": "1 for the first person waiting"})
    offer_expires_at = fields.String(allow_none=True, metadata={"description": "Until when a seat is held"})
    client = fields.Nested(ClientRef, required=True)
    created_at = fields.String()


class WaitlistEnvelope(Schema):
    waitlist = fields.Nested(WaitlistEntryOut, required=True)


class WaitlistListEnvelope(Schema):
    waitlist = fields.List(fields.Nested(WaitlistEntryOut), required=True)


class WaitlistOfferOut(WaitlistEntryOut):
    """A waitlist link as the widget reads it: the held seat and the service it belongs to."""

    expert = fields.String(required=True)
    service = fields.String(required=True)


class WaitlistOfferEnvelope(Schema):
    offer = fields.Nested(WaitlistOfferOut, required=True)


class CouponSchema(Schema):
    """A discount code (percent or amount off, for some services or all)."""

    code = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9_-]{2,64}$", error="Use 2 to 64 letters, digits, dashes or underscores."))
    percent_off = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=100))
    amount_off = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=100_000_000))
    currency = fields.String(allow_none=True, validate=validate.Regexp(r"^[a-zA-Z]{3}$",
                                                                      error="Use an ISO 4217 code such as eur."))
    services = fields.List(fields.String(validate=validate.Regexp(SLUG_RE)), allow_none=True, load_default=None,
                           metadata={"description": "Slugs of the services it applies to; null: all"})
    max_uses = fields.Integer(strict=True, allow_none=True, load_default=None, validate=validate.Range(min=1))
    expires_at = Instant(allow_none=True, load_default=None)
    uses = fields.Integer(dump_only=True)
    created_at = fields.String(dump_only=True)

    @validates_schema
    def _one_discount(self, data: dict, **kwargs) -> None:
        percent, amount = data.get("percent_off"), data.get("amount_off")
        if (percent is None) == (amount is None):
            raise ValidationError("Give percent_off or amount_off (one of them).", "percent_off")
        if amount is not None and not data.get("currency"):
            raise ValidationError("An amount off needs its currency.", "currency")

    @post_load
    def _lower(self, data: dict, **kwargs) -> dict:
        if data.get("currency"):
            data["currency"] = data["currency"].lower()
        return data


class CouponEnvelope(Schema):
    coupon = fields.Nested(CouponSchema, required=True)


class CouponsEnvelope(Schema):
    coupons = fields.List(fields.Nested(CouponSchema), required=True)
