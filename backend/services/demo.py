"""The demo expert that `make run` shows: every kind of service (personal, paid, group, series,
mini sessions at two places), a client holding a package, and weekday hours."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.models import Availability, ClientPackage, Expert, Service, ServiceSession
from backend.payments import packages
from backend.services import clients, experts, sessions
from backend.timeutil import zone
from backend.types import utcnow

DEMO_SLUG = "demo"

DEMO_SERVICES = [
    {"slug": "intro-call", "name": "Intro call", "kind": "personal", "duration_minutes": 30,
     "description": "A free 30-minute video call to see whether we are a good fit.",
     "location": {"type": "video", "url": "https://meet.example.com/demo-intro"},
     "phone": "optional", "message": True, "slot_interval_minutes": 30, "min_notice_minutes": 60,
     "max_advance_days": 60, "confirmation_note": "I will send you a short questionnaire before the call."},
    {"slug": "coaching-session", "name": "Coaching session", "kind": "personal", "duration_minutes": 60,
     "description": "A one-hour coaching session, in person at my studio or by phone.",
     "location": {"type": "in_person", "address": "12 Harbour Street, Boston, MA", "city": "Boston"},
     "phone": "required", "message": True, "slot_interval_minutes": 30, "buffer_after_minutes": 15,
     "min_notice_minutes": 12 * 60, "max_advance_days": 60,
     "questions": [{"id": "goal", "label": "What would you like to work on?", "type": "textarea", "required": True}]},
    {"slug": "quick-question", "name": "Quick question", "kind": "personal", "duration_minutes": 15,
     "description": "Fifteen minutes by phone for a focused question.",
     "location": {"type": "phone", "phone": "+1 617 555 0100"}, "phone": "required", "message": True,
     "slot_interval_minutes": 15, "daily_limit": 4, "max_advance_days": 30},
]

# A paid session: by card through Stripe when it is configured (`make run` uses localstripe), and
# always payable outside Kairos with the expert's instructions.
PAID_SERVICE = {
    "slug": "strategy-session", "name": "Strategy session", "kind": "personal", "duration_minutes": 60,
    "description": "A one-hour deep dive into your career change plan, by video.",
    "location": {"type": "video", "url": "https://meet.example.com/demo-strategy"},
    "phone": "optional", "message": True, "slot_interval_minutes": 60, "min_notice_minutes": 12 * 60,
    "max_advance_days": 60, "price": {"amount": 9000, "currency": "usd"},
    "outside_payment_instructions": ("Pay by bank transfer to Maya Lindqvist Coaching, IBAN US00 DEMO 0000 0000 "
                                     "0000 00, reference: your name and the date of the session."),
    "outside_payment_status": "confirmed",
}

DEMO_WEEKLY = {day: [["09:00", "12:00"], ["13:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


# The other flows of the product: dated sessions (a group workshop, a course sold whole, mini
# sessions at two places) and a follow-up payable with package credits. They all happen at
# weekends, outside the weekday hours, so they never take a time the personal services offer.
SCHEDULED_SERVICES: list[dict[str, Any]] = [
    {"slug": "saturday-workshop", "name": "Saturday career workshop", "kind": "group", "duration_minutes": 120,
     "capacity": 12, "description": "Two hours in a small group: map your skills onto the jobs you want.",
     "location": {"type": "in_person", "name": "Harbour Community Hall", "address": "40 Harbour Street, Boston, MA"},
     "phone": "hidden", "message": True, "max_advance_days": 90},
    {"slug": "career-change-course", "name": "Career change course", "kind": "series", "duration_minutes": 90,
     "capacity": 8, "description": "Three Sunday evenings, sold together: plan, story, interviews.",
     "location": {"type": "in_person", "name": "Harbour Studio", "address": "12 Harbour Street, Boston, MA"},
     "price": {"amount": 24000, "currency": "usd"}, "payment_options": ["outside"],
     "outside_payment_instructions": "Pay by bank transfer before the first evening (details in your email).",
     "phone": "optional", "message": True, "max_advance_days": 90},
    {"slug": "headshot-minis", "name": "LinkedIn headshot minis", "kind": "mini", "duration_minutes": 15,
     "description": "Fifteen minutes with a photographer for a new profile photo.", "phone": "optional",
     "message": False, "max_advance_days": 90},
]
PACKAGE_SERVICE: dict[str, Any] = {
    "slug": "follow-up", "name": "Follow-up session", "kind": "personal", "duration_minutes": 45,
    "description": "A 45-minute check-in, by video, for clients already working with me.",
    "location": {"type": "video", "url": "https://meet.example.com/demo-follow-up"}, "visibility": "unlisted",
    "price": {"amount": 6000, "currency": "usd"}, "payment_options": ["package", "outside"],
    "outside_payment_instructions": "Pay by bank transfer, reference: your name.", "slot_interval_minutes": 45,
    "min_notice_minutes": 12 * 60, "max_advance_days": 60,
}
PACKAGE_CLIENT = ("Sam Rivera", "sam.rivera@example.com")


def demo_services(stripe_enabled: bool) -> list[dict]:
    paid = dict(PAID_SERVICE, payment_options=["online", "outside"] if stripe_enabled else ["outside"])
    return [*DEMO_SERVICES, paid, *SCHEDULED_SERVICES, PACKAGE_SERVICE]


def _weekend(today: date, weekday: int, weeks_ahead: int) -> date:
    """The ``weekday`` (5 Saturday, 6 Sunday) at least four days after ``today``, ``weeks_ahead`` later."""
    start = today + timedelta(days=4)
    return start + timedelta(days=(weekday - start.weekday()) % 7 + 7 * weeks_ahead)


def _at(day: date, hh: int, mm: int, tz: str) -> datetime:
    """A weekend wall time in ``tz`` (never in a DST gap: those fall at night) as UTC."""
    return datetime.combine(day, time(hh, mm), tzinfo=zone(tz)).astimezone(UTC)


def _schedule_sessions(db: Session, expert: Expert, now: datetime) -> None:
    """Dated sessions for the scheduled services, unless they already have some still to come."""
    tz = expert.timezone
    today = now.astimezone(zone(tz)).date()
    by_slug = {s.slug: s for s in expert.services}
    ahead = {s.service_id for s in db.scalars(select(ServiceSession).where(ServiceSession.expert_id == expert.id,
                                                                           ServiceSession.end > now))}

    def session(service: Service, day: date, start: tuple[int, int], end: tuple[int, int]) -> dict[str, Any]:
        return {"start": _at(day, *start, tz), "end": _at(day, *end, tz), "location": service.location}

    workshop, course, minis = (by_slug[s["slug"]] for s in SCHEDULED_SERVICES)
    if workshop.id not in ahead:
        for week in range(3):
            sessions.create_session(db, expert, workshop, session(workshop, _weekend(today, 5, week), (10, 0), (12, 0)))
    if course.id not in ahead:
        for week in range(3):
            sessions.create_session(db, expert, course, session(course, _weekend(today, 6, week), (17, 0), (18, 30)))
    if minis.id not in ahead:
        day = _weekend(today, 5, 1)
        for start, end, place in (("09:00", "10:00", {"type": "in_person", "name": "Riverside Park",
                                                       "address": "Memorial Drive, Cambridge, MA"}),
                                  ("14:00", "15:00", {"type": "in_person", "name": "Harbour Studio",
                                                      "address": "12 Harbour Street, Boston, MA"})):
            sessions.create_mini_day(db, expert, minis, {"date": day, "start_time": start, "end_time": end,
                                                          "slot_minutes": 15, "gap_minutes": 5, "location": place})


def _grant_package(db: Session, expert: Expert) -> None:
    """A client who bought a pack of five follow-ups (once)."""
    name, email = PACKAGE_CLIENT
    client = clients.find_or_create_client(db, expert, name, email, None)
    held = db.scalar(select(ClientPackage.id).where(ClientPackage.client_id == client.id))
    if held is None:
        packages.grant(db, expert, client, name="Five follow-up sessions", service_slugs=[PACKAGE_SERVICE["slug"]],
                       credits=5, expires_at=utcnow() + timedelta(days=180))


def seed_demo(db: Session, *, stripe_enabled: bool = False) -> tuple[Expert, str | None]:
    """Create or refresh the demo expert; safe to run twice. Returns the expert and a token if new.

    With Stripe configured, the paid "Strategy session" can be paid by card; without, only outside.
    """
    expert = db.scalar(select(Expert).where(Expert.slug == DEMO_SLUG))
    token = None
    if expert is None:
        expert, token = experts.create_expert(db, DEMO_SLUG, email="demo@kairos.example", name="Dr. Maya Lindqvist",
                                              timezone="America/New_York", password="demo-password")
    expert.bio = ("Career coach for people changing fields. Fifteen years helping engineers, teachers and "
                  "nurses find work that fits.")
    expert.brand_color = "#2f5d8a"
    for data in demo_services(stripe_enabled):
        existing = next((s for s in expert.services if s.slug == data["slug"]), None)
        if existing is None:
            experts.create_service(db, expert, dict(data), stripe_enabled=stripe_enabled)
        else:
            experts.apply_service_changes(db, expert, existing, dict(data), stripe_enabled=stripe_enabled)
    av = db.get(Availability, expert.id)
    if av is None:
        av = Availability(expert_id=expert.id, timezone=expert.timezone, weekly={}, overrides={})
        db.add(av)
    av.timezone = expert.timezone
    av.weekly = DEMO_WEEKLY
    db.flush()
    _schedule_sessions(db, expert, utcnow())
    _grant_package(db, expert)
    return expert, token
