"""The demo expert that `make run` shows: a few public services and weekday hours."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.models import Availability, Expert
from backend.services import experts

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


def demo_services(stripe_enabled: bool) -> list[dict]:
    paid = dict(PAID_SERVICE, payment_options=["online", "outside"] if stripe_enabled else ["outside"])
    return [*DEMO_SERVICES, paid]


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
    return expert, token
