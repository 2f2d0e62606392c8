"""One-click payment of a new booking with a signed-in client's saved card (after its transaction commits)."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from backend.models import Booking, Client
from backend.payments import checkout, online
from backend.views.bookings import booking_view
from backend.views.payments import payment_view


def pay_new_booking(db: Session, found: tuple[int, dict[str, Any]], client: Client, card_id: str,
                    now: Any) -> tuple[int, dict[str, Any]]:
    """``create_booking``'s answer, paid with ``card_id`` when it is an online booking still held.

    A replayed answer (same Idempotency-Key) of a booking already paid comes back as it is now.
    A declined card raises PaymentFailed (402); the booking stays held for another card.
    """
    status, body = found
    booking_id = (body.get("booking") or {}).get("id")
    booking = db.get(Booking, booking_id) if booking_id else None
    if booking is None or status != 201 or booking.payment_option != "online" or booking.client_id != client.id:
        return checkout.after_booking(db, found)
    manage_url = body["booking"].get("manage_url")
    if booking.status == "pending_payment":  # the route checked the card is the client's
        extra = online.pay_with_saved_card(db, booking, card_id, now)
    else:
        extra = {}
    db.refresh(booking)
    view = booking_view(booking, manage_url=manage_url)
    view["payment"] = {**(payment_view(booking) or {}), **extra}
    return status, {**body, "booking": view}
