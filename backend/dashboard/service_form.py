"""The service editor's form: the expert's words and units in, the API's ``ServiceSchema`` input out.

Fields carry the API's own names (``policy.cutoff_hours``, ``price.currency``) except where the form
speaks another unit (notice in hours, a price in major units); those few are converted here and
their errors named after the form's field.
"""
from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

from werkzeug.datastructures import MultiDict

from backend.dashboard.common import Form, int_field
from backend.models import PAYMENT_OPTIONS, Service
from backend.money import ZERO_DECIMAL
from backend.services.experts import DEFAULT_POLICY

MAX_QUESTIONS = 20
CURRENCIES = ("usd", "eur", "gbp", "cad", "aud", "chf", "nzd", "sek", "nok", "dkk", "jpy")
KINDS = (("personal", "Personal", "One client at a time picks a time from your availability."),
         ("group", "Group session", "Several clients book a seat at a date you schedule."),
         ("series", "Series", "Several dated sessions sold together, like a course."),
         ("mini", "Mini sessions", "A day at one place cut into short slots, one client each."))
TEXT_FIELDS = ("name", "slug", "kind", "description", "duration_minutes", "location.type", "location.url",
               "location.phone", "location.name", "location.address", "location.details", "price.amount",
               "price.currency", "outside_payment_instructions", "outside_payment_status", "capacity",
               "min_notice_hours", "max_advance_days", "buffer_before_minutes", "buffer_after_minutes",
               "slot_interval_minutes", "daily_limit", "hold_minutes", "policy.cutoff_hours", "policy.refund",
               "phone", "visibility", "confirmation_note", "reminder_hours")
CHECKS = ("policy.client_can_cancel", "policy.client_can_reschedule", "message")


def slugify(name: str) -> str:
    """``"Intro call (30 min)"`` → ``"intro-call-30-min"``: the service's address in links."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:64].strip("-") or "service"


def major_units(amount: int | None, currency: str | None) -> str:
    """A price in minor units as the form shows it (``9000``, ``usd`` → ``"90.00"``; empty when free)."""
    if amount is None:
        return ""
    return str(amount) if (currency or "").lower() in ZERO_DECIMAL else f"{Decimal(amount) / 100:.2f}"


def form_of(service: Service | None) -> Form:
    """The editor filled with ``service`` (or a new personal service's defaults)."""
    if service is None:
        policy = DEFAULT_POLICY
        values: dict[str, Any] = {
            "kind": "personal", "duration_minutes": "60", "location.type": "video", "capacity": "1",
            "min_notice_hours": "2", "max_advance_days": "60", "buffer_before_minutes": "0",
            "buffer_after_minutes": "0", "hold_minutes": "15", "phone": "optional", "visibility": "public",
            "reminder_hours": "24", "message": True, "outside_payment_status": "confirmed", "payment_options": [],
            "questions": [],
        }
    else:
        policy = {**DEFAULT_POLICY, **(service.policy or {})}
        location = service.location or {}
        values = {
            "name": service.name, "slug": service.slug, "kind": service.kind, "description": service.description,
            "duration_minutes": str(service.duration_minutes),
            **{f"location.{k}": location.get(k, "") for k in ("type", "url", "phone", "name", "address", "details")},
            "price.amount": major_units(service.price_amount, service.price_currency),
            "price.currency": (service.price_currency or "").upper(),
            "payment_options": list(service.payment_options or []),
            "outside_payment_instructions": service.outside_payment_instructions or "",
            "outside_payment_status": service.outside_payment_status, "capacity": str(service.capacity),
            "min_notice_hours": _hours(service.min_notice_minutes),
            "max_advance_days": _text(service.max_advance_days),
            "buffer_before_minutes": str(service.buffer_before_minutes),
            "buffer_after_minutes": str(service.buffer_after_minutes),
            "slot_interval_minutes": _text(service.slot_interval_minutes), "daily_limit": _text(service.daily_limit),
            "hold_minutes": str(service.hold_minutes), "phone": service.phone, "message": service.message,
            "visibility": service.visibility, "confirmation_note": service.confirmation_note or "",
            "reminder_hours": _text(service.reminder_hours), "questions": [dict(q) for q in service.questions or []],
        }
    values.update({"policy.client_can_cancel": policy["client_can_cancel"],
                   "policy.client_can_reschedule": policy["client_can_reschedule"],
                   "policy.cutoff_hours": str(policy["cutoff_hours"]), "policy.refund": policy["refund"]})
    return Form(values=values)


def _text(value: int | None) -> str:
    return "" if value is None else str(value)


def _hours(minutes: int) -> str:
    return str(minutes // 60) if minutes % 60 == 0 else f"{minutes / 60:g}"


def posted_form(data: MultiDict[str, str]) -> Form:
    """The editor as POSTed: text fields trimmed, ticked boxes, payment options and question rows."""
    values: dict[str, Any] = {name: str(data.get(name, "")).strip()[:5000] for name in TEXT_FIELDS}
    values.update({name: data.get(name) == "on" for name in CHECKS})
    values["payment_options"] = [o for o in data.getlist("payment_options") if o in PAYMENT_OPTIONS]
    count = min(int(data.get("question_rows", "0")) if str(data.get("question_rows", "0")).isdigit() else 0,
                MAX_QUESTIONS)
    values["questions"] = [{
        "id": str(data.get(f"questions.{i}.id", "")).strip()[:40],
        "label": str(data.get(f"questions.{i}.label", "")).strip()[:300],
        "type": str(data.get(f"questions.{i}.type", "text")),
        "required": data.get(f"questions.{i}.required") == "on",
        "options": [o.strip() for o in str(data.get(f"questions.{i}.options", "")).split("\n") if o.strip()],
    } for i in range(count)]
    return Form(values=values)


def _question_id(label: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "_", slugify(label)).strip("_")[:34] or "question"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    taken.add(candidate)
    return candidate


def api_input(form: Form, *, creating: bool) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The ``ServiceSchema`` input for the form, and the errors the form finds itself (a price without
    a currency, a number that is not one…), keyed by the form's field names."""
    v = form.values
    errors: dict[str, list[str]] = {}
    raw: dict[str, Any] = {
        "name": v["name"], "description": v["description"], "kind": v["kind"] or "personal",
        "slug": v["slug"] or (slugify(v["name"]) if creating and v["name"] else v["slug"]),
        "outside_payment_instructions": v["outside_payment_instructions"], "payment_options": v["payment_options"],
        "outside_payment_status": v["outside_payment_status"] or "confirmed", "phone": v["phone"] or "optional",
        "message": v["message"], "visibility": v["visibility"] or "public", "confirmation_note": v["confirmation_note"],
        "policy": {"client_can_cancel": v["policy.client_can_cancel"],
                   "client_can_reschedule": v["policy.client_can_reschedule"], "refund": v["policy.refund"] or "full"},
    }
    for name in ("duration_minutes", "capacity", "buffer_before_minutes", "buffer_after_minutes", "hold_minutes"):
        value = int_field(v, name, errors, blank=None)
        if value is not None:
            raw[name] = value
        elif name == "duration_minutes" and name not in errors:
            errors[name] = ["Enter the length in minutes."]
    for name in ("max_advance_days", "slot_interval_minutes", "daily_limit", "reminder_hours"):
        raw[name] = int_field(v, name, errors, blank=None)
    raw["policy"]["cutoff_hours"] = int_field(v, "policy.cutoff_hours", errors, blank=0)
    raw["min_notice_minutes"] = _notice(v["min_notice_hours"], errors)
    if raw["kind"] in ("personal", "mini"):
        raw["capacity"] = 1  # one client a time (a mini day's slots have one seat each)
    raw["location"] = {k: v[f"location.{k}"] for k in ("type", "url", "phone", "name", "address", "details")
                       if v[f"location.{k}"]}
    raw["location"].setdefault("type", "video")
    if creating and raw["kind"] != "personal" and set(raw["location"]) == {"type"} and raw["location"]["type"] == "video":
        # The editor's default place suits a personal call; dated sessions happen somewhere, each saying where.
        raw["location"] = {"type": "in_person"}
    raw["price"] = price_input(v["price.amount"], v["price.currency"], errors)
    taken: set[str] = set()
    questions = []
    for i, q in enumerate(v["questions"]):
        if not q["label"]:
            continue  # an emptied question is removed
        q = dict(q, id=q["id"] if q["id"] and q["id"] not in taken else _question_id(q["label"], taken))
        taken.add(q["id"])
        if q["type"] == "select" and not q["options"]:
            errors[f"questions.{i}.options"] = ["Give the choices, one per line."]
        questions.append(q)
    raw["questions"] = questions
    return raw, errors


def _notice(text: str, errors: dict[str, list[str]]) -> int:
    """Hours (2, 1.5) → minutes; empty is no notice."""
    if not text:
        return 0
    try:
        hours = Decimal(text.replace(",", "."))
    except InvalidOperation:
        errors["min_notice_hours"] = ["Enter a number of hours, like 2 or 0.5."]
        return 0
    if hours < 0:
        errors["min_notice_hours"] = ["Enter 0 or more hours."]
        return 0
    return int(hours * 60)


def price_input(amount: str, currency: str, errors: dict[str, list[str]]) -> dict[str, Any] | None:
    """``"90.00"`` and ``"USD"`` → ``{"amount": 9000, "currency": "usd"}``; both empty is free."""
    if not amount and not currency:
        return None
    if not currency:
        errors["price.currency"] = ["Choose the currency of the price, like USD or EUR."]
        return None
    if not amount:
        errors["price.amount"] = ["Enter the price, or empty the currency for a free service."]
        return None
    try:
        major = Decimal(amount.replace(",", "."))
    except InvalidOperation:
        errors["price.amount"] = ["Enter the price as a number, like 90 or 90.50."]
        return None
    scale = 1 if currency.lower() in ZERO_DECIMAL else 100
    minor = major * scale
    if minor != minor.to_integral_value() or minor < 0:
        errors["price.amount"] = ["Enter a price of 0 or more, with at most two decimals."]
        return None
    return {"amount": int(minor), "currency": currency}


def field_of(name: str) -> str:
    """Where an error of the API's input belongs on this form (the form shows notice in hours)."""
    return {"min_notice_minutes": "min_notice_hours", "price": "price.amount", "price.amount": "price.amount",
            "location": "location.type"}.get(name, name)
