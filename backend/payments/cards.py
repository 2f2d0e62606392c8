"""A signed-in client's saved cards: the card payment methods of their Stripe customer."""
from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from backend.errors import ValidationError
from backend.models import Client
from backend.payments.stripe_gateway import CardDeclined, ProviderUnavailable, enabled, gateway
from backend.transactions import end_unit

log = logging.getLogger("kairos.payments")


def card_view(method: dict[str, Any]) -> dict[str, Any]:
    card = method.get("card") or {}
    return {"id": method["id"], "brand": str(card.get("brand") or "card"), "last4": str(card.get("last4") or ""),
            "exp_month": int(card.get("exp_month") or 0), "exp_year": int(card.get("exp_year") or 0)}


def saved_cards(db: Session, client: Client) -> list[dict[str, Any]]:
    """The client's saved cards; none when payments are off, the client never paid, or Stripe is away."""
    if not enabled() or not client.stripe_customer_id:
        return []
    customer = client.stripe_customer_id
    end_unit(db)  # no transaction stays open across a network call
    try:
        return [card_view(m) for m in gateway().list_cards(customer)]
    except ProviderUnavailable:
        return []


def require_saved_card(db: Session, client: Client, card_id: str) -> str:
    """``card_id`` if it is one of the client's saved cards, else a 422 on ``card``."""
    if not any(card["id"] == card_id for card in saved_cards(db, client)):
        raise ValidationError(fields={"card": ["This card is not saved on your account. Choose another."]})
    return card_id


def keep_card(payment_method: str, customer: str) -> None:
    """Save the card a client just set up on their Stripe customer (best effort: paying goes on without it)."""
    try:
        gateway().save_card(payment_method=payment_method, customer=customer)
    except (ProviderUnavailable, CardDeclined):
        log.warning("could not keep card %s on %s", payment_method, customer)
