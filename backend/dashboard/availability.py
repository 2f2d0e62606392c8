"""Availability: weekly hours (several intervals a day, copy a day to others), date overrides in
the expert's zone, and a preview of the next two weeks' bookable times.

Every save loads the whole availability through the API's ``AvailabilitySchema`` and stores it with
``experts.set_availability``, exactly as PUT /admin/availability does.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue

from backend import slot_engine
from backend.dashboard import auth, formatting
from backend.dashboard.common import Form, act, load, page, renamed, save
from backend.dashboard.forms import FormInvalid, local_instant
from backend.dashboard.routes import bp
from backend.extensions import db
from backend.models import Availability, Expert, Service
from backend.schemas import WEEKDAYS, AvailabilitySchema
from backend.services import catalog, experts, slots
from backend.types import utcnow

DAY_NAMES = dict(zip(WEEKDAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"), strict=True))
MAX_ROWS = 8
PREVIEW_DAYS = 14


def current(expert: Expert) -> dict[str, Any]:
    """The stored availability as the API shows it (an expert without one has no hours yet)."""
    av = db.session().get(Availability, expert.id)
    if av is None:
        return {"timezone": expert.timezone, "weekly": {}, "overrides": []}
    return experts.availability_view(av)


def weekly_form(weekly: Mapping[str, list[list[str]]]) -> Form:
    """The weekly editor's values: ``weekly.mon.0.start`` … with one empty row after each day's intervals."""
    values: dict[str, Any] = {}
    for day in WEEKDAYS:
        rows = list(weekly.get(day, []))
        values[f"rows.{day}"] = len(rows) + 1
        for i, (start, end) in enumerate(rows):
            values[f"weekly.{day}.{i}.start"] = start
            values[f"weekly.{day}.{i}.end"] = "00:00" if end == "24:00" else end
    return Form(values=values)


def _end(text: str) -> str:
    """An end time of 00:00 is midnight at the end of the day (the API's 24:00)."""
    return "24:00" if text == "00:00" else text


def posted_weekly(form_data: Mapping[str, str]) -> tuple[Form, dict[str, list[list[str]]], dict[str, list[str]]]:
    """The weekly editor as posted: its form values, the API's ``weekly`` and the rows typed half-way."""
    values: dict[str, Any] = {}
    weekly: dict[str, list[list[str]]] = {}
    errors: dict[str, list[str]] = {}
    for day in WEEKDAYS:
        rows = min(int(form_data.get(f"rows.{day}", "1") or 1) if str(form_data.get(f"rows.{day}", "1")).isdigit()
                   else 1, MAX_ROWS)
        values[f"rows.{day}"] = rows
        weekly[day] = []
        for i in range(rows):
            start = str(form_data.get(f"weekly.{day}.{i}.start", "")).strip()[:5]
            end = str(form_data.get(f"weekly.{day}.{i}.end", "")).strip()[:5]
            values[f"weekly.{day}.{i}.start"], values[f"weekly.{day}.{i}.end"] = start, end
            if start and end:
                weekly[day].append([start, _end(end)])
            elif start or end:
                errors[f"weekly.{day}"] = [f"Give each of {DAY_NAMES[day]}’s times a start and an end."]
    return Form(values=values), weekly, errors


def _save_availability(expert: Expert, weekly: dict[str, list[list[str]]], overrides: list[dict[str, Any]],
                       errors: dict[str, list[str]] | None = None) -> Availability:
    raw = {"timezone": expert.timezone, "weekly": weekly,
           "overrides": [{"date": o["date"].isoformat() if isinstance(o["date"], date) else o["date"],
                          "intervals": o["intervals"]} for o in overrides]}
    return experts.set_availability(db.session(), expert, load(AvailabilitySchema(), raw, errors))


@dataclass(frozen=True)
class PreviewDay:
    """One local date of the preview: its open hours and the times a client could book."""

    day: date
    hours: list[tuple[time, time]]
    override: bool
    times: list[datetime]


def preview(expert: Expert, service: Service | None, now: datetime) -> list[PreviewDay]:
    """The next two weeks in the expert's zone: open hours per date, and the bookable start times of
    ``service`` (every rule, booking and hold applied, as the widget would offer them)."""
    av = db.session().get(Availability, expert.id)
    availability = slots.engine_availability(av, expert.timezone)
    today = formatting.local(now, expert.timezone).date()
    last = today + timedelta(days=PREVIEW_DAYS - 1)
    times: dict[date, list[datetime]] = {}
    if service is not None:
        window_start, window_end = slot_engine.local_dates_window(today, last, expert.timezone)
        for slot in slots.personal_slots(db.session(), service, window_start, window_end, now):
            times.setdefault(formatting.local(slot.start, expert.timezone).date(), []).append(slot.start)
    return [PreviewDay(day, list(slot_engine.intervals_for_date(availability, day)),
                       day in availability.overrides, times.get(day, []))
            for day in (today + timedelta(days=n) for n in range(PREVIEW_DAYS))]


def _page(weekly: Form | None = None, override: Form | None = None, status: int = 200) -> ResponseReturnValue:
    expert = auth.current_expert()
    stored = current(expert)
    personal = [s for s in catalog.live_services(expert) if s.kind == "personal"]
    chosen = next((s for s in personal if s.slug == request.args.get("service")), personal[0] if personal else None)
    return page("dashboard/availability.html", "dashboard.availability", status,
                weekly=weekly or weekly_form(stored["weekly"]), overrides=stored["overrides"],
                override=override or Form(values={"kind": "off"}), days=DAY_NAMES,
                preview=preview(expert, chosen, utcnow()), personal=personal, chosen=chosen,
                today=formatting.local(utcnow(), expert.timezone).date())


@bp.get("/availability")
@auth.login_required
def availability() -> ResponseReturnValue:
    """The weekly editor, the date overrides and the two-week preview."""
    return _page()


@bp.post("/availability/weekly")
@auth.login_required
def save_weekly() -> ResponseReturnValue:
    """Save the weekly hours, or (the "Add a time" buttons) show one more empty row of a day, unsaved."""
    expert = auth.current_expert()
    form, weekly, errors = posted_weekly(request.form)
    grow = request.form.get("add")
    if grow in WEEKDAYS:
        form.values[f"rows.{grow}"] = min(form.values[f"rows.{grow}"] + 1, MAX_ROWS)
        form.values["focus"] = f"weekly.{grow}.{form.values[f'rows.{grow}'] - 1}.start"
        return _page(weekly=form)
    if save(form, lambda: _save_availability(expert, weekly, current(expert)["overrides"], errors)) is None:
        return _page(weekly=form, status=422)
    flash("Weekly hours saved.", "success")
    return redirect(url_for("dashboard.availability"))


@bp.post("/availability/copy")
@auth.login_required
def copy_day() -> ResponseReturnValue:
    """Copy one day's hours to the days ticked (replacing theirs) and save."""
    expert = auth.current_expert()
    source = request.form.get("from", "")
    targets = [d for d in request.form.getlist("to") if d in WEEKDAYS and d != source]
    stored = current(expert)
    if source not in WEEKDAYS or not targets:
        flash("Choose a day to copy and at least one other day to copy it to.", "error")
        return redirect(url_for("dashboard.availability"))
    weekly = dict(stored["weekly"])
    for day in targets:
        weekly[day] = [list(iv) for iv in weekly.get(source, [])]
    names = ", ".join(DAY_NAMES[d] for d in targets)
    return act(lambda: _save_availability(expert, weekly, stored["overrides"]),
               f"{DAY_NAMES[source]}’s hours copied to {names}.", url_for("dashboard.availability"))


def override_input(form: Form, tz: str) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The override typed in the form (a day off, or other hours on a date) and the form's own errors:
    a time that does not exist on that date in the expert's zone (a DST gap) is refused."""
    errors: dict[str, list[str]] = {}
    intervals: list[list[str]] = []
    day: date | None = None
    try:
        day = date.fromisoformat(form.get("date"))
    except ValueError:
        errors["date"] = ["Choose the date."]
    if form.get("kind") == "hours":
        for i in range(2):
            start, end = form.get(f"intervals.{i}.start"), form.get(f"intervals.{i}.end")
            if not start and not end:
                continue
            if not (start and end):
                errors[f"intervals.{i}"] = ["Give this time a start and an end."]
                continue
            intervals.append([start, _end(end)])
            for name, text in ((f"intervals.{i}.start", start), (f"intervals.{i}.end", end)):
                if day is not None and text != "00:00":
                    try:
                        local_instant(day, time.fromisoformat(text), tz)
                    except FormInvalid as error:
                        errors[name] = error.fields["time"]
                    except ValueError:
                        errors[name] = ["Use a time like 09:30."]
        if not intervals and not errors:
            errors["intervals.0"] = ["Enter the hours of that date, or choose “Day off”."]
    return {"date": form.get("date"), "intervals": intervals}, errors


@bp.post("/availability/overrides")
@auth.login_required
def add_override() -> ResponseReturnValue:
    """A day off or other hours on one date (replacing an earlier override of that date)."""
    expert = auth.current_expert()
    names = ("date", "kind", "intervals.0.start", "intervals.0.end", "intervals.1.start", "intervals.1.end")
    form = Form(values={n: str(request.form.get(n, "")).strip()[:10] for n in names})
    override, errors = override_input(form, expert.timezone)
    stored = current(expert)
    others = [o for o in stored["overrides"] if o["date"].isoformat() != override["date"]]

    def change() -> Availability:
        av = _save_availability(expert, stored["weekly"], [*others, override], errors)
        return av

    if save(form, change) is None:
        form.errors = renamed(form.errors, _override_field)
        return _page(override=form, status=422)
    flash("Date saved.", "success")
    return redirect(url_for("dashboard.availability"))


def _override_field(name: str) -> str:
    """The schema speaks of ``overrides.N.intervals``; the form has one override: its hours field."""
    if name.startswith("overrides."):
        return "intervals.0" if name.endswith("intervals") else "date"
    return name


@bp.post("/availability/overrides/<day>/delete")
@auth.login_required
def remove_override(day: str) -> ResponseReturnValue:
    """Back to the weekly hours on that date."""
    expert = auth.current_expert()
    stored = current(expert)
    kept = [o for o in stored["overrides"] if o["date"].isoformat() != day]
    return act(lambda: _save_availability(expert, stored["weekly"], kept),
               "Date removed: your weekly hours apply again.", url_for("dashboard.availability"))
