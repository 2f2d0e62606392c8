"""Seed N experts (``e0`` … ``eN-1``), each with Mon–Fri 08:00–20:00 in Paris and a free 30-minute personal
service ``s`` on a 15-minute grid, through the services and the expert API of whichever ``backend`` is
first on ``sys.path`` (bench_booking.py runs it for today's code and for the baseline's).

    KAIROS_DATABASE_URL=… PYTHONPATH=<root> python bench/seed_experts.py N
"""
from __future__ import annotations

import sys
from pathlib import Path


def main() -> None:
    sys.path.insert(0, str(Path.cwd()))
    from backend import create_app
    from backend.extensions import db
    from backend.services import experts

    count = int(sys.argv[1])
    app = create_app()
    client = app.test_client()
    weekly = {d: [["08:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    for i in range(count):
        with app.app_context():
            _, token = experts.create_expert(db.session, f"e{i}", email=f"e{i}@example.com", name=f"Expert {i}",
                                             timezone="Europe/Paris")
            db.session.commit()
        headers = {"Authorization": f"Bearer {token}"}
        assert client.put("/api/v1/admin/availability", headers=headers,
                          json={"timezone": "Europe/Paris", "weekly": weekly}).status_code == 200
        assert client.post("/api/v1/admin/services", headers=headers, json={
            "slug": "s", "name": "S", "duration_minutes": 30, "slot_interval_minutes": 15,
            "max_advance_days": 60}).status_code == 201
    with app.app_context():
        db.engine.dispose()


if __name__ == "__main__":
    main()
