"""A booking: what a client sends to book or change it, and the one shape it comes back in."""
from __future__ import annotations

from flask import has_request_context, request
from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from backend.models import PAYMENT_OPTIONS
from backend.schemas.common import (
    ClientInput,
    ClientRef,
    Instant,
    Line,
    LocationSchema,
    Money,
    PageQuery,
    QuestionSchema,
    SeriesDate,
    Text,
    TimeZone,
)
from backend.statuses import BookingPaymentStatus, BookingStatus, values


class BookingCreate(Schema):
    start = Instant()
    session = fields.String(validate=validate.Length(max=40))
    timezone = TimeZone(required=True)
    client = fields.Nested(ClientInput, metadata={"description": "Required unless a client token is sent"})
    message = Text(load_default="", validate=validate.Length(max=5000))
    answers = fields.Dict(keys=fields.String(), load_default=dict)
    payment_option = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(PAYMENT_OPTIONS))
    coupon = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64),
                           metadata={"description": "A discount code; 422 on coupon when bad or used up"})
    waitlist = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200),
                             metadata={"description": "The token of a waitlist offer's link: the seat held for you"})
    card = fields.String(validate=validate.Length(max=100),
                         metadata={"description": "A signed-in client's saved card (payment_option online)"})
    package = fields.Integer(strict=True, metadata={"description": "Which of the client's packages pays (package)"})

    @validates_schema
    def _when(self, data: dict, **kwargs) -> None:
        if "start" not in data and "session" not in data and not data.get("waitlist"):
            raise ValidationError("Choose a time.", "start")

    @validates_schema(skip_on_field_errors=False)
    def _who(self, data: dict, **kwargs) -> None:
        # Without a (client) bearer token the body must say who books; the route checks the token itself.
        signed = has_request_context() and request.headers.get("Authorization", "").lower().startswith("bearer ")
        if "client" not in data and not signed:
            raise ValidationError("Enter your name and email, or sign in.", "client")


class BookingServiceRef(Schema):
    slug = fields.String()
    name = fields.String()
    kind = fields.String()


class ExpertRef(Schema):
    slug = fields.String(required=True)
    name = fields.String(required=True)


class PackageRef(Schema):
    name = fields.String(required=True)
    credits_left = fields.Integer(required=True)


class CouponRef(Schema):
    """The coupon a booking was made with and what it took off the price."""

    code = fields.String(required=True)
    discount = fields.Integer(required=True)


class PaymentOut(Schema):
    """``booking.payment`` (API.md); the Stripe.js fields only while a card payment is under way."""

    option = fields.String(required=True, validate=validate.OneOf(PAYMENT_OPTIONS))
    status = fields.String(required=True, validate=validate.OneOf(values(BookingPaymentStatus)))
    amount = fields.Integer(allow_none=True)
    currency = fields.String(allow_none=True)
    refunded_amount = fields.Integer()
    deposit = fields.Integer(metadata={"description": "The part paid online when booking (a deposit)"})
    amount_due = fields.Integer(metadata={"description": "What is still to pay after what was paid"})
    last_error = fields.String()
    instructions = fields.String(allow_none=True)
    hold_expires_at = fields.String()
    package = fields.Nested(PackageRef)
    pay_url = fields.String()
    next_action = fields.String(validate=validate.OneOf(("confirm_card_setup", "confirm_card_payment")))
    client_secret = fields.String(allow_none=True)
    setup_intent = fields.String()
    payment_intent = fields.String()
    publishable_key = fields.String()
    js_url = fields.String()


class HistoryItem(Schema):
    """One change in a booking's life (created, paid, rescheduled, cancelled…) and who made it."""

    type = fields.String(required=True)
    actor = fields.String(required=True)
    message = fields.String(allow_none=True)
    at = fields.String(required=True)


class BookingOut(Schema):
    id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(values(BookingStatus)))
    start = fields.String(required=True, metadata={"description": "ISO 8601 in the booking's timezone"})
    end = fields.String(required=True)
    timezone = fields.String(required=True)
    service = fields.Nested(BookingServiceRef, required=True)
    expert = fields.Nested(ExpertRef)
    client = fields.Nested(ClientRef, required=True)
    location = fields.Nested(LocationSchema, allow_none=True)
    session = fields.String(allow_none=True)
    manage_url = fields.String()
    payment = fields.Nested(PaymentOut, allow_none=True)
    coupon = fields.Nested(CouponRef, allow_none=True)
    message = fields.String()
    answers = fields.Dict(keys=fields.String(), values=fields.Raw(),
                          metadata={"description": "Question id -> the client's answer (text or true/false)"})
    confirmation_note = fields.String(allow_none=True)
    share_url = fields.String()
    created_at = fields.String()
    expires_at = fields.String(metadata={"description": "When a pending offer lapses"})
    sessions = fields.List(fields.Nested(SeriesDate), metadata={"description": "Every date of a series booking"})
    history = fields.List(fields.Nested(HistoryItem),
                          metadata={"description": "The booking's changes, oldest first (GET /admin/bookings/{id})"})


class BookingEnvelope(Schema):
    booking = fields.Nested(BookingOut)


class BookingsPage(Schema):
    bookings = fields.List(fields.Nested(BookingOut))
    next_cursor = fields.String(allow_none=True, metadata={
        "description": "Pass as ?cursor= for the next page; null on the last page"})


class BookingsQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(values(BookingStatus)))
    start = Instant()
    end = Instant()


class CancelInput(Schema):
    reason = Text(load_default="", validate=validate.Length(max=2000))


class ExpertCancelInput(CancelInput):
    """The expert cancels: a paid booking is refunded in full, or as the service's cancellation policy says."""

    refund = fields.String(load_default="full", validate=validate.OneOf(("full", "policy")), metadata={
        "description": "full: every payment goes back (the default); policy: as the service's policy.refund says"})


class RescheduleInput(Schema):
    start = Instant()
    session = fields.String(validate=validate.Length(max=40))
    timezone = TimeZone(required=True)

    @validates_schema
    def _when(self, data: dict, **kwargs) -> None:
        if "start" not in data and "session" not in data:
            raise ValidationError("Choose a new time.", "start")


class CompletionOut(Schema):
    """What the client of a pending session set up by the expert answers and chooses (API.md)."""

    questions = fields.List(fields.Nested(QuestionSchema))
    payment_options = fields.List(fields.String(validate=validate.OneOf(PAYMENT_OPTIONS)))
    price = fields.Nested(Money, allow_none=True)
    phone = fields.String()
    message = fields.Boolean()
    outside_payment_instructions = fields.String(allow_none=True)


class ManageOut(Schema):
    booking = fields.Nested(BookingOut)
    can_cancel = fields.Boolean()
    can_reschedule = fields.Boolean()
    can_complete = fields.Boolean()
    completion = fields.Nested(CompletionOut)
    reason = fields.String(allow_none=True)
    reason_text = fields.String()


class CompleteInput(Schema):
    """The client completes a pending session: answers, how they pay, phone, message and their zone."""

    answers = fields.Dict(keys=fields.String(), load_default=dict)
    payment_option = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(PAYMENT_OPTIONS))
    phone = Line(load_default=None, allow_none=True, validate=validate.Length(max=40))
    message = Text(load_default="", validate=validate.Length(max=5000))
    timezone = TimeZone(load_default=None, allow_none=True,
                        metadata={"description": "The client's zone: their emails show times in it"})

    @post_load
    def _trim(self, data: dict, **kwargs) -> dict:
        data["phone"] = (data.get("phone") or "").strip() or None
        data["message"] = data["message"].strip()
        return data


class ShareInput(Schema):
    """Sharing a pending session again; ``expires_at`` gives the offer a new expiry (null: none)."""

    expires_at = Instant(allow_none=True)


class ExpertBookingCreate(Schema):
    """A session the expert sets up for a client (API.md): it stays pending until the client completes it."""

    service = fields.String(allow_none=True, load_default=None)
    start = Instant(required=True)
    duration_minutes = fields.Integer(strict=True, validate=validate.Range(min=5, max=24 * 60))
    custom_time = fields.Boolean(load_default=False)
    name = Line(validate=validate.Length(max=200), metadata={"description": "A one-off's title"})
    timezone = TimeZone()
    client = fields.Nested(ClientInput, required=True)
    price = fields.Nested(Money, allow_none=True, metadata={"description": "A one-off's price; null is free"})
    payment_options = fields.List(fields.String(validate=validate.OneOf(("online", "outside"))),
                                  metadata={"description": "How a one-off's client may pay"})
    expires_at = Instant(allow_none=True, metadata={"description": "The offer lapses then: the time is free again"})

    @validates_schema
    def _one_off_terms(self, data: dict, **kwargs) -> None:
        if data.get("service"):
            for key in ("price", "payment_options"):
                if key in data:
                    raise ValidationError("A service's own price and payment options apply; leave this out.", key)
            return
        if data.get("price") and data["price"]["amount"] > 0 and not data.get("payment_options"):
            raise ValidationError("Choose how the client pays.", "payment_options")
        if data.get("payment_options") and not (data.get("price") and data["price"]["amount"] > 0):
            raise ValidationError("A free session takes no payment options; set a price.", "payment_options")
