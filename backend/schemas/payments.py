"""Request and response payloads of the payment endpoints (backend/api/payments.py)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from backend.schemas.common import SLUG_RE, Instant, Line, Text


class PayConfirmInput(Schema):
    """The SetupIntent the widget confirmed with ``stripe.confirmCardSetup``."""

    setup_intent = fields.String(required=True, validate=validate.Regexp(
        r"^seti_[A-Za-z0-9_]{1,200}$", error="Send the id of the SetupIntent (seti_…) you confirmed."))


class MarkPaidInput(Schema):
    note = Text(load_default="", validate=validate.Length(max=2000),
                         metadata={"description": "What the expert received (e.g. 'bank transfer 12 May')"})


class PackageGrantInput(Schema):
    name = Line(required=True, validate=validate.Length(min=1, max=200))
    services = fields.List(fields.String(validate=validate.Regexp(SLUG_RE)), load_default=list,
                           metadata={"description": "Slugs of the services the credits pay for; empty: all"})
    credits = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1000))
    expires_at = Instant(load_default=None, allow_none=True)


class PackageClientInput(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=320))
    name = Line(load_default="", validate=validate.Length(max=200))


class PackageGrantForEmailInput(PackageGrantInput):
    """A package for a client known by email (made a client if they never booked)."""

    client = fields.Nested(PackageClientInput, required=True)


class PackageClientOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True)


class PackageOut(Schema):
    id = fields.Integer()
    name = fields.String()
    services = fields.List(fields.String())
    credits_total = fields.Integer()
    credits_used = fields.Integer()
    credits_left = fields.Integer()
    expires_at = fields.String(allow_none=True)
    created_at = fields.String()
    client = fields.Nested(PackageClientOut)


class PackageEnvelope(Schema):
    package = fields.Nested(PackageOut)


class PackagesEnvelope(Schema):
    packages = fields.List(fields.Nested(PackageOut))


class WebhookAck(Schema):
    received = fields.Boolean()
    outcome = fields.String()
