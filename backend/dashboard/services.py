"""Services: list, create, edit, reorder, archive (every kind, through ``ServiceSchema`` and the
same ``experts``/``catalog`` services as the expert API), and the dated sessions of group, series
and mini services with who holds their seats."""
from __future__ import annotations

from datetime import date, time
from typing import Any

from flask import current_app, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue

from backend.dashboard import auth, formatting, service_form
from backend.dashboard.common import Form, act, load, page, renamed, save
from backend.dashboard.forms import FormInvalid, local_instant
from backend.dashboard.removal import Removal
from backend.dashboard.routes import bp
from backend.errors import NotFound
from backend.extensions import db
from backend.models import LOCATION_TYPES, PHONE_MODES, VISIBILITIES, Service, ServiceSession
from backend.schemas import MiniDayCreate, ServiceSchema, SessionCreate, patch_schema
from backend.services import catalog, experts
from backend.services import sessions as sessions_service
from backend.types import utcnow

LOCATION_LABELS = {"video": "Video call", "phone": "Phone call", "in_person": "In person", "custom": "Somewhere else"}
PHONE_LABELS = {"hidden": "Don’t ask", "optional": "Ask, optional", "required": "Ask, required"}
VISIBILITY_LABELS = {"public": "Public: listed on your booking page",
                     "unlisted": "Unlisted: only people with the direct link",
                     "clients": "Existing clients only, once signed in"}
KIND_LABELS = {kind: label for kind, label, _ in service_form.KINDS}


def _stripe_enabled() -> bool:
    return bool(current_app.config["KAIROS"].stripe_secret_key)


def _choices() -> dict[str, Any]:
    return {"kinds": service_form.KINDS, "locations": [(t, LOCATION_LABELS[t]) for t in LOCATION_TYPES],
            "phones": [(p, PHONE_LABELS[p]) for p in PHONE_MODES],
            "visibilities": [(v, VISIBILITY_LABELS[v]) for v in VISIBILITIES],
            "currencies": service_form.CURRENCIES, "stripe": _stripe_enabled()}


@bp.get("/services")
@auth.login_required
def services() -> ResponseReturnValue:
    """The expert's services in their booking-page order, with their main facts and actions."""
    expert = auth.current_expert()
    return page("dashboard/services.html", "dashboard.services", services=catalog.live_services(expert),
                kinds=KIND_LABELS, visibilities=VISIBILITY_LABELS)


def _editor(form: Form, service: Service | None, status: int = 200) -> ResponseReturnValue:
    expert = auth.current_expert()
    return page("dashboard/service_form.html", "dashboard.services", status, form=form, service=service,
                preview_url=(url_for("pages.widget", expert=expert.slug, service=service.slug) if service else None),
                **_choices())


@bp.get("/services/new")
@auth.login_required
def new_service() -> ResponseReturnValue:
    """An empty editor (``?kind=group`` starts with another kind chosen)."""
    form = service_form.form_of(None)
    if request.args.get("kind") in KIND_LABELS:
        form.values["kind"] = request.args["kind"]
    if form.values["kind"] != "personal":
        form.values["location.type"] = "in_person"
    return _editor(form, None)


@bp.get("/services/<slug>/edit")
@auth.login_required
def edit_service(slug: str) -> ResponseReturnValue:
    """The editor filled with one of the expert's services, beside its live preview."""
    service = experts.get_service(db.session(), auth.current_expert(), slug)
    return _editor(service_form.form_of(service), service)


def _submit(service: Service | None) -> ResponseReturnValue:
    """Create or change a service from the posted editor; errors come back beside their fields."""
    expert = auth.current_expert()
    form = service_form.posted_form(request.form)
    if service is not None:
        form.values["kind"] = service.kind  # a service keeps its kind: its sessions and bookings depend on it
    if "add_question" in request.form:
        form.values["questions"].append({"id": "", "label": "", "type": "text", "required": False, "options": []})
        form.values["focus"] = f"questions.{len(form.values['questions']) - 1}.label"
        return _editor(form, service)
    raw, errors = service_form.api_input(form, creating=service is None)

    def change() -> Service:
        if service is None:
            data = load(ServiceSchema(), raw, errors)
            return experts.create_service(db.session(), expert, data, stripe_enabled=_stripe_enabled())
        data = load(patch_schema(ServiceSchema), raw, errors)
        return experts.apply_service_changes(db.session(), expert, service, data, stripe_enabled=_stripe_enabled())

    saved = save(form, change)
    if saved is None:
        form.errors = renamed(form.errors, service_form.field_of)
        return _editor(form, service, 422)
    flash(f"“{saved.name}” saved. The preview shows it as clients will.", "success")
    return redirect(url_for("dashboard.edit_service", slug=saved.slug))


@bp.post("/services/new")
@auth.login_required
def create_service() -> ResponseReturnValue:
    """Create a service from the empty editor."""
    return _submit(None)


@bp.post("/services/<slug>/edit")
@auth.login_required
def update_service(slug: str) -> ResponseReturnValue:
    """Save the editor's changes to one of the expert's services."""
    return _submit(experts.get_service(db.session(), auth.current_expert(), slug))


@bp.post("/services/<slug>/move")
@auth.login_required
def move_service(slug: str) -> ResponseReturnValue:
    """One place up or down on the booking page."""
    expert = auth.current_expert()
    offset = -1 if request.form.get("direction") == "up" else 1
    return act(lambda: catalog.move_service(db.session(), expert, slug, offset),
               lambda s: f"“{s.name}” moved {'up' if offset < 0 else 'down'}.", url_for("dashboard.services"))


@bp.get("/services/<slug>/remove")
@auth.login_required
def remove_service_form(slug: str) -> ResponseReturnValue:
    """Ask before taking a service out of the offer."""
    service = experts.get_service(db.session(), auth.current_expert(), slug)
    return page("dashboard/service_remove.html", "dashboard.services", service=service)


@bp.post("/services/<slug>/remove")
@auth.login_required
def remove_service(slug: str) -> ResponseReturnValue:
    """Archive a service with bookings, delete one without."""
    expert = auth.current_expert()
    name = experts.get_service(db.session(), expert, slug).name
    service = experts.get_service(db.session(), expert, slug)

    def remove() -> bool:
        experts.remove_service(db.session(), service)
        return service.archived

    return act(remove, lambda archived: f"“{name}” " + ("archived: its bookings stay in your lists." if archived else "deleted."),
               url_for("dashboard.services"))


# --- scheduled sessions ------------------------------------------------------------------------

SESSION_FIELDS = ("date", "start_time", "end_time", "capacity", "slot_minutes", "gap_minutes", "location.name",
                  "location.address")


def _sessions_page(service: Service, session_form: Form | None = None, status: int = 200) -> ResponseReturnValue:
    expert = auth.current_expert()
    now = utcnow()
    past = request.args.get("past") == "1"
    defaults = {"capacity": str(service.capacity), "slot_minutes": str(service.duration_minutes), "gap_minutes": "0"}
    return page("dashboard/sessions.html", "dashboard.services", status, service=service,
                sessions=catalog.sessions_with_seats(db.session(), service, now, since=None if past else now),
                past=past, form=session_form or Form(values=defaults), kinds=KIND_LABELS,
                today=formatting.local(now, expert.timezone).date())


@bp.get("/services/<slug>/sessions")
@auth.login_required
def sessions(slug: str) -> ResponseReturnValue:
    """A group, series or mini service's dated sessions, seats taken and who holds them."""
    service = experts.get_service(db.session(), auth.current_expert(), slug)
    if service.kind == "personal":
        return redirect(url_for("dashboard.availability"))
    return _sessions_page(service)


def _wall_times(form: Form, tz: str) -> tuple[date | None, dict[str, list[str]]]:
    """The date and times typed, checked to exist on that date in ``tz`` (not skipped by DST)."""
    errors: dict[str, list[str]] = {}
    day: date | None = None
    try:
        day = date.fromisoformat(form.get("date"))
    except ValueError:
        errors["date"] = ["Choose the date."]
    for name in ("start_time", "end_time"):
        try:
            at = time.fromisoformat(form.get(name))
        except ValueError:
            errors[name] = ["Enter a time like 09:30."]
            continue
        if day is not None:
            try:
                local_instant(day, at, tz)
            except FormInvalid as error:
                errors[name] = error.fields["time"]
    if not errors and form.get("end_time") <= form.get("start_time"):
        errors["end_time"] = ["The end must be after the start."]
    return day, errors


def _place(form: Form) -> dict[str, str] | None:
    place = {"type": "in_person", **{k: form.get(f"location.{k}") for k in ("name", "address") if form.get(f"location.{k}")}}
    return place if len(place) > 1 else None


@bp.post("/services/<slug>/sessions")
@auth.login_required
def add_session(slug: str) -> ResponseReturnValue:
    """A dated session (group or series), or a mini-session day cut into slots (mini)."""
    expert = auth.current_expert()
    service = experts.get_service(db.session(), expert, slug)
    form = Form(values={n: str(request.form.get(n, "")).strip()[:500] for n in SESSION_FIELDS})
    day, errors = _wall_times(form, expert.timezone)

    def schedule() -> list:
        if service.kind == "mini":
            if _place(form) is None:
                errors.setdefault("location.name", ["Say where the mini sessions take place."])
            raw: dict[str, Any] = {"date": form.get("date"), "start_time": form.get("start_time"),
                                   "end_time": form.get("end_time"), "location": _place(form) or {"type": "in_person"},
                                   "gap_minutes": int(form.get("gap_minutes") or 0)
                                   if form.get("gap_minutes").isdigit() else form.get("gap_minutes")}
            if form.get("slot_minutes"):
                raw["slot_minutes"] = int(form.get("slot_minutes")) if form.get("slot_minutes").isdigit() \
                    else form.get("slot_minutes")
            return sessions_service.create_mini_day(db.session(), expert, service, load(MiniDayCreate(), raw, errors))
        raw = {"location": _place(form)}
        if day is not None and not errors:
            raw["start"] = local_instant(day, time.fromisoformat(form.get("start_time")), expert.timezone).isoformat()
            raw["end"] = local_instant(day, time.fromisoformat(form.get("end_time")), expert.timezone).isoformat()
        if form.get("capacity"):
            raw["capacity"] = int(form.get("capacity")) if form.get("capacity").isdigit() else form.get("capacity")
        return [sessions_service.create_session(db.session(), expert, service, load(SessionCreate(), raw, errors))]

    created = save(form, schedule)
    if created is None:
        names = {"start": "start_time", "end": "end_time", "location": "location.name"}
        form.errors = renamed(form.errors, lambda k: names.get(k, k))
        return _sessions_page(service, form, 422)
    if service.kind == "mini":
        times = ", ".join(formatting.local(s.start, expert.timezone).strftime("%H:%M") for s in created)
        flash(f"{len(created)} mini sessions added: {times}.", "success")
    else:
        flash("Session added. Clients can book it now.", "success")
    return redirect(url_for("dashboard.sessions", slug=service.slug))


def _session_of(slug: str, session_id: str) -> tuple[Service, ServiceSession]:
    """One of the expert's services and one of its sessions (404 for anyone else's)."""
    expert = auth.current_expert()
    service = experts.get_service(db.session(), expert, slug)
    session = catalog.get_session(db.session(), expert, session_id)
    if session.service_id != service.id:
        raise NotFound("No such session.")
    return service, session


def _session_removal(service: Service, session: ServiceSession, *, kept: bool = False) -> Removal:
    """Removing one scheduled session; ``kept`` when bookings refer to it (the question then says why it stays)."""
    when = formatting.time_range(session.start, session.end, auth.current_expert().timezone)
    return Removal(section="dashboard.services", title=f"Remove the session of {when}?",
                   explanation=(f"“{service.name}” keeps this date while bookings refer to it." if kept else
                                f"“{service.name}” will no longer offer this date. Nobody has booked it."),
                   button="Remove session",
                   action=url_for("dashboard.remove_session", slug=service.slug, session_id=session.id),
                   back=url_for("dashboard.sessions", slug=service.slug),
                   back_label=f"Back to the sessions of {service.name}", done=f"Session of {when} removed.")


@bp.get("/services/<slug>/sessions/<session_id>/remove")
@auth.login_required
def remove_session_form(slug: str, session_id: str) -> ResponseReturnValue:
    """Ask before removing a scheduled session, or say why it cannot go (it has bookings)."""
    service, session = _session_of(slug, session_id)
    refused = sessions_service.removal_refusal(db.session(), service, session, utcnow())
    return _session_removal(service, session, kept=bool(refused)).ask(refused)


@bp.post("/services/<slug>/sessions/<session_id>/remove")
@auth.login_required
def remove_session(slug: str, session_id: str) -> ResponseReturnValue:
    """Remove a session nobody booked; refused, with the reason, when bookings refer to it."""
    expert = auth.current_expert()
    service, session = _session_of(slug, session_id)
    return _session_removal(service, session).confirmed(
        lambda: sessions_service.remove_session(db.session(), expert, service, session, utcnow()))
