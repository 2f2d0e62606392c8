"""Package plans: N sessions of some of an expert's services for one price, sold in the widget."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import NotFound, ValidationError
from backend.models import Expert, PackagePlan, PackagePurchase, Service

_COLUMNS = ("slug", "name", "description", "sessions", "expires_after_days", "visibility")


def _service_ids(db: Session, expert: Expert, slugs: list[str]) -> list[int]:
    """The ids of the expert's services named; each must accept package credits."""
    ids = []
    for slug in slugs:
        service = db.scalar(select(Service).where(Service.expert_id == expert.id, Service.slug == slug,
                                                  Service.archived.is_(False)))
        if service is None:
            raise ValidationError(fields={"services": [f"You have no service '{slug}'."]})
        if "package" not in (service.payment_options or []):
            raise ValidationError(fields={"services": [
                f"'{slug}' cannot be paid with a package: add 'package' to its payment_options first."]})
        ids.append(service.id)
    return ids


def list_plans(db: Session, expert: Expert) -> list[PackagePlan]:
    """The expert's plans on offer, oldest first."""
    return list(db.scalars(select(PackagePlan).where(PackagePlan.expert_id == expert.id,
                                                     PackagePlan.archived.is_(False)).order_by(PackagePlan.id)))


def get_plan(db: Session, expert: Expert, slug: str) -> PackagePlan:
    """One of the expert's plans on offer; NotFound otherwise."""
    plan = db.scalar(select(PackagePlan).where(PackagePlan.expert_id == expert.id, PackagePlan.slug == slug,
                                               PackagePlan.archived.is_(False)))
    if plan is None:
        raise NotFound(f"No package '{slug}' for this expert.")
    return plan


def create_plan(db: Session, expert: Expert, data: dict[str, Any]) -> PackagePlan:
    """A new plan; a slug already used is a 422 on ``slug``."""
    if db.scalar(select(PackagePlan.id).where(PackagePlan.expert_id == expert.id,
                                              PackagePlan.slug == data["slug"])) is not None:
        raise ValidationError(fields={"slug": [f"You already have a package '{data['slug']}'."]})
    plan = PackagePlan(expert_id=expert.id, service_ids=_service_ids(db, expert, data["services"]),
                       price_amount=data["price"]["amount"], price_currency=data["price"]["currency"],
                       archived=False, **{k: data[k] for k in _COLUMNS if k in data})
    db.add(plan)
    db.flush()
    return plan


def update_plan(db: Session, expert: Expert, plan: PackagePlan, changes: dict[str, Any]) -> PackagePlan:
    """Change a plan; packages already bought keep what was bought."""
    if "slug" in changes and changes["slug"] != plan.slug:
        if db.scalar(select(PackagePlan.id).where(PackagePlan.expert_id == expert.id,
                                                  PackagePlan.slug == changes["slug"])) is not None:
            raise ValidationError(fields={"slug": [f"You already have a package '{changes['slug']}'."]})
    if "services" in changes:
        plan.service_ids = _service_ids(db, expert, changes["services"])
    if "price" in changes:
        plan.price_amount, plan.price_currency = changes["price"]["amount"], changes["price"]["currency"]
    for key in _COLUMNS:
        if key in changes:
            setattr(plan, key, changes[key])
    db.flush()
    return plan


def remove_plan(db: Session, plan: PackagePlan) -> None:
    """Take a plan off sale; one already bought is archived so its purchases stay whole."""
    bought = db.scalar(select(PackagePurchase.id).where(PackagePurchase.plan_id == plan.id).limit(1))
    if bought is None:
        db.delete(plan)
    else:
        plan.archived = True
        plan.slug = f"{plan.slug[:40]}-archived-{plan.id}"  # frees the slug for a new plan
    db.flush()


def service_slugs(db: Session, plan: PackagePlan) -> list[str]:
    if not plan.service_ids:
        return []
    by_id = {sid: slug for sid, slug in db.execute(select(Service.id, Service.slug)
                                                  .where(Service.id.in_(plan.service_ids)))}
    return [by_id[i] for i in plan.service_ids if i in by_id]


def plan_view(db: Session, plan: PackagePlan) -> dict[str, Any]:
    """A plan as the expert and (if visible) the widget see it."""
    return {"slug": plan.slug, "name": plan.name, "description": plan.description, "sessions": plan.sessions,
            "services": service_slugs(db, plan), "price": {"amount": plan.price_amount, "currency": plan.price_currency},
            "expires_after_days": plan.expires_after_days, "visibility": plan.visibility}


def public_plans(db: Session, expert: Expert, *, is_client: bool) -> list[PackagePlan]:
    """The plans the booking page lists: public ones, and clients-only ones for a client of the expert."""
    shown = ("public", "clients") if is_client else ("public",)
    return [p for p in list_plans(db, expert) if p.visibility in shown]
