"""Bookings: the list (filters, search by client, keyset pages) and one booking's page (history,
payment and refunds, answers) with its actions: confirm, share again, mark paid and cancel live in
``routes.py``; rescheduling is here. Every action calls the booking rules the expert API calls."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError as SchemaError

from backend.dashboard import auth, formatting
from backend.dashboard.common import Form, page, renamed, save
from backend.dashboard.forms import FormInvalid, local_instant
from backend.dashboard.routes import bp
from backend.extensions import db
from backend.models import Booking, Payment
from backend.payments import ledger
from backend.schemas import PageCursor, PageQuery
from backend.services import bookings as booking_rules
from backend.services import catalog, dashboard
from backend.types import utcnow
from backend.views.payments import payment_view

PAGE_SIZE = 25
VIEW_LABELS = {"upcoming": "Upcoming", "pending": "Pending", "past": "Past", "cancelled": "Cancelled", "all": "All"}
EVENT_LABELS = {
    "created": "Booked", "confirmed": "Confirmed", "cancelled": "Cancelled", "rescheduled": "Moved",
    "shared": "Link sent again", "paid": "Paid", "payment_failed": "Payment failed", "refunded": "Refunded",
    "refund_requested": "Refund requested", "credit_used": "Package credit used",
    "credit_returned": "Package credit given back", "hold_renewed": "Hold renewed",
    "refund_skipped": "No refund (policy)",
}
ACTORS = {"client": "the client", "expert": "you", "system": "Kairos"}


def cursor_of(text: str | None) -> tuple | None:
    """A ``next_cursor`` from the page's own link, or None (a foreign or broken one starts over)."""
    if not text:
        return None
    try:
        return PageQuery().load({"cursor": text}).get("cursor")
    except SchemaError:
        return None


@bp.get("/bookings")
@auth.login_required
def bookings() -> ResponseReturnValue:
    """Bookings by filter (upcoming by default), searched by client name or email, 25 a page."""
    expert = auth.current_expert()
    view = request.args.get("view", "upcoming")
    view = view if view in dashboard.BOOKING_VIEWS else "upcoming"
    q = request.args.get("q", "").strip()[:200]
    after = cursor_of(request.args.get("cursor"))
    if after is not None and not isinstance(after[1], str):
        after = None
    rows = dashboard.find_bookings(db.session(), expert, view, utcnow(), q=q, limit=PAGE_SIZE + 1, after=after)
    next_cursor = PageCursor.encode(rows[PAGE_SIZE - 1].start, rows[PAGE_SIZE - 1].id) if len(rows) > PAGE_SIZE else None
    return page("dashboard/bookings.html", "dashboard.bookings", rows=rows[:PAGE_SIZE], view=view, q=q,
                views=VIEW_LABELS, next_cursor=next_cursor, paged=after is not None)


@dataclass(frozen=True)
class Deposit:
    """A deposit booking's money: the deposit asked, what was paid (kept, after refunds), the balance due."""

    amount: int
    currency: str
    paid: int
    due: int


def deposit_of(booking: Booking, payments: list[Payment]) -> Deposit | None:
    """The deposit facts of ``booking`` (None without a deposit); the balance is the ledger's, as the API shows it."""
    if not booking.deposit_amount:
        return None
    return Deposit(booking.deposit_amount, booking.price_currency or "", ledger.paid_total(payments),
                   ledger.balance_due(db.session(), booking))


def _booking_page(booking: Booking, form: Form | None = None, status: int = 200) -> ResponseReturnValue:
    expert = auth.current_expert()
    payments = dashboard.payments_of(db.session(), booking)
    now = utcnow()
    labels = {q.get("id"): q.get("label") for q in booking.service.questions or []}
    sessions = []
    if booking.service.kind != "personal" and booking.status != "cancelled":
        sessions = [row for row in catalog.sessions_with_seats(db.session(), booking.service, now, since=now)
                    if row.seats_left > 0 and row.session.id != booking.session_id]
    local_start = formatting.local(booking.start, expert.timezone)
    return page("dashboard/booking.html", "dashboard.bookings", status, booking=booking,
                payment=payment_view(booking), payments=payments, deposit=deposit_of(booking, payments),
                answers=[(labels.get(k, k), v) for k, v in (booking.answers or {}).items()],
                events=booking.events, event_labels=EVENT_LABELS, actors=ACTORS, sessions=sessions,
                form=form or Form(values={"date": local_start.date().isoformat(), "time": local_start.strftime("%H:%M")}),
                today=formatting.local(now, expert.timezone).date())


@bp.get("/bookings/<booking_id>")
@auth.login_required
def booking(booking_id: str) -> ResponseReturnValue:
    """One booking: when, who, answers, payment and refunds, history, and what can be done."""
    return _booking_page(booking_rules.get_booking(db.session(), auth.current_expert(), booking_id))


@bp.post("/bookings/<booking_id>/reschedule")
@auth.login_required
def reschedule(booking_id: str) -> ResponseReturnValue:
    """Move a booking to another free time (personal: a date and time on the expert's clock; group
    and mini: another session), as the booking rules do for any reschedule; the client is emailed."""
    expert = auth.current_expert()
    found = booking_rules.get_booking(db.session(), expert, booking_id)
    form = Form(values={n: str(request.form.get(n, "")).strip()[:60] for n in ("date", "time", "session")})

    def move() -> Booking:
        start, session_id = None, None
        if found.service.kind == "personal":
            try:
                day, at = date.fromisoformat(form.get("date")), time.fromisoformat(form.get("time"))
            except ValueError:
                raise FormInvalid(fields={"time": ["Enter the new date and a time like 09:30."]}) from None
            start = local_instant(day, at.replace(second=0, microsecond=0), expert.timezone)
        elif not form.get("session"):
            raise FormInvalid(fields={"session": ["Choose the session to move to."]})
        else:
            session_id = form.get("session")
        return booking_rules.reschedule_booking(db.session(), found, start=start, session_id=session_id,
                                                timezone=found.timezone, actor="expert", now=utcnow())

    if save(form, move) is None:
        form.errors = renamed(form.errors, lambda k: "time" if k == "start" else k)
        if set(form.errors) == {"form"}:
            form.errors = {"time" if found.service.kind == "personal" else "session": form.errors["form"]}
        return _booking_page(booking_rules.get_booking(db.session(), expert, booking_id), form, 422)
    flash("Booking moved. The client is told by email.", "success")
    return redirect(url_for("dashboard.booking", booking_id=booking_id))
