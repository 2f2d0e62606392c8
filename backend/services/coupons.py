"""Coupons: an expert's discount codes, and their exact count of uses.

A use is counted by one conditional UPDATE (``uses < max_uses``, not expired) inside the booking's
transaction, under the expert's lock: the database keeps the limit, so 30 clients racing for a
5-use code get exactly 5 discounts. A cancelled booking gives its use back.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.errors import NotFound, ValidationError
from backend.models import Booking, Coupon, Expert, Service


def normalize(code: str) -> str:
    """Codes are compared without case or surrounding spaces (``spring10`` is ``SPRING10``)."""
    return code.strip().upper()


@dataclass(frozen=True)
class Discount:
    """What a redeemed coupon takes off a price."""

    code: str
    amount: int  # in the price's minor unit, never more than the price


def create_coupon(db: Session, expert: Expert, data: dict[str, Any]) -> Coupon:
    """A new code of ``expert``'s; 422 on ``code`` if they already have it, on ``services`` for unknown slugs."""
    slugs = data.get("services")
    if slugs:
        known = set(db.scalars(select(Service.slug).where(Service.expert_id == expert.id)))
        unknown = [s for s in slugs if s not in known]
        if unknown:
            raise ValidationError(fields={"services": [f"You have no service '{unknown[0]}'."]})
    coupon = Coupon(expert_id=expert.id, code=normalize(data["code"]), percent_off=data.get("percent_off"),
                    amount_off=data.get("amount_off"), currency=data.get("currency"),
                    services=list(slugs) if slugs else None, max_uses=data.get("max_uses"), uses=0,
                    expires_at=data.get("expires_at"))
    try:
        with db.begin_nested():
            db.add(coupon)
            db.flush()
    except IntegrityError:
        raise ValidationError(fields={"code": [f"You already have a coupon {coupon.code}."]}) from None
    return coupon


def list_coupons(db: Session, expert: Expert) -> list[Coupon]:
    """The expert's coupons, newest first."""
    return list(db.scalars(select(Coupon).where(Coupon.expert_id == expert.id)
                           .order_by(Coupon.created_at.desc(), Coupon.id.desc())))


def delete_coupon(db: Session, expert: Expert, code: str) -> None:
    """Remove a code; bookings made with it keep their discount."""
    coupon = db.scalar(select(Coupon).where(Coupon.expert_id == expert.id, Coupon.code == normalize(code)))
    if coupon is None:
        raise NotFound(f"No coupon {normalize(code)}.")
    db.delete(coupon)
    db.flush()


def discount_of(coupon: Coupon, price: int) -> int:
    """The amount ``coupon`` takes off ``price`` (never below zero)."""
    if coupon.percent_off is not None:
        return min(price, price * coupon.percent_off // 100)
    return min(price, coupon.amount_off or 0)


def _refuse(message: str) -> ValidationError:
    return ValidationError(fields={"coupon": [message]})


def check(db: Session, expert: Expert, service: Service, code: str, now: datetime) -> Coupon:
    """The coupon ``code`` if it applies to ``service`` now; ValidationError on ``coupon`` if not.

    A read only: ``redeem`` counts the use (the widget's price preview calls this).
    """
    coupon = db.scalar(select(Coupon).where(Coupon.expert_id == expert.id, Coupon.code == normalize(code)))
    if coupon is None:
        raise _refuse("This code is not valid.")
    if coupon.expires_at is not None and coupon.expires_at <= now:
        raise _refuse("This code has expired.")
    if coupon.services and service.slug not in coupon.services:
        raise _refuse("This code does not apply to this service.")
    if not service.price_amount:
        raise _refuse("This service is free: no code is needed.")
    if coupon.amount_off is not None and coupon.currency and coupon.currency != service.price_currency:
        raise _refuse("This code does not apply to this service.")
    if coupon.max_uses is not None and coupon.uses >= coupon.max_uses:
        raise _refuse("This code has been used up.")
    return coupon


def redeem(db: Session, expert: Expert, service: Service, code: str, now: datetime) -> Discount:
    """Count one use of ``code`` for a booking of ``service`` at its price; inside the booking's transaction.

    The conditional UPDATE is the promise: when the last use was taken by a parallel booking it
    matches no row and the client gets 422 on ``coupon``.
    """
    coupon = check(db, expert, service, code, now)
    won = db.scalar(
        update(Coupon)
        .where(Coupon.id == coupon.id,
               (Coupon.max_uses.is_(None)) | (Coupon.uses < Coupon.max_uses),
               (Coupon.expires_at.is_(None)) | (Coupon.expires_at > now))
        .values(uses=Coupon.uses + 1)
        .returning(Coupon.id)
        .execution_options(synchronize_session=False))
    if won is None:
        raise _refuse("This code has been used up.")
    return Discount(code=coupon.code, amount=discount_of(coupon, service.price_amount or 0))


def give_back(db: Session, booking: Booking) -> None:
    """Inside a cancellation's transaction: the booking's coupon use counts no more."""
    if not booking.coupon_code:
        return
    db.execute(update(Coupon)
               .where(Coupon.expert_id == booking.expert_id, Coupon.code == booking.coupon_code, Coupon.uses > 0)
               .values(uses=Coupon.uses - 1)
               .execution_options(synchronize_session=False))
