"""``booking.payment`` as clients and experts see it (API.md), built from the payments recorded."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import object_session

from backend.models import Booking, ClientPackage
from backend.payments import ledger
from backend.statuses import BookingPaymentStatus as S
from backend.statuses import BookingStatus
from backend.timeutil import iso_in


def payment_view(booking: Booking) -> dict[str, Any] | None:
    """``booking.payment`` (API.md), or None for a free booking."""
    option = booking.payment_option
    if not option:
        return None
    db = object_session(booking)
    view: dict[str, Any] = {"option": option, "amount": booking.price_amount, "currency": booking.price_currency}
    if option == "package":
        returned = db is not None and bool(ledger.events(db, booking.id, "credit_returned"))
        view["status"] = S.CREDIT_RETURNED if returned else S.CREDIT_USED
        package = db.get(ClientPackage, booking.client_package_id) if db and booking.client_package_id else None
        if package is not None:
            view["package"] = {"name": package.name, "credits_left": package.credits_total - package.credits_used}
        return view
    payments = ledger.payments_of(db, booking.id) if db is not None else []
    paid = [p for p in payments if p.status in ("succeeded", "refunded")]
    refunded = sum(p.refunded_amount or 0 for p in paid)
    if paid:
        view["status"] = S.PAID if any(p.status == "succeeded" for p in paid) else S.REFUNDED
        if refunded:
            view["refunded_amount"] = refunded
    elif option == "outside":
        view["status"] = S.PAY_OUTSIDE
    elif booking.status == BookingStatus.PENDING_PAYMENT:
        latest = payments[-1] if payments else None
        view["status"] = S.PROCESSING if latest is not None and latest.status == "processing" else S.REQUIRES_PAYMENT
        if latest is not None and latest.status == "failed" and latest.last_error:
            view["last_error"] = latest.last_error
    elif booking.status == BookingStatus.CONFIRMED:
        view["status"] = S.WAIVED  # the expert confirmed it by hand
    elif booking.status == BookingStatus.CANCELLED:
        view["status"] = S.CANCELLED
    else:
        view["status"] = S.REQUIRES_PAYMENT
    if booking.deposit_amount:
        view["deposit"] = booking.deposit_amount
        if db is not None:
            view["amount_due"] = ledger.balance_due(db, booking)
    if option == "outside":
        view["instructions"] = booking.service.outside_payment_instructions
    if booking.status == BookingStatus.PENDING_PAYMENT and booking.hold_expires_at:
        view["hold_expires_at"] = iso_in(booking.hold_expires_at, booking.timezone)
    return view


def pay_links(manage_url: str | None) -> dict[str, str]:
    """The payment endpoints of a booking, from its manage link (the token is the only key)."""
    if not manage_url or "/manage/" not in manage_url:
        return {}
    base, token = manage_url.rsplit("/manage/", 1)
    return {"pay_url": f"{base}/api/v1/manage/{token}/payment"}
