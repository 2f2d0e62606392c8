"""What a client asks for, and the checks a service's settings put on it."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import SlotUnavailable, ValidationError
from backend.models import Service, ServiceSession
from backend.plain_text import CONTROL_RE


@dataclass
class BookingRequest:
    """What a client asks for, already validated by the schema."""

    timezone: str
    client_name: str
    client_email: str
    start: datetime | None = None
    session_id: str | None = None
    client_phone: str | None = None
    message: str = ""
    answers: dict[str, Any] = field(default_factory=dict)
    payment_option: str | None = None
    coupon: str | None = None
    #: The token of a waitlist offer: the seat held for this client.
    waitlist_token: str | None = None
    #: Which of the client's packages pays, when several fit (None: the one expiring first)
    package_id: int | None = None


def answer_errors(questions: list[dict[str, Any]], answers: dict[str, Any]) -> dict[str, list[str]]:
    """What is wrong with ``answers`` to a service's ``questions``, keyed ``answers.<id>`` (empty: nothing)."""
    errors: dict[str, list[str]] = {}
    known = {q["id"]: q for q in questions or []}
    for qid in answers:
        if qid not in known:
            errors[f"answers.{qid}"] = ["Unknown question."]
    for qid, q in known.items():
        value = answers.get(qid)
        if q.get("required") and (value is None or value == "" or value is False):
            errors[f"answers.{qid}"] = ["This question needs an answer."]
        elif value is not None and not isinstance(value, (str, bool)):
            errors[f"answers.{qid}"] = ["Answer with text."]
        elif isinstance(value, str) and len(value) > 5000:
            errors[f"answers.{qid}"] = ["Keep the answer under 5000 characters."]
        elif isinstance(value, str) and CONTROL_RE.search(value):
            errors[f"answers.{qid}"] = ["Remove the control characters from this answer."]
        elif q.get("type") == "select" and value and value not in q.get("options", []):
            errors[f"answers.{qid}"] = ["Choose one of the options."]
    return errors


def validate_request(service: Service, req: BookingRequest) -> None:
    """Check ``req`` against the service (phone, questions, payment option, time or session);
    drop what the service does not ask for. Raises ValidationError with every field at fault."""
    errors: dict[str, list[str]] = {}
    if service.phone == "required" and not req.client_phone:
        errors["client.phone"] = ["Enter a phone number."]
    if service.phone == "hidden":
        req.client_phone = None
    if not service.message:
        req.message = ""
    errors.update(answer_errors(service.questions, req.answers))
    options = service.payment_options or []
    if options:
        if req.payment_option is None and len(options) == 1:
            req.payment_option = options[0]
        if req.payment_option not in options:
            errors["payment_option"] = [f"Choose one of: {', '.join(options)}."]
    elif req.payment_option is not None:
        errors["payment_option"] = ["This service is free: send no payment option."]
    if req.coupon is not None and req.payment_option == "package":
        errors["coupon"] = ["A package credit pays this booking: no code is needed."]
    if req.waitlist_token is not None and service.kind == "personal":
        errors["waitlist"] = ["Only a session has a waitlist."]
    if service.kind == "personal" and req.start is None:
        errors["start"] = ["Choose a time."]
    if service.kind != "personal" and req.session_id is None and req.start is None and req.waitlist_token is None:
        errors["session"] = ["Choose a session."]
    if errors:
        raise ValidationError(fields=errors)


def resolve_session(db: Session, service: Service, *, session_id: str | None,
                    start: datetime | None) -> ServiceSession:
    """The scheduled session asked for, by id or by start; SlotUnavailable if the service has none such."""
    query = select(ServiceSession).where(ServiceSession.service_id == service.id)
    if session_id is not None:
        query = query.where(ServiceSession.id == session_id)
    else:
        query = query.where(ServiceSession.start == start)
    session = db.scalar(query)
    if session is None:
        raise SlotUnavailable("That session is not offered. Please pick another.")
    return session
