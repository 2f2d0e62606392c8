"""Where a unit of work ends outside a route, a CLI command or a worker job.

Services flush; their caller (route, CLI command, worker job) commits once. The one exception
is a payment process that calls Stripe between its steps: each Stripe call is its own unit, so
the step before it must end first (no transaction, and never the expert's lock, stays open
across a network call). Such a process ends its units here, by name, so that the boundary is
explicit and ``tests/test_architecture.py`` can tell who does it.
"""
from __future__ import annotations

from sqlalchemy.orm import Session


def end_unit(db: Session) -> None:
    """Commit the unit of work so far, before a call to Stripe or the next step of a payment process."""
    db.commit()
