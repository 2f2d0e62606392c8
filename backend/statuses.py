"""Every status a row or a view can be in, once, as StrEnums: models, schemas and services use these.

A StrEnum member is a ``str``: it is stored, compared and dumped as its value, so
``booking.status == BookingStatus.CONFIRMED`` holds for a row read back as ``"confirmed"``.
"""
from __future__ import annotations

from enum import StrEnum


class BookingStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"  # held while the client pays online
    PENDING = "pending"  # set up by the expert, or paid outside and waiting for the expert
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


class PaymentStatus(StrEnum):
    """A ``Payment`` row (moves only forward, see ``payments.ledger.RANK``)."""

    REQUIRES_PAYMENT = "requires_payment"
    PROCESSING = "processing"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SUCCEEDED = "succeeded"
    REFUNDED = "refunded"


class BookingPaymentStatus(StrEnum):
    """``booking.payment.status`` as clients and experts see it (API.md)."""

    REQUIRES_PAYMENT = "requires_payment"
    REQUIRES_ACTION = "requires_action"
    PROCESSING = "processing"
    PAID = "paid"
    REFUNDED = "refunded"
    PAY_OUTSIDE = "pay_outside"
    WAIVED = "waived"
    CANCELLED = "cancelled"
    CREDIT_USED = "credit_used"
    CREDIT_RETURNED = "credit_returned"


class LeadStatus(StrEnum):
    SCHEDULING_IN_PROGRESS = "scheduling_in_progress"
    BOOKED = "booked"
    CLOSED = "closed"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    PARKED = "parked"


class CalendarStatus(StrEnum):
    """A calendar source's health: never synced yet, last sync worked, last sync failed."""

    PENDING = "pending"
    OK = "ok"
    FAILING = "failing"


class WaitlistStatus(StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"  # a seat is held for them until ``offer_expires_at``
    BOOKED = "booked"
    LAPSED = "lapsed"  # the offer ran out; the next one was asked
    REMOVED = "removed"  # by the expert


def values(enum: type[StrEnum]) -> tuple[str, ...]:
    """The values of ``enum``, for a schema's ``OneOf``."""
    return tuple(member.value for member in enum)


class PurchaseStatus(StrEnum):
    """A package purchase (issue 15): paid once, credits appear exactly then."""

    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"
