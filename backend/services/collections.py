"""Collections: an expert's services and package plans grouped under one link and snippet."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import NotFound, ValidationError
from backend.models import Collection, Expert, PackagePlan, Service

_COLUMNS = ("slug", "name", "description", "items", "clients_only")


def list_collections(db: Session, expert: Expert) -> list[Collection]:
    return list(db.scalars(select(Collection).where(Collection.expert_id == expert.id).order_by(Collection.id)))


def get_collection(db: Session, expert: Expert, slug: str) -> Collection:
    """One of the expert's collections; NotFound otherwise."""
    found = db.scalar(select(Collection).where(Collection.expert_id == expert.id, Collection.slug == slug))
    if found is None:
        raise NotFound(f"No collection '{slug}' for this expert.")
    return found


def _check_items(db: Session, expert: Expert, items: list[dict[str, str]]) -> list[dict[str, str]]:
    """Each item names one of the expert's services or plans on offer, once."""
    errors, seen = [], set()
    for item in items:
        kind, slug = next(iter(item.items()))
        model = Service if kind == "service" else PackagePlan
        exists = db.scalar(select(model.id).where(model.expert_id == expert.id, model.slug == slug,
                                                  model.archived.is_(False)))
        if exists is None:
            errors.append(f"You have no {'service' if kind == 'service' else 'package'} '{slug}'.")
        if (kind, slug) in seen:
            errors.append(f"'{slug}' is listed twice.")
        seen.add((kind, slug))
    if errors:
        raise ValidationError(fields={"items": errors})
    return [dict(item) for item in items]


def create_collection(db: Session, expert: Expert, data: dict[str, Any]) -> Collection:
    if db.scalar(select(Collection.id).where(Collection.expert_id == expert.id,
                                             Collection.slug == data["slug"])) is not None:
        raise ValidationError(fields={"slug": [f"You already have a collection '{data['slug']}'."]})
    values = {k: data[k] for k in _COLUMNS if k in data}
    values["items"] = _check_items(db, expert, data.get("items", []))
    found = Collection(expert_id=expert.id, **values)
    db.add(found)
    db.flush()
    return found


def update_collection(db: Session, expert: Expert, found: Collection, changes: dict[str, Any]) -> Collection:
    if "slug" in changes and changes["slug"] != found.slug and db.scalar(select(Collection.id).where(
            Collection.expert_id == expert.id, Collection.slug == changes["slug"])) is not None:
        raise ValidationError(fields={"slug": [f"You already have a collection '{changes['slug']}'."]})
    if "items" in changes:
        changes = {**changes, "items": _check_items(db, expert, changes["items"])}
    for key in _COLUMNS:
        if key in changes:
            setattr(found, key, changes[key])
    db.flush()
    return found


def delete_collection(db: Session, found: Collection) -> None:
    db.delete(found)
    db.flush()


def collection_view(found: Collection) -> dict[str, Any]:
    """The collection as the expert sees it."""
    return {"slug": found.slug, "name": found.name, "description": found.description,
            "items": list(found.items or []), "clients_only": found.clients_only}


def contents(db: Session, expert: Expert, found: Collection, *, is_client: bool) -> tuple[list[Service], list[PackagePlan]]:
    """The services and plans of a collection still on offer, in its order; clients-only ones only for a client."""
    shown = ("public", "unlisted", "clients") if is_client else ("public", "unlisted")
    services = {s.slug: s for s in db.scalars(select(Service).where(
        Service.expert_id == expert.id, Service.archived.is_(False), Service.visibility.in_(shown)))}
    plans = {p.slug: p for p in db.scalars(select(PackagePlan).where(
        PackagePlan.expert_id == expert.id, PackagePlan.archived.is_(False), PackagePlan.visibility.in_(shown)))}
    out_services = [services[i["service"]] for i in found.items or [] if i.get("service") in services]
    out_plans = [plans[i["package"]] for i in found.items or [] if i.get("package") in plans]
    return out_services, out_plans


def behind_clients_only(db: Session, expert: Expert, kind: str, slug: str) -> bool:
    """Whether an unlisted service or plan (``kind`` "service" or "package") is listed in a clients-only
    collection: then only the expert's clients may see it, as if its visibility were "clients"."""
    rows = db.scalars(select(Collection.items).where(Collection.expert_id == expert.id,
                                                     Collection.clients_only.is_(True)))
    return any(item.get(kind) == slug for items in rows for item in items or [])
