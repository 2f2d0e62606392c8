"""The payment options of a booking behind one small interface the booking rules call.

``services.bookings`` asks three things, at fixed points of a booking's life, without knowing
how each option works: the status a new booking starts in, what happens when it is created
(inside its transaction, under the expert's lock) and what happens when it is cancelled.
Nothing here talks to Stripe: card payments start after the booking's transaction commits
(``backend.payments.checkout``).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from backend.errors import NotAllowed
from backend.models import Booking, Service
from backend.payments import packages, refunds
from backend.payments.stripe_gateway import enabled
from backend.statuses import BookingStatus


def initial_status(service: Service, payment_option: str | None) -> BookingStatus:
    """The status a new widget booking starts in, by how it is paid."""
    if payment_option == "online":
        if not enabled():  # the keys were removed after the service was set up: never hold unpayable
            raise NotAllowed("online_unavailable", "Paying online is not available right now. "
                                                   "Please choose another way to pay or contact the expert.")
        return BookingStatus.PENDING_PAYMENT
    if payment_option == "outside":
        return BookingStatus.PENDING if service.outside_payment_status == "pending" else BookingStatus.CONFIRMED
    return BookingStatus.CONFIRMED  # free, or a package credit (taken in ``on_created``)


def deposit_for(service: Service, payment_option: str | None, price: int | None) -> int | None:
    """The part of ``price`` paid online when booking, if the service asks a deposit (else None: all of it).

    A deposit only applies to paying online, and only while it is less than the price (a coupon
    may have lowered the price below it).
    """
    if payment_option != "online" or not service.deposit_amount or not price or service.deposit_amount >= price:
        return None
    return service.deposit_amount


def charge_now(booking: Booking) -> int:
    """What the client pays online when booking: the deposit, or the whole (discounted) price."""
    return booking.deposit_amount or booking.price_amount or 0


def on_created(db: Session, booking: Booking, now: datetime, package_id: int | None = None) -> None:
    """Inside the booking's transaction, under the expert's lock: spend a package credit
    (from ``package_id`` when the client chose one)."""
    if booking.payment_option == "package":
        packages.take_credit(db, booking, now, package_id)


def on_cancelled(db: Session, booking: Booking, *, actor: str, by_policy: bool, now: datetime | None = None) -> None:
    """Inside the cancellation's transaction: give a package credit back (if timely: before the cutoff), write
    refunds to make (``by_policy``: as the service's refund rule says, else in full)."""
    packages.return_credit(db, booking, actor=actor, now=now)
    refunds.plan_on_cancel(db, booking, actor=actor, by_policy=by_policy)
