"""The dashboard's pages and actions. Each route parses the form, calls a service and renders.

Every POST is checked against the session's CSRF token before any view runs (``_check_csrf``);
actions redirect back to the overview with a flash message, and a domain error (a booking already
cancelled, a message no longer parked…) becomes that message instead of an error page.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_limiter.errors import RateLimitExceeded
from marshmallow import ValidationError as SchemaError

from backend import outbox
from backend.dashboard import actions, auth, formatting, forms
from backend.dashboard.common import NAV
from backend.errors import DomainError, RateLimited
from backend.extensions import db
from backend.links import app_links
from backend.models import Availability, Booking, Expert
from backend.payments import checkout, outside
from backend.ratelimit import limit
from backend.schemas import ExpertCancelInput
from backend.services import bookings, dashboard, experts, leads, waitlist
from backend.services.bookings import completion
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


@bp.context_processor
def _navigation() -> dict[str, Any]:
    """The navigation on every signed-in page; a page of its own section is marked current."""
    return {"nav": NAV, "section": request.endpoint}


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
    response.headers["Content-Security-Policy"] = g.get("dashboard_csp", CSP)  # the embed preview sets its own
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
    expert = experts.authenticate(db.session(), email, password) if len(password) <= MAX_PASSWORD else None
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
                           data=dashboard.overview(db.session(), expert, utcnow()), setup=_setup_steps(expert),
                           booking_url=f"{base_url}/book/{expert.slug}",
                           snippet=_embed_snippet(base_url, expert.slug))


def _setup_steps(expert: Expert) -> list[tuple[str, str, bool]] | None:
    """A new expert's checklist (label, link, done), or None once hours and a service exist."""
    av = db.session().get(Availability, expert.id)
    has_hours = bool(av and any(av.weekly.values()))
    has_services = any(not s.archived for s in expert.services)
    if has_hours and has_services:
        return None
    return [("Check your time zone and profile", url_for("dashboard.settings"), False),
            ("Set your weekly hours", url_for("dashboard.availability"), has_hours),
            ("Create a service", url_for("dashboard.new_service"), has_services),
            ("Put the widget on your site", url_for("dashboard.embed"), False)]


# An inline snippet reserves the widget's first screen from the host page's first frame (an async script
# always runs after it): embed.js gives the frame exactly this box, so nothing under it moves (README).
RESERVED_BOX = "min-height:720px"


def _embed_snippet(base_url: str, slug: str) -> str:
    """What the expert pastes into their site (README, "Embedding"); the template escapes it."""
    return (f'<div data-kairos-expert="{slug}" style="{RESERVED_BOX}"></div>\n'
            f'<script src="{base_url}/embed.js" async></script>')


@bp.get("/bookings/<booking_id>/cancel")
@auth.login_required
def cancel_form(booking_id: str) -> ResponseReturnValue:
    """Ask before cancelling, with room for a message to the client."""
    expert = auth.current_expert()
    booking = bookings.get_booking(db.session(), expert, booking_id)
    paid = [p for p in dashboard.payments_of(db.session(), booking) if p.status == "succeeded"]
    policy_refund = (booking.service.policy or {}).get("refund", "full")
    return render_template("dashboard/cancel.html", expert=expert, tz=expert.timezone, booking=booking,
                           paid=paid, policy_refund=policy_refund)


@bp.post("/bookings/<booking_id>/cancel")
@auth.login_required
def cancel(booking_id: str) -> ResponseReturnValue:
    """Cancel as the API's expert cancel does (no client cutoff; a paid booking is refunded in full, or as
    the service's policy says when the expert chooses that)."""
    expert = auth.current_expert()
    try:
        data = ExpertCancelInput().load({"reason": request.form.get("reason", "").strip(),
                                         "refund": request.form.get("refund", "full")})
    except SchemaError as error:
        flash("Choose how to refund." if "refund" in error.messages else "Keep the message under 2000 characters.",
              "error")
        return redirect(url_for("dashboard.cancel_form", booking_id=booking_id))
    return _act(lambda: bookings.cancel_booking(db.session(), bookings.get_booking(db.session(), expert, booking_id),
                                                actor="expert", reason=data["reason"], now=utcnow(),
                                                refund_by_policy=data["refund"] == "policy"),
                "Booking cancelled. The client is told by email.",
                after=lambda booking: checkout.after_booking_cancelled(db.session(), booking))


@bp.post("/bookings/<booking_id>/confirm")
@auth.login_required
def confirm(booking_id: str) -> ResponseReturnValue:
    """Confirm a pending booking by hand, as the API does (its payment is waived)."""
    expert = auth.current_expert()
    return _act(lambda: bookings.confirm_booking(db.session(), bookings.get_booking(db.session(), expert, booking_id),
                                                 actor="expert"),
                "Booking confirmed. The client is told by email.")


@bp.post("/bookings/<booking_id>/share")
@auth.login_required
def share(booking_id: str) -> ResponseReturnValue:
    """Email a pending session's link again, as the API's share does: a new link, the old one stops working."""
    expert = auth.current_expert()

    def rotate() -> tuple[Booking, str]:
        booking = bookings.get_booking(db.session(), expert, booking_id)
        if completion.lapsed(booking, utcnow()):  # reopened without expiry, if its time is still free
            completion.reopen(db.session(), booking, expires_at=None, now=utcnow())
        return booking, bookings.share_booking(db.session(), booking, app_links())

    return _act(rotate, lambda shared: _with_link(
        f"New link emailed to {shared[0].client.name}. The previous link no longer works. "
        "You can also send them this one:", shared[1]))


@bp.post("/bookings/<booking_id>/mark-paid")
@auth.login_required
def mark_paid(booking_id: str) -> ResponseReturnValue:
    """Record an outside payment, as the API's mark-paid does (a pending booking turns confirmed)."""
    expert = auth.current_expert()
    return _act(lambda: outside.mark_paid(db.session(), bookings.get_booking(db.session(), expert, booking_id),
                                          note=""), "Marked as paid.")


@bp.post("/waitlist/<entry_id>/remove")
@auth.login_required
def remove_from_waitlist(entry_id: str) -> ResponseReturnValue:
    """Take someone off a session's waitlist, as the API's DELETE does (a held seat goes to the next person)."""
    expert = auth.current_expert()
    return _act(lambda: waitlist.remove(db.session(), expert, entry_id, utcnow()),
                lambda entry: f"{entry.client.name} is off the waitlist.")


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
        booking, share_url = bookings.set_up_session(db.session(), expert,
                                                     forms.api_input(form, expert.timezone, utcnow()),
                                                     now=utcnow(), links=app_links())
        db.session.commit()
    except DomainError as error:
        db.session.rollback()  # the service may have taken the expert's lock: nothing it began is kept
        form.errors = forms.errors_of(error, form.custom_time)
        return _new_session_page(expert, form, 422)
    shared = _with_link(f"Session set up. {booking.client.name} was emailed a link to complete it. "
                        "You can also send them this one:", share_url)
    flash(shared, "success")  # type: ignore[arg-type]  # Flask types it str; it keeps any JSON, base.html reads this
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
    return _act(lambda: leads.close_lead(db.session(), expert, lead_id), "Lead closed.")


@bp.post("/outbox/<id:message_id>/retry")
@auth.login_required
def retry_message(message_id: int) -> ResponseReturnValue:
    expert = auth.current_expert()
    return _act(lambda: outbox.retry_parked(db.session(), expert.id, message_id), "Message queued to be sent again.")


def _back() -> str:
    """Where an action returns: the dashboard page the form names in ``next`` (the booking's own page),
    else the overview. Only a path of this dashboard is followed, never another site."""
    target = request.form.get("next", "")
    if target.startswith("/dashboard/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("dashboard.home")


def _act(action: Callable[[], Any], done: str | Callable[[Any], Any],
         after: Callable[[Any], None] | None = None) -> ResponseReturnValue:
    """Run an action as one unit of work; flash ``done`` (or ``done(result)``), or the domain error's own
    message, and go back (``_back``). ``after(result)`` runs once the unit committed (Stripe calls)."""
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
    return redirect(_back())
