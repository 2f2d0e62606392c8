"""Packages: session credits an expert grants a client, spent one per booking.

A credit is taken inside the booking's transaction, under the expert's lock (every
``ClientPackage`` belongs to one expert), with a conditional UPDATE as a second guard, so two
bookings can never spend the last credit twice. A cancellation gives the credit back, once.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from backend.errors import NotAllowed, NotFound, ValidationError
from backend.models import Booking, BookingEvent, Client, ClientPackage, Expert, Service
from backend.payments import ledger
from backend.timeutil import iso_utc

NO_CREDIT = "You have no package credit left for this service. Please choose another way to pay."


def covers(package: ClientPackage, service_id: int) -> bool:
    """An empty service list means every service of the expert."""
    return not package.service_ids or service_id in package.service_ids


def usable(db: Session, expert_id: int, client_id: int, service_id: int, now: datetime) -> list[ClientPackage]:
    """The client's packages with a credit left for the service, the one expiring first first."""
    rows = db.scalars(select(ClientPackage).where(
        ClientPackage.expert_id == expert_id, ClientPackage.client_id == client_id,
        ClientPackage.credits_used < ClientPackage.credits_total))
    found = [p for p in rows if covers(p, service_id) and (p.expires_at is None or p.expires_at > now)]
    return sorted(found, key=lambda p: (p.expires_at is None, p.expires_at or now, p.id))


def take_credit(db: Session, booking: Booking, now: datetime, package_id: int | None = None) -> ClientPackage:
    """Spend one credit on ``booking`` (inside its transaction); NotAllowed when none is left.

    ``package_id`` picks one of the client's packages (when several fit); else the one expiring first.
    """
    candidates = usable(db, booking.expert_id, booking.client_id, booking.service_id, now)
    if package_id is not None:
        candidates = [p for p in candidates if p.id == package_id]
        if not candidates:
            raise ValidationError(fields={"package": ["This package has no credit left for this service."]})
    for package in candidates:
        # An UPDATE's result is a CursorResult (it has rowcount); Session.execute is typed as returning Result.
        taken = cast(CursorResult[Any], db.execute(update(ClientPackage).where(
            ClientPackage.id == package.id, ClientPackage.credits_used < ClientPackage.credits_total,
        ).values(credits_used=ClientPackage.credits_used + 1))).rowcount
        if taken == 1:
            db.refresh(package)
            booking.client_package_id = package.id
            db.add(BookingEvent(booking_id=booking.id, type="credit_used", actor="client",
                                data={"package": package.id, "credits_left": package.credits_total - package.credits_used}))
            return package
    raise NotAllowed("no_package_credit", NO_CREDIT)


def timely(booking: Booking, now: datetime) -> bool:
    """Whether a cancellation at ``now`` comes before the service's cutoff (``policy.cutoff_hours``, 24 by default)."""
    cutoff_hours = (booking.service.policy or {}).get("cutoff_hours", 24)
    return now <= booking.start - timedelta(hours=cutoff_hours)


def return_credit(db: Session, booking: Booking, *, actor: str, now: datetime | None = None) -> bool:
    """Inside a cancellation's transaction: give the booking's credit back (once) when the cancellation is
    timely; a late one (the expert recording it after the cutoff) spends the session, as a paid one keeps
    the money. Without ``now`` the credit always comes back."""
    if booking.client_package_id is None or ledger.events(db, booking.id, "credit_returned"):
        return False
    if now is not None and not timely(booking, now):
        db.add(BookingEvent(booking_id=booking.id, type="credit_kept", actor="system",
                            message="Cancelled after the cutoff: the session credit is spent.",
                            data={"package": booking.client_package_id}))
        return False
    db.execute(update(ClientPackage).where(ClientPackage.id == booking.client_package_id,
                                           ClientPackage.credits_used > 0)
               .values(credits_used=ClientPackage.credits_used - 1))
    db.add(BookingEvent(booking_id=booking.id, type="credit_returned", actor=actor,
                        data={"package": booking.client_package_id}))
    return True


def grant(db: Session, expert: Expert, client: Client, *, name: str, service_slugs: list[str], credits: int,
          expires_at: datetime | None) -> ClientPackage:
    """A package of ``credits`` for some of the expert's services (none named: all of them)."""
    service_ids = []
    for slug in service_slugs:
        service = db.scalar(select(Service).where(Service.expert_id == expert.id, Service.slug == slug,
                                                  Service.archived.is_(False)))
        if service is None:
            raise ValidationError(fields={"services": [f"You have no service '{slug}'."]})
        if "package" not in (service.payment_options or []):
            raise ValidationError(fields={"services": [
                f"'{slug}' cannot be paid with a package: add 'package' to its payment_options first."]})
        service_ids.append(service.id)
    package = ClientPackage(expert_id=expert.id, client_id=client.id, name=name, service_ids=service_ids,
                            credits_total=credits, credits_used=0, expires_at=expires_at)
    db.add(package)
    db.flush()
    return package


def of_client(db: Session, expert: Expert, client: Client) -> list[ClientPackage]:
    """The client's packages with this expert, oldest first."""
    return list(db.scalars(select(ClientPackage).where(ClientPackage.client_id == client.id,
                                                       ClientPackage.expert_id == expert.id)
                           .order_by(ClientPackage.id)))


def revoke(db: Session, expert: Expert, package_id: int) -> ClientPackage:
    """Take back the credits of one of the expert's packages not used yet (spent ones stay spent)."""
    package = db.scalar(select(ClientPackage).where(ClientPackage.id == package_id,
                                                    ClientPackage.expert_id == expert.id))
    if package is None:
        raise NotFound("No such package.")
    package.credits_total = package.credits_used
    db.flush()
    return package


def usable_of_client(db: Session, client: Client, now: datetime) -> list[ClientPackage]:
    """The client's packages that still hold a credit and have not expired, the one expiring first first."""
    rows = db.scalars(select(ClientPackage).where(ClientPackage.client_id == client.id,
                                                  ClientPackage.credits_used < ClientPackage.credits_total))
    found = [p for p in rows if p.expires_at is None or p.expires_at > now]
    return sorted(found, key=lambda p: (p.expires_at is None, p.expires_at or now, p.id))


def package_view(db: Session, package: ClientPackage) -> dict[str, Any]:
    slugs = []
    if package.service_ids:
        slugs = list(db.scalars(select(Service.slug).where(Service.id.in_(package.service_ids))))
    return {"id": package.id, "name": package.name, "services": slugs, "credits_total": package.credits_total,
            "credits_used": package.credits_used, "credits_left": package.credits_total - package.credits_used,
            "expires_at": iso_utc(package.expires_at) if package.expires_at else None,
            "created_at": iso_utc(package.created_at)}
