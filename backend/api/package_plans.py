"""Package plans (API.md, "Packages"): the expert's CRUD, the widget's plan page and purchases,
refunds of unused packages and revoking credits."""
from __future__ import annotations

from typing import Any

from flask import current_app

from backend.api.auth import current_expert, login_required
from backend.api.blueprint import Blueprint
from backend.api.client_auth import signed_in_client
from backend.api.owned import Owned
from backend.errors import NotFound, ValidationError
from backend.extensions import db
from backend.models import Expert, PackagePlan, PackagePurchase
from backend.payments import cards, packages, purchases
from backend.ratelimit import limit
from backend.schemas.clients import (
    PackagePlanEnvelope,
    PackagePlanIn,
    PackagePlansEnvelope,
    PurchaseConfirmIn,
    PurchaseEnvelope,
    PurchaseIn,
)
from backend.schemas.common import patch_schema
from backend.schemas.payments import PackageEnvelope
from backend.services import client_auth, collections, experts, package_plans
from backend.services.clients import find_or_create_client
from backend.types import utcnow

blp = Blueprint("package_plans", __name__, url_prefix="/api/v1",
                description="Package plans: sessions sold together, bought by card, spent by bookings")

PLANS = Owned("package_plan", package_plans.get_plan, package_plans.plan_view)


def _view(purchase: PackagePurchase, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    expert = db.session().get(Expert, purchase.expert_id)
    assert expert is not None
    pay_url = f"{current_app.config['KAIROS'].base_url}/api/v1/experts/{expert.slug}/purchases/{purchase.id}"
    plan = package_plans.plan_view(db.session(), purchase.plan)
    return purchases.purchase_view(db.session(), purchase, plan, extra, pay_url)


# --- the expert's plans -----------------------------------------------------------------------

@blp.route("/admin/package-plans")
@login_required
@blp.response(200, PackagePlansEnvelope)
def list_plans():
    return {"package_plans": PLANS.dump_all(package_plans.list_plans(db.session(), current_expert()))}


@blp.route("/admin/package-plans", methods=["POST"])
@login_required
@blp.arguments(PackagePlanIn)
@blp.response(201, PackagePlanEnvelope)
def create_plan(data: dict):
    """A plan: ``sessions`` credits for ``services``, for ``price``, valid ``expires_after_days`` after purchase."""
    plan = package_plans.create_plan(db.session(), current_expert(), data)
    db.session.commit()
    return PLANS.dump(plan)


@blp.route("/admin/package-plans/<plan>")
@login_required
@blp.response(200, PackagePlanEnvelope)
def get_plan(plan: str):
    return PLANS.dump(PLANS.get(plan))


@blp.route("/admin/package-plans/<plan>", methods=["PATCH"])
@login_required
@blp.arguments(patch_schema(PackagePlanIn))
@blp.response(200, PackagePlanEnvelope)
def patch_plan(data: dict, plan: str):
    found = package_plans.update_plan(db.session(), current_expert(), PLANS.get(plan), data)
    db.session.commit()
    return PLANS.dump(found)


@blp.route("/admin/package-plans/<plan>", methods=["DELETE"])
@login_required
@blp.response(204)
def delete_plan(plan: str):
    """Take a plan off sale; packages already bought stay."""
    package_plans.remove_plan(db.session(), PLANS.get(plan))
    db.session.commit()


@blp.route("/admin/package-purchases/<purchase_id>/refund", methods=["POST"])
@login_required
@blp.response(200, PurchaseEnvelope)
@blp.alt_response(403, description="not_allowed: package_used or not_refundable")
def refund_purchase(purchase_id: str):
    """Refund a package none of whose credits were used: the credits go, the money goes back."""
    expert = current_expert()
    purchase = purchases.refund_unused(db.session(), expert, purchases.get_purchase(db.session(), expert, purchase_id))
    db.session.commit()
    return {"purchase": _view(purchase)}


@blp.route("/admin/packages/<int:package_id>", methods=["DELETE"])
@login_required
@blp.response(200, PackageEnvelope)
def revoke_package(package_id: int):
    """Revoke the credits a client has not used yet (those spent stay spent)."""
    expert = current_expert()
    package = packages.revoke(db.session(), expert, package_id)
    db.session.commit()
    return {"package": packages.package_view(db.session(), package)}


# --- the widget ---------------------------------------------------------------------------------

def visible_plan(expert: Expert, slug: str) -> PackagePlan:
    """A plan on offer; a clients-only one needs a signed-in client of the expert (401 sign_in_required)."""
    plan = package_plans.get_plan(db.session(), expert, slug)
    if plan.visibility == "clients" or (
            plan.visibility == "unlisted"
            and collections.behind_clients_only(db.session(), expert, "package", plan.slug)):
        client_auth.require_client(db.session(), expert, signed_in_client(expert))
    return plan


@blp.route("/experts/<expert>/package-plans/<plan>")
@blp.response(200, PackagePlanEnvelope)
def public_plan(expert: str, plan: str):
    """One package plan, public or unlisted (a direct link); clients-only needs a signed-in client."""
    return PLANS.dump(visible_plan(experts.get_expert(db.session(), expert), plan))


@blp.route("/experts/<expert>/package-plans/<plan>/purchases", methods=["POST"])
@limit("booking", per_minute=30)
@blp.arguments(PurchaseIn)
@blp.response(201, PurchaseEnvelope)
@blp.alt_response(402, description="payment_failed: the saved card was declined")
def buy(data: dict, expert: str, plan: str):
    """Buy a plan: ``pending_payment`` with what Stripe.js needs, or paid at once with a saved ``card``."""
    found_expert = experts.get_expert(db.session(), expert)
    found = visible_plan(found_expert, plan)
    client = signed_in_client(found_expert)
    if client is None:
        if not data.get("client"):
            raise ValidationError(fields={"client": ["Enter your name and email, or sign in."]})
        client = find_or_create_client(db.session(), found_expert, data["client"]["name"], data["client"]["email"],
                                       None)
    elif data.get("card") is None and not client.name:
        raise ValidationError(fields={"client": ["Enter your name."]})
    if data.get("card"):  # checked before anything is recorded
        if signed_in_client(found_expert) is None:
            raise ValidationError(fields={"card": ["Sign in to pay with a saved card."]})
        cards.require_saved_card(db.session(), client, data["card"])
    purchase = purchases.create_purchase(db.session(), found_expert, found, client)
    db.session.commit()  # the purchase exists before any call to Stripe
    now = utcnow()
    if data.get("card"):
        extra = purchases.pay_with_card(db.session(), purchase, data["card"], now, key=data["card"])
    else:
        extra = purchases.start_payment(db.session(), purchase)
    db.session().refresh(purchase)
    return {"purchase": _view(purchase, extra)}


def _purchase_of(expert: str, purchase_id: str):
    found_expert = experts.get_expert(db.session(), expert)
    try:
        return purchases.get_purchase(db.session(), found_expert, purchase_id)
    except NotFound:
        raise NotFound("No such purchase.") from None


@blp.route("/experts/<expert>/purchases/<purchase_id>/confirm", methods=["POST"])
@limit("manage", per_minute=60)
@blp.arguments(PurchaseConfirmIn)
@blp.response(200, PurchaseEnvelope)
@blp.alt_response(402, description="payment_failed: the card was declined")
def confirm_purchase(data: dict, expert: str, purchase_id: str):
    """Charge the card set up with Stripe.js (``setup_intent``); the id of the purchase is its key."""
    purchase = _purchase_of(expert, purchase_id)
    extra = purchases.confirm(db.session(), purchase, data["setup_intent"], utcnow())
    db.session().refresh(purchase)
    db.session.commit()
    return {"purchase": _view(purchase, extra)}


@blp.route("/experts/<expert>/purchases/<purchase_id>", methods=["POST"])
@limit("manage", per_minute=60)
@blp.response(200, PurchaseEnvelope)
def purchase_card_setup(expert: str, purchase_id: str):
    """A fresh card setup for a purchase still waiting (after a declined card)."""
    purchase = _purchase_of(expert, purchase_id)
    extra = purchases.start_payment(db.session(), purchase)
    db.session.commit()
    return {"purchase": _view(purchase, extra)}


@blp.route("/experts/<expert>/purchases/<purchase_id>")
@limit("manage", per_minute=60)
@blp.response(200, PurchaseEnvelope)
def purchase_status(expert: str, purchase_id: str):
    """The purchase, after asking Stripe about a payment still in flight (when the widget returns)."""
    purchase = _purchase_of(expert, purchase_id)
    extra = purchases.refresh(db.session(), purchase, utcnow())
    db.session.commit()
    return {"purchase": _view(purchase, extra)}
