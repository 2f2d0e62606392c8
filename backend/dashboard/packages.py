"""Packages and collections: the expert's package plans (sessions sold together) and collections
(services and plans under one link), listed, created, edited and removed through the same
``package_plans`` and ``collections`` services and input schemas as the expert API."""
from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue

from backend.dashboard import auth, service_form
from backend.dashboard.common import Form, int_field, load, page, posted, renamed, save
from backend.dashboard.removal import Removal
from backend.dashboard.routes import bp
from backend.extensions import db
from backend.models import VISIBILITIES, Collection, PackagePlan
from backend.schemas.clients import CollectionIn, PackagePlanIn
from backend.services import catalog, collections, package_plans

VISIBILITY_LABELS = {"public": "Public: listed on your booking page",
                     "unlisted": "Unlisted: only people with the direct link",
                     "clients": "Existing clients only, once signed in"}
PLAN_FIELDS = ("name", "slug", "description", "sessions", "price.amount", "price.currency", "expires_after_days",
               "visibility")
COLLECTION_FIELDS = ("name", "slug", "description")


@bp.get("/packages")
@auth.login_required
def packages() -> ResponseReturnValue:
    """The expert's package plans and collections, each with its link and actions."""
    expert = auth.current_expert()
    plans = package_plans.list_plans(db.session(), expert)
    names = {s.slug: s.name for s in catalog.live_services(expert)}
    return page("dashboard/packages.html", "dashboard.packages", plans=plans,
                plan_services={p.id: [names.get(slug, slug) for slug in package_plans.service_slugs(db.session(), p)]
                               for p in plans},
                collections=collections.list_collections(db.session(), expert), visibilities=VISIBILITY_LABELS)


# --- package plans --------------------------------------------------------------------------------

def _package_services() -> list[tuple[str, str]]:
    """(slug, name) of the services a plan may cover: live ones that accept package credits."""
    return [(s.slug, s.name) for s in catalog.live_services(auth.current_expert())
            if "package" in (s.payment_options or [])]


def _plan_editor(form: Form, plan: PackagePlan | None, status: int = 200) -> ResponseReturnValue:
    return page("dashboard/package_form.html", "dashboard.packages", status, form=form, plan=plan,
                services=_package_services(), currencies=service_form.CURRENCIES,
                visibilities=[(v, VISIBILITY_LABELS[v]) for v in VISIBILITIES])


def _plan_form(plan: PackagePlan) -> Form:
    return Form(values={
        "name": plan.name, "slug": plan.slug, "description": plan.description or "", "sessions": str(plan.sessions),
        "price.amount": service_form.major_units(plan.price_amount, plan.price_currency),
        "price.currency": (plan.price_currency or "").upper(),
        "expires_after_days": "" if plan.expires_after_days is None else str(plan.expires_after_days),
        "visibility": plan.visibility, "services": package_plans.service_slugs(db.session(), plan)})


@bp.get("/packages/new")
@auth.login_required
def new_plan() -> ResponseReturnValue:
    """An empty package plan form."""
    return _plan_editor(Form(values={"visibility": "public", "sessions": "5", "services": []}), None)


@bp.get("/packages/<slug>/edit")
@auth.login_required
def edit_plan(slug: str) -> ResponseReturnValue:
    """A package plan's form, filled."""
    plan = package_plans.get_plan(db.session(), auth.current_expert(), slug)
    return _plan_editor(_plan_form(plan), plan)


def _submit_plan(plan: PackagePlan | None) -> ResponseReturnValue:
    """Create or change a plan from the posted form; errors come back beside the fields, as typed."""
    expert = auth.current_expert()
    form = Form(values={**posted(PLAN_FIELDS), "services": request.form.getlist("services")[:100]})
    if not form.values["slug"]:
        form.values["slug"] = service_form.slugify(form.values["name"]) if form.values["name"] else ""
    errors: dict[str, list[str]] = {} if form.get("name") else {"name": ["Name the package, like “Five sessions”."]}
    raw: dict[str, Any] = {k: form.get(k) for k in ("name", "slug", "description", "visibility")}
    raw["services"] = form.get("services")
    raw["sessions"] = int_field(form.values, "sessions", errors)
    if raw["sessions"] is None and "sessions" not in errors:
        errors["sessions"] = ["Enter how many sessions the package holds, like 5."]
    raw["expires_after_days"] = int_field(form.values, "expires_after_days", errors)
    raw["price"] = service_form.price_input(form.get("price.amount"), form.get("price.currency").lower(), errors)
    if raw["price"] is None and not errors.get("price.amount") and not errors.get("price.currency"):
        errors["price.amount"] = ["Enter the package’s price and its currency."]
    if not raw["services"]:
        errors["services"] = ["Choose at least one service the package’s sessions can be used for."]

    def change() -> PackagePlan:
        data = load(PackagePlanIn(), {k: v for k, v in raw.items() if v is not None}, errors)
        if plan is None:
            return package_plans.create_plan(db.session(), expert, data)
        return package_plans.update_plan(db.session(), expert, plan, data)

    saved = save(form, change)
    if saved is None:
        form.errors = renamed(form.errors, lambda k: "price.amount" if k == "price" else k)
        return _plan_editor(form, plan, 422)
    flash(f"Package “{saved.name}” saved.", "success")
    return redirect(url_for("dashboard.packages"))


@bp.post("/packages/new")
@auth.login_required
def create_plan() -> ResponseReturnValue:
    """Create a package plan."""
    return _submit_plan(None)


@bp.post("/packages/<slug>/edit")
@auth.login_required
def update_plan(slug: str) -> ResponseReturnValue:
    """Save a package plan's changes (packages already bought keep what was bought)."""
    return _submit_plan(package_plans.get_plan(db.session(), auth.current_expert(), slug))


def _plan_removal(plan: PackagePlan) -> Removal:
    return Removal(section="dashboard.packages", title=f"Remove the package “{plan.name}”?",
                   explanation="Clients can no longer buy it. Packages already bought keep their credits and "
                               "work as before.",
                   button="Remove package", action=url_for("dashboard.remove_plan", slug=plan.slug),
                   back=url_for("dashboard.packages"), back_label="Back to packages and collections",
                   done=f"Package “{plan.name}” removed: clients can no longer buy it.")


@bp.get("/packages/<slug>/remove")
@auth.login_required
def remove_plan_form(slug: str) -> ResponseReturnValue:
    """Ask before taking a package off sale."""
    return _plan_removal(package_plans.get_plan(db.session(), auth.current_expert(), slug)).ask()


@bp.post("/packages/<slug>/remove")
@auth.login_required
def remove_plan(slug: str) -> ResponseReturnValue:
    """Take a plan off sale (archived if bought, deleted otherwise), as the API's DELETE does."""
    plan = package_plans.get_plan(db.session(), auth.current_expert(), slug)
    return _plan_removal(plan).confirmed(lambda: package_plans.remove_plan(db.session(), plan))


# --- collections ----------------------------------------------------------------------------------

def _item_choices() -> list[tuple[str, str]]:
    """(``service:slug`` or ``package:slug``, label) of everything a collection may list."""
    expert = auth.current_expert()
    return ([(f"service:{s.slug}", f"Service: {s.name}") for s in catalog.live_services(expert)]
            + [(f"package:{p.slug}", f"Package: {p.name}") for p in package_plans.list_plans(db.session(), expert)])


def _collection_editor(form: Form, found: Collection | None, status: int = 200) -> ResponseReturnValue:
    return page("dashboard/collection_form.html", "dashboard.packages", status, form=form, collection=found,
                items=_item_choices())


def _collection_form(found: Collection) -> Form:
    items = [f"{kind}:{slug}" for item in (found.items or []) for kind, slug in item.items()]
    return Form(values={"name": found.name, "slug": found.slug, "description": found.description or "",
                        "items": items, "clients_only": found.clients_only})


@bp.get("/collections/new")
@auth.login_required
def new_collection() -> ResponseReturnValue:
    """An empty collection form."""
    return _collection_editor(Form(values={"items": []}), None)


@bp.get("/collections/<slug>/edit")
@auth.login_required
def edit_collection(slug: str) -> ResponseReturnValue:
    """A collection's form, filled."""
    found = collections.get_collection(db.session(), auth.current_expert(), slug)
    return _collection_editor(_collection_form(found), found)


def _submit_collection(found: Collection | None) -> ResponseReturnValue:
    """Create or change a collection from the posted form; errors come back beside the fields, as typed."""
    expert = auth.current_expert()
    form = Form(values={**posted(COLLECTION_FIELDS), "items": request.form.getlist("items")[:100],
                        "clients_only": bool(request.form.get("clients_only"))})
    if not form.values["slug"]:
        form.values["slug"] = service_form.slugify(form.values["name"]) if form.values["name"] else ""
    items = [dict([item.split(":", 1)]) for item in form.get("items") if item.partition(":")[0] in ("service", "package")]
    raw = {"name": form.get("name"), "slug": form.get("slug"), "description": form.get("description"),
           "items": items, "clients_only": form.get("clients_only")}

    errors = {} if form.get("name") else {"name": ["Name the collection, like “For my regulars”."]}

    def change() -> Collection:
        data = load(CollectionIn(), raw, errors)
        if found is None:
            return collections.create_collection(db.session(), expert, data)
        return collections.update_collection(db.session(), expert, found, data)

    saved = save(form, change)
    if saved is None:
        form.errors = renamed(form.errors, lambda k: "items" if k.startswith("items") else k)
        return _collection_editor(form, found, 422)
    flash(f"Collection “{saved.name}” saved. Its link and snippet are on Embed & links.", "success")
    return redirect(url_for("dashboard.packages"))


@bp.post("/collections/new")
@auth.login_required
def create_collection() -> ResponseReturnValue:
    """Create a collection."""
    return _submit_collection(None)


@bp.post("/collections/<slug>/edit")
@auth.login_required
def update_collection(slug: str) -> ResponseReturnValue:
    """Save a collection's changes."""
    return _submit_collection(collections.get_collection(db.session(), auth.current_expert(), slug))


def _collection_removal(found: Collection) -> Removal:
    return Removal(section="dashboard.packages", title=f"Remove the collection “{found.name}”?",
                   explanation="Its link and snippets stop working. The services and packages it lists stay as they are.",
                   button="Remove collection", action=url_for("dashboard.remove_collection", slug=found.slug),
                   back=url_for("dashboard.packages"), back_label="Back to packages and collections",
                   done=f"Collection “{found.name}” removed.")


@bp.get("/collections/<slug>/remove")
@auth.login_required
def remove_collection_form(slug: str) -> ResponseReturnValue:
    """Ask before deleting a collection."""
    return _collection_removal(collections.get_collection(db.session(), auth.current_expert(), slug)).ask()


@bp.post("/collections/<slug>/remove")
@auth.login_required
def remove_collection(slug: str) -> ResponseReturnValue:
    """Delete a collection, as the API's DELETE does."""
    found = collections.get_collection(db.session(), auth.current_expert(), slug)
    return _collection_removal(found).confirmed(lambda: collections.delete_collection(db.session(), found))
