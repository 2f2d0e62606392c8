"""Existing clients (API.md, wave 2): sign-in, the signed-in client's page, package plans, collections."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from backend.models import VISIBILITIES
from backend.schemas.bookings import BookingOut
from backend.schemas.common import SLUG_RE, ClientRef, Line, Money, Text
from backend.schemas.payments import PackageOut
from backend.statuses import PurchaseStatus, values


class SignInStart(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=320))


class SignInVerify(Schema):
    email = fields.Email(validate=validate.Length(max=320))
    code = fields.String(validate=validate.Length(max=12))
    link_token = fields.String(validate=validate.Length(max=200))

    @validates_schema
    def _either(self, data: dict, **kwargs) -> None:
        if "link_token" not in data and not ("email" in data and "code" in data):
            raise ValidationError("Send the email and the code, or the link token.", "code")


class SentOut(Schema):
    sent = fields.Boolean(required=True)


class SignedInOut(Schema):
    client = fields.Nested(ClientRef, required=True)
    client_token = fields.String(required=True)
    expires_at = fields.String(required=True)


class CardOut(Schema):
    id = fields.String(required=True)
    brand = fields.String(required=True)
    last4 = fields.String(required=True)
    exp_month = fields.Integer(required=True)
    exp_year = fields.Integer(required=True)


class MeOut(Schema):
    client = fields.Nested(ClientRef, required=True)
    bookings = fields.List(fields.Nested(BookingOut), required=True)
    packages = fields.List(fields.Nested(PackageOut), required=True)
    cards = fields.List(fields.Nested(CardOut), required=True)


# --- package plans ----------------------------------------------------------------------------

class PackagePlanIn(Schema):
    slug = fields.String(required=True, validate=validate.Regexp(SLUG_RE, error="Use lowercase letters, digits and dashes."))
    name = Line(required=True, validate=validate.Length(min=1, max=200))
    description = Text(load_default="", validate=validate.Length(max=5000))
    sessions = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1000))
    services = fields.List(fields.String(validate=validate.Regexp(SLUG_RE)), required=True,
                           validate=validate.Length(min=1))
    price = fields.Nested(Money, required=True)
    expires_after_days = fields.Integer(load_default=None, allow_none=True, strict=True,
                                        validate=validate.Range(min=1, max=3650))
    visibility = fields.String(load_default="public", validate=validate.OneOf(VISIBILITIES))


class PackagePlanOut(Schema):
    slug = fields.String(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    sessions = fields.Integer(required=True)
    services = fields.List(fields.String(), required=True)
    price = fields.Nested(Money, required=True)
    expires_after_days = fields.Integer(allow_none=True)
    visibility = fields.String()


class PackagePlanEnvelope(Schema):
    package_plan = fields.Nested(PackagePlanOut, required=True)


class PackagePlansEnvelope(Schema):
    package_plans = fields.List(fields.Nested(PackagePlanOut), required=True)


class PurchaseClientIn(Schema):
    name = Line(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(required=True, validate=validate.Length(max=320))


class PurchaseIn(Schema):
    client = fields.Nested(PurchaseClientIn)
    card = fields.String(validate=validate.Length(max=100))


class PurchaseConfirmIn(Schema):
    setup_intent = fields.String(required=True, validate=validate.Length(max=100))


class PurchasePaymentOut(Schema):
    status = fields.String(required=True)
    pay_url = fields.String(metadata={"description": "GET: status; POST: a fresh card setup; POST …/confirm"})
    amount = fields.Integer(required=True)
    currency = fields.String(required=True)
    next_action = fields.String()
    client_secret = fields.String(allow_none=True)
    setup_intent = fields.String()
    payment_intent = fields.String()
    publishable_key = fields.String()
    js_url = fields.String()


class PurchaseOut(Schema):
    id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(values(PurchaseStatus)))
    plan = fields.Nested(PackagePlanOut, required=True)
    client = fields.Nested(ClientRef, required=True)
    package = fields.Nested(PackageOut, allow_none=True)
    payment = fields.Nested(PurchasePaymentOut, required=True)


class PurchaseEnvelope(Schema):
    purchase = fields.Nested(PurchaseOut, required=True)


# --- collections ------------------------------------------------------------------------------

class CollectionItem(Schema):
    service = fields.String(validate=validate.Regexp(SLUG_RE))
    package = fields.String(validate=validate.Regexp(SLUG_RE))

    @validates_schema
    def _one(self, data: dict, **kwargs) -> None:
        if len(data) != 1:
            raise ValidationError('Each item is {"service": slug} or {"package": slug}.')


class CollectionIn(Schema):
    slug = fields.String(required=True, validate=validate.Regexp(SLUG_RE, error="Use lowercase letters, digits and dashes."))
    name = Line(required=True, validate=validate.Length(min=1, max=200))
    description = Text(load_default="", validate=validate.Length(max=5000))
    items = fields.List(fields.Nested(CollectionItem), load_default=list, validate=validate.Length(max=100))
    clients_only = fields.Boolean(load_default=False)


class CollectionOut(Schema):
    slug = fields.String(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    items = fields.List(fields.Nested(CollectionItem), required=True)
    clients_only = fields.Boolean(required=True)


class CollectionEnvelope(Schema):
    collection = fields.Nested(CollectionOut, required=True)


class CollectionsEnvelope(Schema):
    collections = fields.List(fields.Nested(CollectionOut), required=True)

