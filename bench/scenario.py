"""The issue-3 calendar, written into a real Kairos database for the endpoint benchmarks.

One expert in America/New_York, Mon–Fri 09:00–12:00 and 13:00–17:00, a 30-minute service every
15 minutes with 10/10-minute buffers, 50 date overrides, and N bookings over the next 90 days.
"""
from __future__ import annotations

import random
import sys
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ZONE = "America/New_York"


def seed(app, n_bookings: int, seed: int = 1) -> str:
    """Create the expert 'bench' with the scenario; return an API token."""
    from backend.extensions import db
    from backend.models import Availability, Booking, Client
    from backend.services import experts
    from backend.types import utcnow

    rng = random.Random(seed)
    with app.app_context():
        expert, token = experts.create_expert(db.session, "bench", email="bench@example.com", name="Bench",
                                              timezone=ZONE)
        service = experts.create_service(db.session, expert, {
            "slug": "call", "name": "Call", "duration_minutes": 30, "slot_interval_minutes": 15,
            "buffer_before_minutes": 10, "buffer_after_minutes": 10, "max_advance_days": 120}, stripe_enabled=False)
        av = db.session.get(Availability, expert.id)
        av.timezone = ZONE
        av.weekly = {d: [["09:00", "12:00"], ["13:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
        today = date.today()
        overrides = {}
        for day in rng.sample(range(1, 90), 50):
            d = today + timedelta(days=day)
            overrides[d.isoformat()] = [] if rng.random() < 0.4 else [[f"{rng.choice([8, 10, 14]):02d}:00",
                                                                        f"{rng.choice([18, 19, 20])}:00"]]
        av.overrides = overrides
        db.session.flush()
        client = Client(expert_id=expert.id, email="c@example.com", email_key="c@example.com", name="C")
        db.session.add(client)
        db.session.flush()
        tz = ZoneInfo(ZONE)
        rows = []
        now = utcnow()
        for i in range(n_bookings):
            d = today + timedelta(days=rng.randrange(1, 91))
            start = (datetime.combine(d, time(7), tz) + timedelta(minutes=15 * rng.randrange(48))).astimezone(timezone.utc)
            rows.append(Booking(id=f"bk_bench{i}", expert_id=expert.id, service_id=service.id, client_id=client.id,
                                start=start, end=start + timedelta(minutes=rng.choice([15, 30, 30, 60])),
                                buffer_before_minutes=rng.choice([0, 5, 10]), buffer_after_minutes=rng.choice([0, 5, 10, 15]),
                                timezone=ZONE, status=rng.choice(["confirmed"] * 8 + ["pending_payment", "cancelled"]),
                                hold_expires_at=now + timedelta(minutes=10), manage_token_hash=f"h{i}", manage_nonce="n",
                                message="", answers={}, source="widget"))
        db.session.add_all(rows)
        db.session.commit()
        return token
