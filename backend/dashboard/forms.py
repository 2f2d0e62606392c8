"""The "New session" form: what the expert typed, turned into the expert API's input.

The form speaks the expert's wall clock (a date and a time in their own zone); the API speaks
instants. This module converts one to the other with zoneinfo and then loads the result with the
API's own schema (``ExpertBookingCreate``), so the dashboard accepts exactly what the API accepts.
Every error, the schema's or a service's, becomes a message per form field.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from marshmallow import ValidationError as SchemaError

from backend.errors import DomainError, NotFound, SlotUnavailable, ValidationError
from backend.models import Expert, Service
from backend.schemas import ExpertBookingCreate
from backend.timeutil import zone
from backend.wallclock import wall_instant

# The form's field names, in the order the page shows them (the alert above the form names the first error).
FIELDS = ("service", "date", "time", "duration_minutes", "custom_time", "name", "price", "currency",
          "payment_options", "expires_in_days", "client_email", "client_name")
#: How long the time stays reserved for the client, as the form offers it (days; "" is until the session).
EXPIRY_CHOICES = (("", "Until the session"), ("1", "1 day"), ("2", "2 days"), ("3", "3 days"), ("7", "1 week"))
#: How a one-off's client may pay, as the form's checkboxes name them.
ONE_OFF_PAYMENT_OPTIONS = (("online", "By card, online"), ("outside", "Outside Kairos (cash, transfer…)"))
# Where an error of the API's input (schema or service) belongs on this form.
API_TO_FORM = {"service": "service", "start": "time", "duration_minutes": "duration_minutes",
               "custom_time": "custom_time", "client.email": "client_email", "client.name": "client_name",
               "timezone": "time", "name": "name", "price": "price", "price.amount": "price",
               "price.currency": "currency", "payment_options": "payment_options",
               "payment_options.0": "payment_options", "payment_options.1": "payment_options",
               "expires_at": "expires_in_days"}
T = TypeVar("T")
ONE_OFF = ""  # the <select> value of "One-off session": the API's null service
NOT_AVAILABLE = ("That time is not available: it is taken or outside your availability. To use a free time "
                 "outside your availability, tick “Custom time”.")


@dataclass
class NewSession:
    """The form's values exactly as typed (kept to fill the form again after an error)."""

    service: str = ONE_OFF
    date: str = ""
    time: str = ""
    duration_minutes: str = ""
    custom_time: bool = False
    name: str = ""
    price: str = ""
    currency: str = "eur"
    payment_options: tuple[str, ...] = ()
    expires_in_days: str = ""
    client_email: str = ""
    client_name: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_form(cls, form: Any) -> NewSession:
        """Read the POSTed form; lengths are capped so a huge value is refused, never echoed whole."""
        def text(name: str) -> str:
            return str(form.get(name, "")).strip()[:400]

        known = {value for value, _ in ONE_OFF_PAYMENT_OPTIONS}
        options = tuple(o for o in form.getlist("payment_options") if o in known) if hasattr(form, "getlist") else ()
        # Each field named (not **a dict of texts), so the checker sees that none of them lands in ``errors``.
        return cls(service=text("service"), date=text("date"), time=text("time"),
                   duration_minutes=text("duration_minutes"), custom_time=form.get("custom_time") == "on",
                   name=text("name"), price=text("price"), currency=text("currency"), payment_options=options,
                   expires_in_days=text("expires_in_days"), client_email=text("client_email"),
                   client_name=text("client_name"))

    @property
    def message(self) -> str:
        """What the alert above the form says: the first error in page order, and how many more there are
        (each one is also shown under its field)."""
        first = next((self.errors[name] for name in (*FIELDS, "form") if name in self.errors), "")
        more = len(self.errors) - 1
        if more > 0:
            first += f" {more} more {'field needs' if more == 1 else 'fields need'} attention below."
        return first


class FormInvalid(ValidationError):
    """The form itself is wrong (before any service runs); ``fields`` are keyed by form field name."""


def local_instant(day: date, at: time, tz: str) -> datetime:
    """``day`` ``at`` on the wall clock of ``tz``, as an aware UTC instant.

    A wall time skipped by a DST change (02:30 when clocks jump from 02:00 to 03:00) does not exist:
    zoneinfo would silently shift it, so it is refused instead. A repeated one (clocks going back) is
    the first of the two, as calendars read it (``fold=0``).
    """
    instant = wall_instant(datetime.combine(day, at), zone(tz))
    if instant is None:
        message = (f"{at:%H:%M} does not exist on {day.day} {day:%B %Y} in {tz}: the clocks go forward that night. "
                   "Choose another time.")
        raise FormInvalid(fields={"time": [message]})
    return instant


def _parse_start(form: NewSession, tz: str) -> datetime:
    """The start instant from the date and time fields (HTML sends ``YYYY-MM-DD`` and ``HH:MM``)."""
    errors: dict[str, list[str]] = {}
    try:
        day = date.fromisoformat(form.date)
    except ValueError:
        errors["date"] = ["Enter the date of the session."]
    try:
        at = time.fromisoformat(form.time)
    except ValueError:
        errors["time"] = ["Enter the start time, like 09:30."]
    if errors:
        raise FormInvalid(fields=errors)
    return local_instant(day, at.replace(second=0, microsecond=0, tzinfo=None), tz)


def _parse_duration(form: NewSession) -> int | None:
    """Minutes, or None to use the service's length; a one-off has no length of its own to fall back on."""
    if not form.duration_minutes:
        if form.service == ONE_OFF:
            raise FormInvalid(fields={"duration_minutes": ["Enter the length in minutes of a one-off session."]})
        return None
    if not form.duration_minutes.isdigit():
        raise FormInvalid(fields={"duration_minutes": ["Enter the length as a whole number of minutes."]})
    return int(form.duration_minutes)


def _parse_price(form: NewSession) -> dict[str, Any] | None:
    """A one-off's price typed as ``80`` or ``80.50`` (or ``80,50``) in the currency's main unit; empty is free.

    Minor units are taken as hundredths, as for every currency the form offers.
    """
    if not form.price:
        return None
    text = form.price.replace(",", ".")
    whole, _, cents = text.partition(".")
    if not whole.isdigit() or (cents and (not cents.isdigit() or len(cents) > 2)):
        raise FormInvalid(fields={"price": ["Enter the price as a number, like 80 or 80.50."]})
    return {"amount": int(whole) * 100 + int(cents.ljust(2, "0") or 0), "currency": form.currency or "eur"}


def _parse_expiry(form: NewSession, start: datetime | None, now: datetime) -> datetime | None:
    """When the offer lapses: ``expires_in_days`` from now, but never after the session starts."""
    if not form.expires_in_days:
        return None
    if form.expires_in_days not in {value for value, _ in EXPIRY_CHOICES}:
        raise FormInvalid(fields={"expires_in_days": ["Choose how long the time stays reserved."]})
    lapses = now + timedelta(days=int(form.expires_in_days))
    return min(lapses, start) if start else lapses


def api_input(form: NewSession, tz: str, now: datetime | None = None) -> dict[str, Any]:
    """The loaded ``ExpertBookingCreate`` for this form, in the expert's zone ``tz`` (``now``: for the expiry).

    Raises FormInvalid (fields keyed by form field, every field's problem at once) when the form or
    the API's schema refuses it.
    """
    errors: dict[str, list[str]] = {}
    start = _collect(errors, lambda: _parse_start(form, tz))
    duration = _collect(errors, lambda: _parse_duration(form))
    if not form.client_email:
        errors["client_email"] = ["Enter the client's email."]
    if not form.client_name:
        errors["client_name"] = ["Enter the client's name."]  # the schema's message speaks to the client
    raw: dict[str, Any] = {
        "service": form.service or None, "start": start.isoformat() if start else None,
        "custom_time": form.custom_time, "client": {"email": form.client_email, "name": form.client_name},
    }
    if duration is not None:
        raw["duration_minutes"] = duration
    expires = _collect(errors, lambda: _parse_expiry(form, start, now or datetime.now(UTC)))
    if expires is not None:
        raw["expires_at"] = expires.isoformat()
    if form.service == ONE_OFF:  # a service's own title, price and payment options apply
        price = _collect(errors, lambda: _parse_price(form))
        if form.name:
            raw["name"] = form.name
        if price and price["amount"]:
            raw["price"] = price
        if form.payment_options:
            raw["payment_options"] = list(form.payment_options)
    try:
        data = ExpertBookingCreate().load(raw)
    except SchemaError as error:
        schema_errors = _flatten(error.normalized_messages())
        if start is None:
            schema_errors.pop("start", None)  # the null stand-in for a date or time already refused above
        # The form's own messages come first: they already say what the schema would about the same field.
        for name, messages in _form_fields(schema_errors).items():
            errors.setdefault(name, messages)
    if errors:
        raise FormInvalid(fields=errors)
    return data


def _collect(errors: dict[str, list[str]], parse: Callable[[], T]) -> T | None:
    """``parse()``, or None with its FormInvalid fields added to ``errors``."""
    try:
        return parse()
    except FormInvalid as error:
        errors.update(error.fields)
        return None


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages as dotted keys (``{"client": {"email": [...]}}`` → ``client.email``)."""
    if isinstance(messages, dict):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            flat.update(_flatten(value, f"{prefix}{key}." if not isinstance(value, list) else f"{prefix}{key}"))
        return flat
    return {prefix.rstrip("."): [str(m) for m in messages]} if isinstance(messages, list) else {}


def _form_fields(api_fields: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """API field names (``client.email``) mapped to this form's (``client_email``); unknown ones to "form"."""
    mapped: dict[str, list[str]] = {}
    for key, messages in api_fields.items():
        mapped.setdefault(API_TO_FORM.get(key, "form"), []).extend(messages)
    return mapped


def errors_of(error: DomainError, custom_time: bool) -> dict[str, str]:
    """One message per form field for a refused form (``form``: the whole form)."""
    if isinstance(error, FormInvalid):
        fields = error.fields
    elif isinstance(error, NotFound):
        fields = {"service": ["That service no longer exists. Choose another one."]}
    elif isinstance(error, SlotUnavailable) and not custom_time:
        # The service's message names the API's custom_time flag; the form names its checkbox.
        fields = {"time": [NOT_AVAILABLE]}
    elif isinstance(error, SlotUnavailable):
        fields = {"time": [error.message]}
    else:
        fields = _form_fields(error.fields) if error.fields else {"form": [error.message]}
    return {name: " ".join(messages) for name, messages in fields.items()}


def bookable_services(expert: Expert) -> list[Service]:
    """The services the form offers: not archived, and personal (group, series and mini sessions
    are scheduled as sessions instead, so ``create_expert_booking`` refuses them)."""
    return [s for s in expert.services if not s.archived and s.kind == "personal"]
