"""Request and response schemas of the notifications API (webhooks, outbox, calendar feed)."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates

from backend.notifications.webhooks import EVENT_TYPES

OUTBOX_STATUSES = ("pending", "sent", "parked")


class WebhookCreate(Schema):
    url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False,
                     validate=validate.Length(max=2000))
    events = fields.List(fields.String(validate=validate.OneOf(EVENT_TYPES,
                                                               error="Unknown event type: use one of {choices}.")),
                         required=True)

    @validates("events")
    def _some_events(self, value: list[str], **kwargs) -> None:
        if not value:
            raise ValidationError("Choose at least one event type.")


class WebhookOut(Schema):
    id = fields.String()
    url = fields.String()
    events = fields.List(fields.String())
    active = fields.Boolean()
    created_at = fields.String()
    secret = fields.String(metadata={"description": "Only in the answer to POST: keep it to verify signatures."})


class WebhookEnvelope(Schema):
    webhook = fields.Nested(WebhookOut)


class WebhooksEnvelope(Schema):
    webhooks = fields.List(fields.Nested(WebhookOut))


class OutboxQuery(Schema):
    status = fields.String(validate=validate.OneOf(OUTBOX_STATUSES))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class OutboxMessageOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    topic = fields.String()
    status = fields.String()
    booking = fields.String(allow_none=True)
    to = fields.String(allow_none=True, metadata={"description": "The email address or webhook endpoint id"})
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    next_attempt_at = fields.String(allow_none=True)
    created_at = fields.String()
    sent_at = fields.String(allow_none=True)


class OutboxMessageEnvelope(Schema):
    message = fields.Nested(OutboxMessageOut)


class OutboxEnvelope(Schema):
    messages = fields.List(fields.Nested(OutboxMessageOut))


class CalendarFeedOut(Schema):
    url = fields.String(metadata={"description": "Secret: anyone with it reads the expert's confirmed bookings"})
