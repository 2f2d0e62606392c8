"""The booking rules: create, and the views of a booking.

The no-double-booking promise is kept here: every write starts by taking the
expert's lock (``lock_expert``), then re-checks the slot with the same engine
that lists slots, then inserts, all in one transaction.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, selectinload

from backend.errors import NotAllowed, NotFound, SlotUnavailable, ValidationError
from backend.models import Booking, BookingEvent, Client, Expert, Lead, Service, ServiceSession
from backend import notifications
from backend.links import Links
from backend.models import public_id
from backend.security import token_hash
from backend.services import experts, idempotency, slots
from backend.timeutil import iso_in, iso_utc


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


def lock_expert(db: Session, expert_id: int) -> None:
    """Take the expert's write lock for the rest of the transaction.

    An UPDATE is a row lock on PostgreSQL and takes SQLite's single write lock
    (waiting up to the busy timeout), so two processes can never both check and
    insert for one expert. It must be the transaction's first write.
    """
    db.execute(update(Expert).where(Expert.id == expert_id).values(booking_lock=Expert.booking_lock + 1))


def email_key(email: str) -> str:
    """The form of an email that identifies a client: case-folded, trimmed."""
    return email.strip().casefold()


def list_clients(db: Session, expert: Expert, *, limit: int | None = None,
                 after: tuple[str, int] | None = None) -> list[Client]:
    """The expert's clients by name; ``after`` is the (name, id) of the last client of the previous page."""
    stmt = select(Client).where(Client.expert_id == expert.id)
    if after is not None:
        name, client_id = after
        stmt = stmt.where(or_(Client.name > name, and_(Client.name == name, Client.id > client_id)))
    return list(db.scalars(stmt.order_by(Client.name, Client.id).limit(limit)))


def find_or_create_client(db: Session, expert: Expert, name: str, email: str, phone: str | None) -> Client:
    """The expert's existing client with this email, or a new one (never a duplicate)."""
    client = db.scalar(select(Client).where(Client.expert_id == expert.id, Client.email_key == email_key(email)))
    if client is None:
        client = Client(expert_id=expert.id, email=email.strip(), email_key=email_key(email), name=name, phone=phone)
        db.add(client)
        db.flush()
    elif phone and not client.phone:
        client.phone = phone
    return client


def _validate_request(service: Service, req: BookingRequest) -> None:
    errors: dict[str, list[str]] = {}
    if service.phone == "required" and not req.client_phone:
        errors["client.phone"] = ["Enter a phone number."]
    if service.phone == "hidden":
        req.client_phone = None
    if not service.message:
        req.message = ""
    known = {q["id"]: q for q in service.questions or []}
    for qid in req.answers:
        if qid not in known:
            errors[f"answers.{qid}"] = ["Unknown question."]
    for qid, q in known.items():
        value = req.answers.get(qid)
        if q.get("required") and (value is None or value == "" or value is False):
            errors[f"answers.{qid}"] = ["This question needs an answer."]
        elif value is not None and not isinstance(value, (str, bool)):
            errors[f"answers.{qid}"] = ["Answer with text."]
        elif isinstance(value, str) and len(value) > 5000:
            errors[f"answers.{qid}"] = ["Keep the answer under 5000 characters."]
        elif q.get("type") == "select" and value and value not in q.get("options", []):
            errors[f"answers.{qid}"] = ["Choose one of the options."]
    options = service.payment_options or []
    if options:
        if req.payment_option is None and len(options) == 1:
            req.payment_option = options[0]
        if req.payment_option not in options:
            errors["payment_option"] = [f"Choose one of: {', '.join(options)}."]
    elif req.payment_option is not None:
        errors["payment_option"] = ["This service is free: send no payment option."]
    if service.kind == "personal" and req.start is None:
        errors["start"] = ["Choose a time."]
    if service.kind != "personal" and req.session_id is None and req.start is None:
        errors["session"] = ["Choose a session."]
    if errors:
        raise ValidationError(fields=errors)


def _initial_status(service: Service, req: BookingRequest) -> str:
    from backend import payments  # online: pending_payment; outside: as the expert chose; else confirmed
    return payments.initial_status(service, req.payment_option)


def _resolve_session(db: Session, service: Service, req: BookingRequest) -> ServiceSession:
    query = select(ServiceSession).where(ServiceSession.service_id == service.id)
    if req.session_id is not None:
        query = query.where(ServiceSession.id == req.session_id)
    else:
        query = query.where(ServiceSession.start == req.start)
    session = db.scalar(query)
    if session is None:
        raise SlotUnavailable("That session is not offered. Please pick another.")
    return session


def create_booking(db: Session, expert: Expert, service: Service, req: BookingRequest, *, now: datetime,
                   links: Links, key: idempotency.IdempotencyKey | None = None) -> tuple[int, dict[str, Any]]:
    """Book ``req`` for a client; return (HTTP status, response body).

    Raises SlotUnavailable when the time is not bookable right now (taken, held,
    outside availability, too soon), ValidationError for bad input.
    """
    _validate_request(service, req)
    found = idempotency.replay(db, key)  # fast path, before waiting for the lock
    if found:
        from backend import payments
        return payments.after_replay(db, found)  # with a live Stripe client secret again

    lock_expert(db, expert.id)
    found = idempotency.replay(db, key)  # a parallel retry may have won while we waited
    if found:
        db.rollback()
        from backend import payments
        return payments.after_replay(db, found)

    session: ServiceSession | None = None
    if service.kind == "personal":
        slot = slots.check_personal_start(db, service, req.start, now)
        if slot is None:
            raise SlotUnavailable()
        start, end = slot.start, slot.end
    else:
        session = _resolve_session(db, service, req)
        if not slots.check_session(db, service, session, now):
            raise SlotUnavailable("That session is full or no longer open. Please pick another.")
        start, end = session.start, session.end

    status = _initial_status(service, req)
    client = find_or_create_client(db, expert, req.client_name, req.client_email, req.client_phone)
    booking = Booking(
        id=public_id("bk"), expert_id=expert.id, service_id=service.id, client_id=client.id,
        session_id=session.id if session else None, start=start, end=end,
        buffer_before_minutes=service.buffer_before_minutes, buffer_after_minutes=service.buffer_after_minutes,
        timezone=req.timezone, status=status,
        hold_expires_at=now + timedelta(minutes=service.hold_minutes) if status == "pending_payment" else None,
        message=req.message, answers=req.answers, price_amount=service.price_amount,
        price_currency=service.price_currency, payment_option=req.payment_option, source="widget",
    )
    manage_url = links.issue(booking)
    db.add(booking)
    db.flush()
    db.add(BookingEvent(booking_id=booking.id, type="created", actor="client", message=req.message or None,
                        data={"status": status, "start": iso_utc(start)}))
    from backend import payments
    payments.on_booking_created(db, booking, now)  # a package credit, under the same lock
    _touch_lead(db, expert, client, service, booked=status == "confirmed")
    notifications.booking_event(db, booking, "created", actor="client", message=req.message or None)
    body = {"booking": booking_view(booking, manage_url=manage_url)}
    idempotency.remember(db, key, 201, body)
    db.commit()
    if status == "pending_payment":  # Stripe customer + card setup, after the commit (never under the lock)
        body = payments.after_booking_created(db, booking, body)
    return 201, body


def _touch_lead(db: Session, expert: Expert, client: Client, service: Service, *, booked: bool) -> Lead:
    lead = db.scalar(select(Lead).where(Lead.expert_id == expert.id, Lead.client_id == client.id,
                                        Lead.service_id == service.id))
    if lead is None:
        lead = Lead(expert_id=expert.id, client_id=client.id, service_id=service.id,
                    status="scheduling_in_progress")
        db.add(lead)
    if booked:
        lead.status = "booked"
    elif lead.status == "closed":
        lead.status = "scheduling_in_progress"
    return lead


def mark_lead_booked(db: Session, booking: Booking) -> None:
    """A confirmed booking turns its lead ``booked`` (payments and manual confirmation both call this)."""
    lead = db.scalar(select(Lead).where(Lead.expert_id == booking.expert_id, Lead.client_id == booking.client_id,
                                        Lead.service_id == booking.service_id))
    if lead is not None and lead.status != "booked":
        lead.status = "booked"


def series_dates(booking: Booking) -> list[tuple[datetime, datetime]] | None:
    """Every (start, end) of a series booking (the booking row stands for its first session)."""
    if booking.service.kind != "series":
        return None
    return [(s.start, s.end) for s in booking.service.service_sessions]


def private_location(booking: Booking) -> dict[str, Any] | None:
    """Where the session happens, details included: shown only to the booking's client and expert."""
    if booking.session is not None and booking.session.location:
        return dict(booking.session.location)
    return dict(booking.service.location or {}) or None


def public_location(service: Service) -> dict[str, Any]:
    """What a public page may show: the type only for personal services (API.md)."""
    location = service.location or {"type": "video"}
    if service.kind == "personal":
        return {"type": location.get("type", "video")}
    return dict(location)


def payment_view(booking: Booking) -> dict[str, Any] | None:
    """``booking.payment``: built by the payments package from the payments recorded."""
    from backend import payments
    return payments.payment_view(booking)


def booking_view(booking: Booking, *, manage_url: str | None = None, tz: str | None = None) -> dict[str, Any]:
    """The booking as its client (or expert) sees it, times in ``tz`` or the client's zone."""
    tz = tz or booking.timezone
    view: dict[str, Any] = {
        "id": booking.id,
        "status": booking.status,
        "start": iso_in(booking.start, tz),
        "end": iso_in(booking.end, tz),
        "timezone": tz,
        "service": {"slug": booking.service.slug, "name": booking.service.name, "kind": booking.service.kind},
        "expert": {"slug": booking.expert.slug, "name": booking.expert.name},
        "client": {"name": booking.client.name, "email": booking.client.email},
        "location": private_location(booking),
        "session": booking.session_id,
        "message": booking.message,
        "answers": booking.answers,
        "confirmation_note": booking.service.confirmation_note,
        "payment": payment_view(booking),
        "created_at": iso_utc(booking.created_at),
    }
    dates = series_dates(booking)
    if dates is not None:
        view["sessions"] = [{"start": iso_in(start, tz), "end": iso_in(end, tz)} for start, end in dates]
    if manage_url:
        view["manage_url"] = manage_url
    return view


def event_view(booking: Booking) -> dict[str, Any]:
    """What the host page may learn (API.md): no manage token, no private details."""
    return {key: value for key, value in booking_view(booking).items()
            if key in ("id", "status", "start", "end", "timezone", "service", "client")}


def list_bookings(db: Session, expert: Expert, *, status: str | None = None, start: datetime | None = None,
                  end: datetime | None = None, oldest_first: bool = False, limit: int = 1000,
                  after: tuple[datetime, str] | None = None) -> list[Booking]:
    """The expert's bookings overlapping [start, end), newest start first unless ``oldest_first``.

    Served by ``ix_booking_expert_start``; ``limit`` bounds one answer (the API and the dashboard).
    ``after`` is the (start, id) of the last booking of the previous page: keyset paging, so a page
    never skips or repeats a booking when others are added meanwhile.
    """
    stmt = select(Booking).where(Booking.expert_id == expert.id)
    if after is not None:
        last_start, last_id = after
        if oldest_first:
            stmt = stmt.where(or_(Booking.start > last_start, and_(Booking.start == last_start, Booking.id > last_id)))
        else:
            stmt = stmt.where(or_(Booking.start < last_start, and_(Booking.start == last_start, Booking.id < last_id)))
    if status is not None:
        stmt = stmt.where(Booking.status == status)
    if start is not None:
        stmt = stmt.where(Booking.end > start)
    if end is not None:
        stmt = stmt.where(Booking.start < end)
    order = (Booking.start.asc(), Booking.id.asc()) if oldest_first else (Booking.start.desc(), Booking.id.desc())
    # Every listed booking shows its client and service: load them in one query each, not one per row.
    stmt = stmt.options(selectinload(Booking.client), selectinload(Booking.service))
    return list(db.scalars(stmt.order_by(*order).limit(limit)))


def get_booking(db: Session, expert: Expert, booking_id: str) -> Booking:
    booking = db.scalar(select(Booking).where(Booking.id == booking_id, Booking.expert_id == expert.id))
    if booking is None:
        raise NotFound("No such booking.")
    return booking


# --- the manage link ---------------------------------------------------------

@dataclass(frozen=True)
class Permissions:
    can_cancel: bool
    can_reschedule: bool
    reason: str | None  # why something is not allowed (the first rule that bites)


REASON_TEXT = {
    "cancelled": "This booking was cancelled.",
    "past": "This session has already taken place.",
    "group_session": "Seats in a group session cannot be changed online; please contact the expert.",
    "series": "A series cannot be changed online; please contact the expert.",
    "past_cutoff": "It is too close to the session to change it online; please contact the expert.",
    "policy": "The expert does not allow changes online; please contact them.",
    "not_confirmed": "This booking is not confirmed yet.",
}


def find_by_token(db: Session, token: str) -> Booking:
    """The booking a manage token opens; NotFound for anything else (no hint whether it existed)."""
    if not token or len(token) > 200:
        raise NotFound("This link is not valid.")
    digest = token_hash(token)
    booking = db.scalar(select(Booking).where(Booking.manage_token_hash == digest))
    if booking is None or not hmac_equal(digest, booking.manage_token_hash):
        raise NotFound("This link is not valid.")
    return booking


def hmac_equal(a: str, b: str) -> bool:
    import hmac
    return hmac.compare_digest(a, b)


def permissions(booking: Booking, now: datetime) -> Permissions:
    """What the client may do through the manage link right now, and why not."""
    policy = {"client_can_cancel": True, "client_can_reschedule": True, "cutoff_hours": 24,
              **(booking.service.policy or {})}
    kind = booking.service.kind
    if booking.status == "cancelled":
        return Permissions(False, False, "cancelled")
    if booking.start <= now:
        return Permissions(False, False, "past")
    if kind == "group":
        return Permissions(False, False, "group_session")
    if kind == "series":
        return Permissions(False, False, "series")
    within_cutoff = now > booking.start - timedelta(hours=policy["cutoff_hours"])
    can_cancel = policy["client_can_cancel"] and not within_cutoff
    can_reschedule = (policy["client_can_reschedule"] and not within_cutoff
                      and booking.status == "confirmed")
    reason = None
    if not (can_cancel and can_reschedule):
        if within_cutoff:
            reason = "past_cutoff"
        elif not policy["client_can_cancel"] or not policy["client_can_reschedule"]:
            reason = "policy"
        elif booking.status != "confirmed":
            reason = "not_confirmed"
    return Permissions(can_cancel, can_reschedule, reason)


def manage_view(booking: Booking, now: datetime, manage_url: str) -> dict[str, Any]:
    allowed = permissions(booking, now)
    view = {"booking": booking_view(booking, manage_url=manage_url), "can_cancel": allowed.can_cancel,
            "can_reschedule": allowed.can_reschedule, "reason": allowed.reason}
    if allowed.reason:
        view["reason_text"] = REASON_TEXT.get(allowed.reason, "")
    return view


def _lock_and_reload(db: Session, booking: Booking) -> Booking:
    """Take the expert's lock, then re-read the booking: another request may have changed it meanwhile."""
    lock_expert(db, booking.expert_id)
    db.refresh(booking)
    return booking


def cancel_booking(db: Session, booking: Booking, *, actor: str, reason: str, now: datetime) -> Booking:
    """Cancel; a client must be allowed by the policy. Frees the time at once."""
    booking = _lock_and_reload(db, booking)
    if actor == "client":
        allowed = permissions(booking, now)
        if not allowed.can_cancel:
            raise NotAllowed(allowed.reason or "policy", REASON_TEXT.get(allowed.reason or "policy"))
    elif booking.status == "cancelled":
        raise NotAllowed("cancelled", REASON_TEXT["cancelled"])
    booking.status = "cancelled"
    booking.cancel_reason = reason or None
    booking.hold_expires_at = None
    booking.ics_sequence += 1
    db.add(BookingEvent(booking_id=booking.id, type="cancelled", actor=actor, message=reason or None, data={}))
    from backend import payments
    payments.on_booking_cancelled(db, booking, actor=actor)  # credit back; refunds written per policy
    notifications.booking_event(db, booking, "cancelled", actor=actor, message=reason or None)
    db.commit()
    payments.after_booking_cancelled(db, booking)  # refunds sent to Stripe, outside the lock
    return booking


def reschedule_booking(db: Session, booking: Booking, *, start: datetime | None, session_id: str | None,
                       timezone: str, actor: str, now: datetime) -> Booking:
    """Move the booking to a new time atomically: the old time is freed only if the new one is won."""
    booking = _lock_and_reload(db, booking)
    if actor == "client":
        allowed = permissions(booking, now)
        if not allowed.can_reschedule:
            raise NotAllowed(allowed.reason or "policy", REASON_TEXT.get(allowed.reason or "policy"))
    elif booking.status == "cancelled":
        raise NotAllowed("cancelled", REASON_TEXT["cancelled"])
    service = booking.service
    old_start = booking.start
    if service.kind == "personal":
        if start is None:
            raise ValidationError(fields={"start": ["Choose a new time."]})
        slot = slots.check_personal_start(db, service, start, now, exclude_booking_id=booking.id)
        if slot is None:
            raise SlotUnavailable()
        booking.start, booking.end = slot.start, slot.end
    else:
        req = BookingRequest(timezone=timezone, client_name="", client_email="", start=start, session_id=session_id)
        session = _resolve_session(db, service, req)
        if not slots.check_session(db, service, session, now, exclude_booking_id=booking.id):
            raise SlotUnavailable("That session is full or no longer open. Please pick another.")
        booking.session_id, booking.start, booking.end = session.id, session.start, session.end
    booking.timezone = timezone
    booking.ics_sequence += 1
    db.add(BookingEvent(booking_id=booking.id, type="rescheduled", actor=actor,
                        data={"from": iso_utc(old_start), "to": iso_utc(booking.start)}))
    notifications.booking_event(db, booking, "rescheduled", actor=actor, previous_start=old_start)
    db.commit()
    return booking


# --- sessions set up by the expert --------------------------------------------

ONE_OFF_SLUG = "one-off"


def _one_off_service(db: Session, expert: Expert, duration: int, name: str | None) -> Service:
    """The hidden service that one-off sessions hang on (never listed, never bookable publicly)."""
    service = db.scalar(select(Service).where(Service.expert_id == expert.id, Service.slug == ONE_OFF_SLUG))
    if service is None:
        service = Service(expert_id=expert.id, slug=ONE_OFF_SLUG, name=name or "Session", kind="personal",
                          duration_minutes=duration, visibility="unlisted", archived=True, payment_options=[],
                          questions=[], location={"type": "custom"}, policy={}, capacity=1)
        db.add(service)
        db.flush()
    return service


def create_expert_booking(db: Session, expert: Expert, service: Service | None, *, start: datetime,
                          duration_minutes: int | None, custom_time: bool, client_name: str, client_email: str,
                          timezone: str | None, now: datetime, links: Links) -> tuple[Booking, str]:
    """A session the expert sets up for a client: ``pending`` until the client completes it.

    At an available time the engine must offer ``start``; a custom time may lie outside
    availability but still never overlaps another booking. Returns the booking and its share link.
    """
    if start <= now:
        raise ValidationError(fields={"start": ["Choose a time in the future."]})
    lock_expert(db, expert.id)
    if service is None:
        service = _one_off_service(db, expert, duration_minutes or 60, None)
        custom_time = True
    duration = duration_minutes or service.duration_minutes
    if service.kind != "personal":
        raise ValidationError(fields={"service": ["Set up group, series and mini sessions as scheduled sessions."]})
    if custom_time:
        end = start + timedelta(minutes=duration)
        clash = slots.load_busy(db, service, start - timedelta(days=1), end + timedelta(days=1), now)
        if any(b.start < end and b.end > start for b in clash):
            raise SlotUnavailable("That time overlaps another booking.")
    else:
        slot = slots.check_personal_start(db, service, start, now)
        if slot is None:
            raise SlotUnavailable("That time is not available; send custom_time to use it anyway.")
        start, end = slot.start, slot.end
    client = find_or_create_client(db, expert, client_name or client_email.split("@")[0], client_email, None)
    booking = Booking(id=public_id("bk"), expert_id=expert.id, service_id=service.id, client_id=client.id,
                      start=start, end=end, buffer_before_minutes=service.buffer_before_minutes,
                      buffer_after_minutes=service.buffer_after_minutes, timezone=timezone or expert.timezone,
                      status="pending", message="", answers={}, price_amount=service.price_amount,
                      price_currency=service.price_currency, payment_option=None, source="expert")
    share_url = links.issue(booking)
    db.add(booking)
    db.flush()
    db.add(BookingEvent(booking_id=booking.id, type="created", actor="expert", data={"status": "pending"}))
    notifications.booking_event(db, booking, "created", actor="expert")
    notifications.booking_event(db, booking, "shared", actor="expert")
    db.commit()
    return booking, share_url


def set_up_session(db: Session, expert: Expert, data: dict[str, Any], *, now: datetime,
                   links: Links) -> tuple[Booking, str]:
    """``create_expert_booking`` from a loaded ``ExpertBookingCreate`` (the expert API and the dashboard).

    ``data["service"]`` is a slug, or None for a one-off; an unknown or archived slug is NotFound.
    """
    service = experts.get_service(db, expert, data["service"]) if data.get("service") else None
    return create_expert_booking(
        db, expert, service, start=data["start"], duration_minutes=data.get("duration_minutes"),
        custom_time=data["custom_time"], client_name=data["client"]["name"], client_email=data["client"]["email"],
        timezone=data.get("timezone"), now=now, links=links)


def share_booking(db: Session, booking: Booking, links: Links) -> str:
    """Send the pending session's link to the client again, with a fresh link (older ones stop working)."""
    booking = _lock_and_reload(db, booking)
    if booking.status != "pending":
        raise NotAllowed("not_pending", "Only a pending session can be shared.")
    url = links.issue(booking)
    db.add(BookingEvent(booking_id=booking.id, type="shared", actor="expert", data={}))
    notifications.booking_event(db, booking, "shared", actor="expert")
    db.commit()
    return url


def confirm_booking(db: Session, booking: Booking, *, actor: str) -> Booking:
    """The expert confirms a pending booking by hand, which waives its payment."""
    booking = _lock_and_reload(db, booking)
    if booking.status not in ("pending", "pending_payment"):
        raise NotAllowed("not_pending", "Only a pending booking can be confirmed.")
    booking.status = "confirmed"
    booking.hold_expires_at = None
    db.add(BookingEvent(booking_id=booking.id, type="confirmed", actor=actor, data={"payment": "waived"}))
    mark_lead_booked(db, booking)
    notifications.booking_event(db, booking, "confirmed", actor=actor)
    db.commit()
    return booking
