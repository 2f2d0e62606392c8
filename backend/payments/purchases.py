"""Buying a package plan by card, like a booking: credits appear once, exactly, when paid.

1. ``create_purchase`` (in the route's transaction) records a ``pending_payment`` purchase at the
   plan's price. After it commits, ``start_payment`` makes a SetupIntent for Stripe.js (a new card)
   or, for a signed-in client, charges a saved card at once (``pay_with_card``).
2. ``confirm`` charges the card the widget set up (``PaymentIntent.create(confirm=True)``, which
   works on Stripe and localstripe); 3-D Secure comes back as ``requires_action``.
3. ``settle`` turns the purchase ``paid`` and creates its ``ClientPackage``, under the expert's lock
   with a conditional UPDATE, from whichever comes first: the signed webhook
   (``sync_intent``) or the widget's status check (``refresh``). The second finds it paid and does nothing.
4. ``refund_unused``: the expert refunds a package none of whose credits were spent.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from backend.errors import NotAllowed, NotFound, PaymentFailed, ValidationError
from backend.models import Client, ClientPackage, Expert, PackagePlan, PackagePurchase, Service
from backend.outbox import enqueue
from backend.payments import cards, online, packages
from backend.payments.stripe_gateway import CardDeclined, ProviderUnavailable, gateway, stripe_js_config
from backend.services.locking import lock_expert
from backend.statuses import PurchaseStatus
from backend.transactions import end_unit


def create_purchase(db: Session, expert: Expert, plan: PackagePlan, client: Client) -> PackagePurchase:
    """A purchase waiting for its payment, at the plan's price now (flushes; the caller commits)."""
    purchase = PackagePurchase(expert_id=expert.id, plan_id=plan.id, client_id=client.id,
                               status=PurchaseStatus.PENDING_PAYMENT, amount=plan.price_amount,
                               currency=plan.price_currency)
    db.add(purchase)
    db.flush()
    return purchase


def get_purchase(db: Session, expert: Expert, purchase_id: str) -> PackagePurchase:
    purchase = db.scalar(select(PackagePurchase).where(PackagePurchase.id == purchase_id,
                                                       PackagePurchase.expert_id == expert.id))
    if purchase is None:
        raise NotFound("No such purchase.")
    return purchase


def _require_pending(purchase: PackagePurchase) -> None:
    if purchase.status == PurchaseStatus.PAID:
        raise NotAllowed("already_paid", "This package is already paid.")
    if purchase.status != PurchaseStatus.PENDING_PAYMENT:
        raise NotAllowed("not_payable", "This purchase is not waiting for a payment.")


def start_payment(db: Session, purchase: PackagePurchase) -> dict[str, Any]:
    """After the purchase committed: a SetupIntent for Stripe.js to take a new card."""
    _require_pending(purchase)
    purchase_id = purchase.id
    customer = online.ensure_customer(db, purchase.client)
    intent = gateway().create_purchase_setup_intent(customer=customer, purchase_id=purchase_id,
                                                    idempotency_key=f"kairos-setup-{purchase_id}-{customer}")
    if intent["status"] in ("succeeded", "canceled"):  # used up by a declined card: a fresh one
        intent = gateway().create_purchase_setup_intent(customer=customer, purchase_id=purchase_id,
                                                        idempotency_key=f"kairos-setup-{purchase_id}-{intent['id']}")
    return {"next_action": "confirm_card_setup", "client_secret": intent["client_secret"],
            "setup_intent": intent["id"], **(stripe_js_config() or {})}


def confirm(db: Session, purchase: PackagePurchase, setup_intent_id: str, now: datetime) -> dict[str, Any]:
    """Charge the card the client just set up with Stripe.js; returns extra payment fields."""
    if purchase.status == PurchaseStatus.PAID:
        return {}
    _require_pending(purchase)
    setup = gateway().retrieve_setup_intent(setup_intent_id)
    if (setup.get("metadata") or {}).get("kairos_purchase") != purchase.id:
        raise ValidationError(fields={"setup_intent": ["This card setup belongs to another purchase."]})
    if setup.get("status") != "succeeded":
        error = setup.get("last_setup_error") or {}
        raise PaymentFailed(error.get("message") or "The card was not set up. Please enter it again.")
    method = setup.get("payment_method")
    method = method.get("id") if isinstance(method, dict) else method
    if purchase.client.stripe_customer_id:
        cards.keep_card(str(method), purchase.client.stripe_customer_id)
    return pay_with_card(db, purchase, str(method), now, key=setup_intent_id)


def pay_with_card(db: Session, purchase: PackagePurchase, payment_method: str, now: datetime, *,
                  key: str) -> dict[str, Any]:
    """Charge ``payment_method`` (a card of the client's Stripe customer) for the purchase."""
    _require_pending(purchase)
    customer = purchase.client.stripe_customer_id
    if not customer:
        raise ValidationError(fields={"card": ["You have no saved card yet."]})
    purchase_id, amount, currency = purchase.id, purchase.amount, purchase.currency
    description = f"{purchase.plan.name} ({purchase.plan.sessions} sessions)"
    end_unit(db)  # no transaction stays open across a network call
    try:
        intent = gateway().create_purchase_payment_intent(
            amount=amount, currency=currency, customer=customer, payment_method=payment_method,
            purchase_id=purchase_id, description=description, idempotency_key=f"kairos-buy-{purchase_id}-{key}")
    except CardDeclined as declined:
        raise PaymentFailed(declined.message, decline_code=declined.decline_code or declined.code) from declined
    db.execute(update(PackagePurchase).where(PackagePurchase.id == purchase_id,
                                             PackagePurchase.status == PurchaseStatus.PENDING_PAYMENT)
               .values(provider_payment_id=intent["id"]))
    end_unit(db)
    return sync_intent(db, intent, now)


def sync_intent(db: Session, intent: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Apply what Stripe says about a purchase's PaymentIntent (webhook, status check or the charge
    itself); returns what the widget still has to do (3-D Secure), if anything."""
    purchase_id = (intent.get("metadata") or {}).get("kairos_purchase")
    if intent.get("status") == "succeeded" and purchase_id:
        settle(db, purchase_id, intent["id"], now)
        return {}
    return online.intent_fields(intent)


def refresh(db: Session, purchase: PackagePurchase, now: datetime) -> dict[str, Any]:
    """The widget's status check: ask Stripe about the purchase's payment, apply the answer."""
    if purchase.status != PurchaseStatus.PENDING_PAYMENT or not purchase.provider_payment_id:
        return {}
    intent_id = purchase.provider_payment_id
    end_unit(db)
    extra = sync_intent(db, gateway().retrieve_payment_intent(intent_id), now)
    db.refresh(purchase)
    return extra


def settle(db: Session, purchase_id: str, intent_id: str, now: datetime) -> bool:
    """Mark the purchase paid and give its credits, once; False when it already was (or is not ours)."""
    purchase = db.get(PackagePurchase, purchase_id)
    if purchase is None:
        return False
    lock_expert(db, purchase.expert_id)
    paid = cast(CursorResult[Any], db.execute(
        update(PackagePurchase).where(PackagePurchase.id == purchase_id,
                                      PackagePurchase.status == PurchaseStatus.PENDING_PAYMENT)
        .values(status=PurchaseStatus.PAID, paid_at=now, provider_payment_id=intent_id)
        .execution_options(synchronize_session=False))).rowcount
    if paid != 1:
        db.rollback()
        return False
    db.refresh(purchase)
    plan = purchase.plan
    expires_at = now + timedelta(days=plan.expires_after_days) if plan.expires_after_days else None
    package = ClientPackage(expert_id=purchase.expert_id, client_id=purchase.client_id, name=plan.name,
                            service_ids=list(plan.service_ids or []), credits_total=plan.sessions, credits_used=0,
                            expires_at=expires_at)
    db.add(package)
    db.flush()
    purchase.client_package_id = package.id
    _receipt(db, purchase, package)
    end_unit(db)
    return True


def _receipt(db: Session, purchase: PackagePurchase, package: ClientPackage) -> None:
    expert, client, plan = db.get(Expert, purchase.expert_id), purchase.client, purchase.plan
    assert expert is not None
    names = list(db.scalars(select(Service.name).where(Service.id.in_(plan.service_ids or [-1]))))
    enqueue(db, "email", "package_purchased", {
        "to": client.email, "name": client.name, "plan": plan.name, "sessions": plan.sessions,
        "services": names, "price": f"{purchase.amount / 100:.2f} {purchase.currency.upper()}",
        "expires": package.expires_at.date().isoformat() if package.expires_at else None,
        "expert": expert.name, "expert_slug": expert.slug, "locale": expert.locale or "en", "purchase": purchase.id,
    }, expert_id=expert.id)


def refund_unused(db: Session, expert: Expert, purchase: PackagePurchase) -> PackagePurchase:
    """Refund a paid package none of whose credits were spent: its credits go, the money goes back."""
    purchase_id = purchase.id
    lock_expert(db, expert.id)
    db.refresh(purchase)
    package = db.get(ClientPackage, purchase.client_package_id) if purchase.client_package_id else None
    if purchase.status != PurchaseStatus.PAID or package is None or not purchase.provider_payment_id:
        raise NotAllowed("not_refundable", "Only a paid package can be refunded.")
    if package.credits_used > 0:
        raise NotAllowed("package_used", "Some credits of this package were used: it cannot be refunded whole.")
    total, intent_id, amount = package.credits_total, purchase.provider_payment_id, purchase.amount
    package.credits_total = 0  # no credit can be spent while the refund is on its way
    purchase.status = PurchaseStatus.REFUNDED
    end_unit(db)
    try:
        gateway().refund(payment_intent=intent_id, amount=amount, payment_id=purchase_id, key_suffix="unused",
                         reason="Unused package refunded by the expert.")
    except (ProviderUnavailable, CardDeclined):
        db.execute(update(ClientPackage).where(ClientPackage.id == package.id).values(credits_total=total))
        db.execute(update(PackagePurchase).where(PackagePurchase.id == purchase_id)
                   .values(status=PurchaseStatus.PAID))
        end_unit(db)
        raise ProviderUnavailable() from None
    db.refresh(purchase)
    return purchase


def purchase_view(db: Session, purchase: PackagePurchase, plan_view: dict[str, Any],
                  extra: dict[str, Any] | None = None, pay_url: str | None = None) -> dict[str, Any]:
    """``{"purchase": …}`` (API.md): status, the plan, the client, the package once paid, the payment."""
    package = db.get(ClientPackage, purchase.client_package_id) if purchase.client_package_id else None
    status = {"paid": "paid", "refunded": "refunded"}.get(purchase.status, "requires_payment")
    payment = {"status": (extra or {}).get("status", status), "amount": purchase.amount,
               "currency": purchase.currency, **{k: v for k, v in (extra or {}).items() if k != "status"}}
    if pay_url and purchase.status == PurchaseStatus.PENDING_PAYMENT:
        payment["pay_url"] = pay_url
    return {"id": purchase.id, "status": purchase.status, "plan": plan_view,
            "client": {"name": purchase.client.name, "email": purchase.client.email},
            "package": packages.package_view(db, package) if package else None, "payment": payment}
