"""The dashboard's pages and actions. Each route parses the form, calls a service and renders.

Every POST is checked against the session's CSRF token before any view runs (``_check_csrf``);
actions redirect back to the overview with a flash message, and a domain error (a booking already
cancelled, a message no longer parked…) becomes that message instead of an error page.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_limiter.errors import RateLimitExceeded
from marshmallow import ValidationError as SchemaError

from backend import outbox, worker
from backend.calendar_schemas import CalendarCreate
from backend.calendars import sources
from backend.dashboard import actions, auth, formatting, forms
from backend.errors import DomainError, RateLimited
from backend.extensions import db
from backend.links import app_links
from backend.models import Booking, Expert
from backend.payments import checkout, outside
from backend.ratelimit import limit
from backend.schemas import CancelInput
from backend.services import bookings, dashboard, experts, leads
from backend.services.bookings import completion
from backend.statuses import CalendarStatus
from backend.types import utcnow

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

CSP = "; ".join([
    "default-src 'self'", "style-src 'self'", "img-src 'self' data:", "base-uri 'none'", "form-action 'self'",
    "frame-ancestors 'none'",
])
LOGIN_FAILED = "That email and password do not match an account. Check both and try again."
MAX_EMAIL, MAX_PASSWORD = 320, 1024  # longer input is not hashed: nobody's password is that long


@bp.app_template_global("dash_csrf_token")
def _csrf_token_global() -> str:
    return auth.csrf_token()


def _register_filters(state) -> None:
    state.app.jinja_env.filters.update(formatting.FILTERS)
    state.app.jinja_env.tests.update(actions.TESTS)


bp.record_once(_register_filters)


@bp.before_request
def _check_csrf() -> ResponseReturnValue | None:
    """Refuse any POST whose form does not carry this session's token (another site cannot read it)."""
    if request.method == "POST" and not auth.csrf_valid(request.form.get(auth.CSRF_FIELD)):
        return render_template("dashboard/csrf.html"), 403
    return None


@bp.after_request
def _page_headers(response: Response) -> Response:
    """No inline code, no framing, nothing cached: these pages show clients' personal data."""
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.errorhandler(RateLimitExceeded)
def _too_many(error: RateLimitExceeded) -> ResponseReturnValue:
    """Too many sign-in attempts: the form again with the wait message (a page, not the API's JSON);
    Flask-Limiter adds Retry-After."""
    return _login_page(request.form.get("email", "")[:MAX_EMAIL], RateLimited.message, 429)


def _login_page(email: str = "", error: str | None = None, status: int = 200) -> ResponseReturnValue:
    return render_template("dashboard/login.html", email=email, error=error), status


@bp.get("/login")
def login() -> ResponseReturnValue:
    """The sign-in form (or the dashboard, for someone already signed in)."""
    if auth.signed_in_expert() is not None:
        return redirect(url_for("dashboard.home"))
    return _login_page()


@bp.post("/login")
@limit("login", per_minute=10)
def login_submit() -> ResponseReturnValue:
    """Check email and password; one message for any mismatch, so it never says which emails exist."""
    email = request.form.get("email", "").strip()[:MAX_EMAIL]
    password = request.form.get("password", "")
    expert = experts.authenticate(db.session, email, password) if len(password) <= MAX_PASSWORD else None
    if expert is None:
        return _login_page(email, LOGIN_FAILED, 401)
    auth.sign_in(expert)
    return redirect(url_for("dashboard.home"))


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    auth.sign_out()
    flash("You are signed out.", "info")
    return redirect(url_for("dashboard.login"))


@bp.get("/")  # registered second: url_for gives the canonical /dashboard
@bp.get("")
@auth.login_required
def home() -> ResponseReturnValue:
    """The overview: bookings, pending sessions, cancellations, leads, clients, parked messages, the snippet."""
    expert = auth.current_expert()
    base_url = current_app.config["KAIROS"].base_url
    return render_template("dashboard/home.html", expert=expert, tz=expert.timezone,
                           data=dashboard.overview(db.session, expert, utcnow()),
                           booking_url=f"{base_url}/book/{expert.slug}",
                           snippet=_embed_snippet(base_url, expert.slug))


def _embed_snippet(base_url: str, slug: str) -> str:
    """What the expert pastes into their site (README, "Embedding"); the template escapes it."""
    return (f'<div data-kairos-expert="{slug}"></div>\n'
            f'<script src="{base_url}/embed.js" async></script>')


@bp.get("/bookings/<booking_id>/cancel")
@auth.login_required
def cancel_form(booking_id: str) -> ResponseReturnValue:
    """Ask before cancelling, with room for a message to the client."""
    expert = auth.current_expert()
    booking = bookings.get_booking(db.session, expert, booking_id)
    return render_template("dashboard/cancel.html", expert=expert, tz=expert.timezone, booking=booking)


@bp.post("/bookings/<booking_id>/cancel")
@auth.login_required
def cancel(booking_id: str) -> ResponseReturnValue:
    """Cancel as the API's expert cancel does (no client policy; a paid booking is refunded in full)."""
    expert = auth.current_expert()
    try:
        reason = CancelInput().load({"reason": request.form.get("reason", "").strip()})["reason"]
    except SchemaError:
        flash("Keep the message under 2000 characters.", "error")
        return redirect(url_for("dashboard.cancel_form", booking_id=booking_id))
    return _act(lambda: bookings.cancel_booking(db.session, bookings.get_booking(db.session, expert, booking_id),
                                                actor="expert", reason=reason, now=utcnow()),
                "Booking cancelled. The client is told by email.",
                after=lambda booking: checkout.after_booking_cancelled(db.session, booking))


@bp.post("/bookings/<booking_id>/confirm")
@auth.login_required
def confirm(booking_id: str) -> ResponseReturnValue:
    """Confirm a pending booking by hand, as the API does (its payment is waived)."""
    expert = auth.current_expert()
    return _act(lambda: bookings.confirm_booking(db.session, bookings.get_booking(db.session, expert, booking_id),
                                                 actor="expert"),
                "Booking confirmed. The client is told by email.")


@bp.post("/bookings/<booking_id>/share")
@auth.login_required
def share(booking_id: str) -> ResponseReturnValue:
    """Email a pending session's link again, as the API's share does: a new link, the old one stops working."""
    expert = auth.current_expert()

    def rotate() -> tuple[Booking, str]:
        booking = bookings.get_booking(db.session, expert, booking_id)
        if completion.lapsed(booking, utcnow()):  # reopened without expiry, if its time is still free
            completion.reopen(db.session, booking, expires_at=None, now=utcnow())
        return booking, bookings.share_booking(db.session, booking, app_links())

    return _act(rotate, lambda shared: _with_link(
        f"New link emailed to {shared[0].client.name}. The previous link no longer works. "
        "You can also send them this one:", shared[1]))


@bp.post("/bookings/<booking_id>/mark-paid")
@auth.login_required
def mark_paid(booking_id: str) -> ResponseReturnValue:
    """Record an outside payment, as the API's mark-paid does (a pending booking turns confirmed)."""
    expert = auth.current_expert()
    return _act(lambda: outside.mark_paid(db.session, bookings.get_booking(db.session, expert, booking_id), note=""),
                "Marked as paid.")


@bp.get("/sessions/new")
@auth.login_required
def new_session() -> ResponseReturnValue:
    """The form to set up a session for a client (DESIGN.md, flow 2), the first service chosen."""
    expert = auth.current_expert()
    services = forms.bookable_services(expert)
    return _new_session_page(expert, forms.NewSession(service=services[0].slug if services else forms.ONE_OFF))


@bp.post("/sessions/new")
@auth.login_required
def new_session_submit() -> ResponseReturnValue:
    """Set the session up as the API's POST /admin/bookings does; a refusal shows the form again, as typed."""
    expert = auth.current_expert()
    form = forms.NewSession.from_form(request.form)
    try:
        booking, share_url = bookings.set_up_session(db.session, expert, forms.api_input(form, expert.timezone, utcnow()),
                                                     now=utcnow(), links=app_links())
        db.session.commit()
    except DomainError as error:
        db.session.rollback()  # the service may have taken the expert's lock: nothing it began is kept
        form.errors = forms.errors_of(error, form.custom_time)
        return _new_session_page(expert, form, 422)
    flash(_with_link(f"Session set up. {booking.client.name} was emailed a link to complete it. "
                     "You can also send them this one:", share_url), "success")
    return redirect(url_for("dashboard.home"))


def _new_session_page(expert: Expert, form: forms.NewSession, status: int = 200) -> ResponseReturnValue:
    """The form, filled with ``form`` (its values and errors); the date picker starts at today, the expert's."""
    today = formatting.local(utcnow(), expert.timezone).date()
    return render_template("dashboard/new_session.html", expert=expert, tz=expert.timezone, form=form,
                           services=forms.bookable_services(expert), today=today,
                           payment_choices=forms.ONE_OFF_PAYMENT_OPTIONS, expiry_choices=forms.EXPIRY_CHOICES), status


def _with_link(text: str, link: str) -> dict[str, str]:
    """A flash message that carries a link to copy (base.html shows it on a line of its own)."""
    return {"text": text, "link": link}


@bp.post("/leads/<lead_id>/close")
@auth.login_required
def close_lead(lead_id: str) -> ResponseReturnValue:
    expert = auth.current_expert()
    return _act(lambda: leads.close_lead(db.session, expert, lead_id), "Lead closed.")


@bp.post("/outbox/<id:message_id>/retry")
@auth.login_required
def retry_message(message_id: int) -> ResponseReturnValue:
    expert = auth.current_expert()
    return _act(lambda: outbox.retry_parked(db.session, expert.id, message_id), "Message queued to be sent again.")


def _act(action: Callable[[], Any], done: str | Callable[[Any], Any],
         after: Callable[[Any], None] | None = None) -> ResponseReturnValue:
    """Run an action as one unit of work; flash ``done`` (or ``done(result)``), or the domain error's own
    message, and go back to the overview. ``after(result)`` runs once the unit committed (Stripe calls)."""
    try:
        result = action()
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        if after is not None:
            after(result)
        flash(done(result) if callable(done) else done, "success")
    return redirect(url_for("dashboard.home"))


# --- the expert's calendars: the same services and request schema as /api/v1/admin/calendars --------

#: What each status means to the expert, in the list.
STATUS_TEXT = {CalendarStatus.PENDING: "Not read yet", CalendarStatus.OK: "Up to date",
               CalendarStatus.FAILING: "Cannot be read"}


def _page(values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
          status: int = 200) -> ResponseReturnValue:
    expert = auth.current_expert()
    rows = sources.list_sources(db.session(), expert.id)
    return render_template("dashboard/calendars.html", expert=expert, tz=expert.timezone, calendars=rows,
                           status_text=STATUS_TEXT, values=values or {"type": "caldav"}, errors=errors or {}), status


@bp.get("/calendars")
@auth.login_required
def calendars() -> ResponseReturnValue:
    """The expert's calendars, their health, and the form to connect another."""
    return _page()


@bp.post("/calendars")
@auth.login_required
def add_calendar() -> ResponseReturnValue:
    """Connect a calendar and read it at once, so the expert sees whether it works."""
    form = request.form
    values = {"type": form.get("type", ""), "url": form.get("url", "").strip(),
              "username": form.get("username", "").strip(), "write_bookings": form.get("write_bookings") == "on"}
    data = {key: value for key, value in values.items() if value not in ("", None)}
    if form.get("password"):
        data["password"] = form["password"]
    settings = current_app.config["KAIROS"]
    try:
        loaded = CalendarCreate().load(data)
        source = sources.add_source(db.session(), auth.current_expert(), loaded, secret_key=settings.secret_key,
                                    allow_private=settings.calendar_allow_private)
        db.session.commit()
    except SchemaError as error:
        messages = error.messages if isinstance(error.messages, dict) else {"url": error.messages}
        return _page(values, {k: " ".join(v) if isinstance(v, list) else str(v) for k, v in messages.items()}, 422)
    except DomainError as error:
        db.session.rollback()
        return _page(values, {k: " ".join(v) for k, v in (error.fields or {"url": [error.message]}).items()}, 422)
    worker.sync_calendar(db.session(), settings, source.id)
    _flash_health(source.id, "Calendar connected.")
    return redirect(url_for("dashboard.calendars"))


@bp.post("/calendars/<calendar_id>/sync")
@auth.login_required
def sync_calendar(calendar_id: str) -> ResponseReturnValue:
    """Read a calendar now (also how to test it after fixing its address or password on the server)."""
    source = sources.get_source(db.session(), auth.current_expert().id, calendar_id)
    worker.sync_calendar(db.session(), current_app.config["KAIROS"], source.id)
    _flash_health(source.id, "Calendar read again.")
    return redirect(url_for("dashboard.calendars"))


@bp.post("/calendars/<calendar_id>/remove")
@auth.login_required
def remove_calendar(calendar_id: str) -> ResponseReturnValue:
    """Disconnect a calendar: its busy times stop blocking at once."""
    sources.remove_source(db.session(), sources.get_source(db.session(), auth.current_expert().id, calendar_id))
    db.session.commit()
    flash("Calendar removed. Its events no longer block your time.", "success")
    return redirect(url_for("dashboard.calendars"))


def _flash_health(calendar_id: str, done: str) -> None:
    source = sources.get_source(db.session(), auth.current_expert().id, calendar_id)
    if source.status == CalendarStatus.FAILING:
        flash(f"{done} It cannot be read yet: {source.last_error}", "error")
    else:
        flash(f"{done} Its busy times now block your availability.", "success")
