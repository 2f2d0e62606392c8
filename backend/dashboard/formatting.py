"""How the dashboard writes times, money and states: readable, in the expert's own time zone."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from backend.models import Booking, ServiceSession
from backend.money import money
from backend.timeutil import zone
from backend.views.payments import payment_view

# 24-hour times, always padded (09:00), like the widget's default.
PAYMENT_LABELS = {
    "paid": "Paid", "refunded": "Refunded", "pay_outside": "Paid outside Kairos", "waived": "Waived",
    "requires_payment": "Awaiting payment", "processing": "Processing", "cancelled": "Cancelled",
    "credit_used": "Package credit", "credit_returned": "Credit returned",
}
STATUS_LABELS = {
    "confirmed": "Confirmed", "pending": "Pending", "pending_payment": "Awaiting payment", "cancelled": "Cancelled",
    "scheduling_in_progress": "Scheduling in progress", "booked": "Booked", "closed": "Closed", "parked": "Parked",
}


def local(instant: datetime, tz: str) -> datetime:
    """``instant`` on the wall clock of ``tz``."""
    return instant.astimezone(zone(tz))


def date_time(instant: datetime, tz: str) -> str:
    """``Mon 7 Jan 2030, 09:00`` in ``tz``."""
    at = local(instant, tz)
    return f"{at:%a} {at.day} {at:%b %Y}, {at:%H:%M}"


def time_range(start: datetime, end: datetime, tz: str) -> str:
    """``Mon 7 Jan 2030, 09:00–09:30`` (the end's date too when it falls on another day)."""
    first, last = local(start, tz), local(end, tz)
    if first.date() == last.date():
        return f"{date_time(start, tz)}–{last:%H:%M}"
    return f"{date_time(start, tz)} – {date_time(end, tz)}"


def iso(instant: datetime, tz: str) -> str:
    """The machine-readable form for ``<time datetime>``."""
    return local(instant, tz).isoformat(timespec="minutes")


def payment(view: dict[str, Any] | None) -> str:
    """A booking's payment state in words (``views.payments.payment_view``), or an em dash when it is free."""
    if not view:
        return "—"
    label = PAYMENT_LABELS.get(view.get("status", ""), str(view.get("status", "")).replace("_", " ").capitalize())
    price = money(view.get("amount"), view.get("currency"))
    text = f"{label} · {price}" if price else label
    if view.get("amount_due"):  # a deposit booking: what is still to pay
        text += f" · {money(view['amount_due'], view.get('currency'))} still due"
    return text


def payment_of(booking: Booking) -> str:
    """The booking's payment state in words, from the payments recorded (as the API shows it)."""
    return payment(payment_view(booking))


def status(code: str) -> str:
    """A booking, lead or message status in words."""
    return STATUS_LABELS.get(code, code.replace("_", " ").capitalize())


def session_option(session: ServiceSession, tz: str) -> tuple[str, str]:
    """A ``<select>`` option for a scheduled session: its id and when, in ``tz``."""
    return session.id, time_range(session.start, session.end, tz)


FILTERS = {"dash_datetime": date_time, "dash_range": time_range, "dash_iso": iso, "dash_payment": payment, "dash_payment_of": payment_of,
           "dash_status": status, "dash_money": money, "dash_session_option": session_option}
