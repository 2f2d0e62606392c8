"""What every dashboard page shares: the navigation, rendering a page for the signed-in expert,
reading forms into the expert API's schemas, and running an action that ends in a redirect.

Form fields are named after the API's own (dotted) field paths (``price.currency``,
``policy.cutoff_hours``), so an error of the API's schema or of a service lands beside the field
that caused it with no table of names in between.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import flash, redirect, render_template, request
from flask.typing import ResponseReturnValue
from marshmallow import Schema
from marshmallow import ValidationError as SchemaError

from backend.dashboard import auth
from backend.dashboard.forms import FormInvalid, _flatten
from backend.errors import DomainError
from backend.extensions import db

# (endpoint, label): the pages of the navigation, in the order an expert meets them.
NAV = (
    ("dashboard.home", "Overview"), ("dashboard.bookings", "Bookings"), ("dashboard.services", "Services"),
    ("dashboard.availability", "Availability"), ("dashboard.packages", "Packages"), ("dashboard.clients", "Clients"), ("dashboard.leads_page", "Leads"),
    ("dashboard.embed", "Embed & links"), ("dashboard.settings", "Settings"),
)
MAX_FIELD = 5000  # longer input is cut before it is echoed back; the schemas refuse what is too long anyway


@dataclass
class Form:
    """A form's values as typed (to fill it again after an error) and one message per field."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def get(self, name: str, default: Any = "") -> Any:
        """The value typed in ``name``, or ``default``."""
        return self.values.get(name, default)

    @property
    def message(self) -> str:
        """The alert above a refused form: how many fields need attention (each says why beside it)."""
        if not self.errors:
            return ""
        if set(self.errors) == {"form"}:
            return self.errors["form"]
        n = len(self.errors)
        return ("Nothing was saved. " + ("One field needs" if n == 1 else f"{n} fields need")
                + " attention: " + "; ".join(self.errors.values()))


def posted(names: tuple[str, ...] | list[str]) -> dict[str, str]:
    """The named fields of the POSTed form, trimmed and capped."""
    return {name: str(request.form.get(name, "")).strip()[:MAX_FIELD] for name in names}


def page(template: str, section: str, status: int = 200, **context: Any) -> ResponseReturnValue:
    """Render ``template`` for the signed-in expert with ``section`` marked current in the navigation."""
    expert = auth.current_expert()
    return render_template(template, expert=expert, tz=expert.timezone, section=section, **context), status


def load(schema: Schema, raw: Mapping[str, Any], errors: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """``schema.load(raw)``; its messages (and ``errors`` the form found itself, which win) raise
    FormInvalid keyed by dotted field path."""
    found = dict(errors or {})
    data: dict[str, Any] = {}
    try:
        data = schema.load(raw)
    except SchemaError as error:
        for name, messages in _flatten(error.normalized_messages()).items():
            found.setdefault(_field_name(name), messages)
    if found:
        raise FormInvalid(fields=found)
    return data


LIST_FIELDS = ("allowed_origins", "events", "payment_options")  # one form field holds the whole list


def _field_name(path: str) -> str:
    """marshmallow's key for a dict value (``weekly.mon.value``) names the field itself (``weekly.mon``),
    as does an item of a list typed in one field (``allowed_origins.0``); a schema-wide message
    (``_schema``) belongs to the whole form."""
    path = path.removesuffix(".value").removesuffix(".key")
    head = path.split(".", 1)[0]
    if head in LIST_FIELDS:
        return head
    return "form" if path in ("_schema", "") else path


def messages_of(error: DomainError) -> dict[str, str]:
    """One message per field of a refused form (``form``: the whole form)."""
    if error.fields:
        return {_field_name(name): " ".join(str(m) for m in messages) for name, messages in error.fields.items()}
    return {"form": error.message}


def renamed(errors: dict[str, str], name_of: Callable[[str], str]) -> dict[str, str]:
    """``errors`` keyed by ``name_of(key)``; when two land on one field the first (the form's own,
    which ``load`` puts first) is kept."""
    result: dict[str, str] = {}
    for key, message in errors.items():
        result.setdefault(name_of(key), message)
    return result


def save(form: Form, action: Callable[[], Any]) -> Any:
    """Run ``action`` and commit; on a domain error roll back (nothing is kept), put its messages on
    ``form`` and return None."""
    try:
        result = action()
        db.session.commit()
        return result
    except DomainError as error:
        db.session.rollback()
        form.errors = messages_of(error)
        return None


def act(action: Callable[[], Any], done: str | Callable[[Any], Any], back: str) -> ResponseReturnValue:
    """Run a button's action and commit, flash ``done`` (or ``done(result)``) or the domain error's own
    message, and go back to ``back``."""
    try:
        result = action()
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        flash(error.message if not error.fields else " ".join(messages_of(error).values()), "error")
    else:
        flash(done(result) if callable(done) else done, "success")
    return redirect(back)


def int_field(raw: Mapping[str, str], name: str, errors: dict[str, list[str]], *, blank: Any = None) -> Any:
    """A whole number typed in ``raw[name]``; ``blank`` when empty; a message in ``errors`` when it is not one."""
    text = raw.get(name, "").strip()
    if not text:
        return blank
    if not text.lstrip("-").isdigit():
        errors[name] = ["Enter a whole number."]
        return None
    return int(text)
