"""The one module that talks to Stripe (the official ``stripe`` SDK).

Everything else in Kairos sees plain dicts and three exceptions: ``CardDeclined`` (the
card or its authentication failed: show Stripe's message), ``ProviderUnavailable`` (Stripe
could not be reached or refused the call: try again later) and ``SignatureInvalid``.
Every call that creates or changes something carries an idempotency key built from our
own ids, so a retried request never charges, refunds or creates twice (real Stripe keeps
keys for 24 hours; localstripe ignores them, which our own state tolerates).

Configured per app from Settings (``stripe_secret_key``, ``stripe_api_base``) through a
``StripeClient``: no global ``stripe.api_key``, so two apps in one process never mix.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import stripe
from flask import current_app

from backend.errors import DomainError

log = logging.getLogger("kairos.payments")

#: Seconds a webhook's signature timestamp may be old (Stripe's own default).
WEBHOOK_TOLERANCE = 300


class CardDeclined(Exception):
    """Stripe refused the card (decline, failed authentication): ``message`` is Stripe's text for the client."""

    def __init__(self, message: str, *, code: str | None = None, decline_code: str | None = None,
                 payment_intent: dict[str, Any] | None = None, charge: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.decline_code = decline_code
        self.payment_intent = payment_intent
        self.charge = charge


class ProviderUnavailable(DomainError):
    """Stripe could not be reached or answered with an error that is not the client's card."""

    code, status = "payment_unavailable", 503
    message = "The payment service is not reachable right now. Please try again in a moment."


class MissingCustomer(Exception):
    """The Stripe customer we stored no longer exists (deleted, or another Stripe account)."""


class SignatureInvalid(DomainError):
    code, status, message = "invalid_signature", 400, "The webhook signature is missing or not valid."


class NotConfigured(DomainError):
    code, status, message = "payments_not_configured", 503, "Online payment is not set up on this server."


@dataclass
class StripeGateway:
    """Stripe calls Kairos makes, each returning the object as a plain dict."""

    secret_key: str
    webhook_secret: str | None
    api_base: str | None = None
    timeout: float = 20.0

    def __post_init__(self) -> None:
        # The literal sits in the call so it is checked against stripe's BaseAddresses TypedDict
        # (a private name); bound to a variable first it would be a plain dict[str, str].
        self._client = stripe.StripeClient(
            self.secret_key,
            base_addresses={"api": self.api_base.rstrip("/")} if self.api_base else None,
            max_network_retries=2, http_client=stripe.RequestsClient(timeout=self.timeout))

    # --- helpers -----------------------------------------------------------

    @staticmethod
    def _plain(obj: Any) -> dict[str, Any]:
        return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)

    def _call(self, what: str, fn, *args, **kwargs) -> dict[str, Any]:
        try:
            return self._plain(fn(*args, **kwargs))
        except stripe.CardError as error:
            body = (error.json_body or {}).get("error", {}) if isinstance(error.json_body, dict) else {}
            intent = body.get("payment_intent")
            raise CardDeclined(error.user_message or "Your card was declined.", code=error.code,
                               decline_code=body.get("decline_code"),
                               payment_intent=intent if isinstance(intent, dict) else None,
                               charge=body.get("charge") if isinstance(body.get("charge"), str) else None) from error
        except stripe.InvalidRequestError as error:
            if error.code == "resource_missing" and getattr(error, "param", None) == "customer":
                raise MissingCustomer(str(error)) from error
            log.warning("stripe %s refused: %s", what, error)
            raise ProviderUnavailable() from error
        except stripe.StripeError as error:
            log.warning("stripe %s failed: %s", what, error)
            raise ProviderUnavailable() from error

    # --- customers ---------------------------------------------------------

    def create_customer(self, *, email: str, name: str, client_id: int, expert_id: int,
                        generation: int = 0) -> dict[str, Any]:
        """``generation`` > 0 when the customer stored before was lost (deleted in Stripe)."""
        return self._call("customer", self._client.v1.customers.create, params={
            "email": email, "name": name,
            "metadata": {"kairos_client": str(client_id), "kairos_expert": str(expert_id)},
        }, options={"idempotency_key": f"kairos-customer-{client_id}-{generation}"})

    # --- setup intents (collect the card in the browser) -------------------

    def create_setup_intent(self, *, customer: str, booking_id: str, idempotency_key: str) -> dict[str, Any]:
        return self._call("setup_intent", self._client.v1.setup_intents.create, params={
            "customer": customer, "usage": "on_session", "payment_method_types": ["card"],
            "metadata": {"kairos_booking": booking_id},
        }, options={"idempotency_key": idempotency_key})

    def retrieve_setup_intent(self, setup_intent_id: str) -> dict[str, Any]:
        return self._call("setup_intent", self._client.v1.setup_intents.retrieve, setup_intent_id)

    # --- payment intents ---------------------------------------------------

    def create_payment_intent(self, *, amount: int, currency: str, customer: str, payment_method: str,
                              booking_id: str, description: str, idempotency_key: str) -> dict[str, Any]:
        """Create and confirm at once, on session: succeeded, requires_action (3-D Secure) or processing.

        A declined card raises CardDeclined. (Only this form works on localstripe too:
        it does not implement ``PaymentIntent.confirm`` with a payment method.)
        """
        return self._call("payment_intent", self._client.v1.payment_intents.create, params={
            "amount": amount, "currency": currency, "customer": customer, "payment_method": payment_method,
            "payment_method_types": ["card"], "confirm": True, "off_session": False,
            "metadata": {"kairos_booking": booking_id, "kairos_description": description[:200]},
        }, options={"idempotency_key": idempotency_key})

    def retrieve_payment_intent(self, payment_intent_id: str) -> dict[str, Any]:
        return self._call("payment_intent", self._client.v1.payment_intents.retrieve, payment_intent_id)

    def retrieve_charge(self, charge_id: str) -> dict[str, Any]:
        return self._call("charge", self._client.v1.charges.retrieve, charge_id)

    def cancel_payment_intent(self, payment_intent_id: str) -> dict[str, Any]:
        return self._call("payment_intent", self._client.v1.payment_intents.cancel, payment_intent_id,
                          options={"idempotency_key": f"kairos-cancel-{payment_intent_id}"})

    # --- existing clients (issue 15): saved cards, package purchases -----------

    def list_cards(self, customer: str) -> list[dict[str, Any]]:
        """The cards saved on a customer (attached by an earlier SetupIntent)."""
        found = self._call("payment_methods", self._client.v1.payment_methods.list,
                           params={"customer": customer, "type": "card", "limit": 10})
        return list(found.get("data") or [])

    def save_card(self, *, payment_method: str, customer: str) -> dict[str, Any]:
        """Keep a card on the customer for next time. Stripe attaches a SetupIntent's card itself (this is
        then a no-op); localstripe does not, so we say it explicitly."""
        return self._call("payment_method", self._client.v1.payment_methods.attach, payment_method,
                          params={"customer": customer})

    def create_purchase_setup_intent(self, *, customer: str, purchase_id: str, idempotency_key: str) -> dict[str, Any]:
        return self._call("setup_intent", self._client.v1.setup_intents.create, params={
            "customer": customer, "usage": "on_session", "payment_method_types": ["card"],
            "metadata": {"kairos_purchase": purchase_id},
        }, options={"idempotency_key": idempotency_key})

    def create_purchase_payment_intent(self, *, amount: int, currency: str, customer: str, payment_method: str,
                                       purchase_id: str, description: str, idempotency_key: str) -> dict[str, Any]:
        """Like ``create_payment_intent``, for a package purchase (metadata ``kairos_purchase``)."""
        return self._call("payment_intent", self._client.v1.payment_intents.create, params={
            "amount": amount, "currency": currency, "customer": customer, "payment_method": payment_method,
            "payment_method_types": ["card"], "confirm": True, "off_session": False,
            "metadata": {"kairos_purchase": purchase_id, "kairos_description": description[:200]},
        }, options={"idempotency_key": idempotency_key})

    # --- refunds -----------------------------------------------------------

    def refund(self, *, payment_intent: str, amount: int, payment_id: str, key_suffix: str,
               reason: str) -> dict[str, Any]:
        """Refund ``amount``; the key names the payment and what was already refunded, so a retry
        of the same refund never pays twice and a later one is not mistaken for it."""
        return self._call("refund", self._client.v1.refunds.create, params={
            "payment_intent": payment_intent, "amount": amount,
            "metadata": {"kairos_payment": payment_id, "kairos_reason": reason[:200]},
        }, options={"idempotency_key": f"kairos-refund-{payment_id}-{key_suffix}"})

    # --- webhooks ----------------------------------------------------------

    def verify_event(self, payload: bytes, signature: str | None) -> dict[str, Any]:
        """The event, as a dict, if ``signature`` is Stripe's for ``payload``; SignatureInvalid otherwise."""
        if not self.webhook_secret:
            raise SignatureInvalid("Stripe webhooks are not configured on this server.")
        if not signature:
            raise SignatureInvalid("The Stripe-Signature header is missing.")
        try:
            text = payload.decode("utf-8")
            stripe.WebhookSignature.verify_header(text, signature, self.webhook_secret, WEBHOOK_TOLERANCE)
            event = json.loads(text)
        except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as error:
            raise SignatureInvalid() from error
        if not isinstance(event, dict) or not isinstance(event.get("id"), str) or "type" not in event:
            raise SignatureInvalid("The webhook body is not a Stripe event.")
        return event


def enabled() -> bool:
    """True when this server can take online payments."""
    return bool(current_app.config["KAIROS"].stripe_secret_key)


def gateway() -> StripeGateway:
    """The gateway of the current app (built once per app)."""
    existing = current_app.extensions.get("kairos_stripe")
    if existing is not None:
        return existing
    settings = current_app.config["KAIROS"]
    if not settings.stripe_secret_key:
        raise NotConfigured()
    made = StripeGateway(settings.stripe_secret_key, settings.stripe_webhook_secret, settings.stripe_api_base)
    current_app.extensions["kairos_stripe"] = made
    return made


def webhook_gateway() -> StripeGateway:
    """The gateway for verifying webhooks; refuses (400) when Stripe is not configured at all."""
    if not current_app.config["KAIROS"].stripe_secret_key:
        raise SignatureInvalid("Stripe webhooks are not configured on this server.")
    return gateway()


def stripe_js_config() -> dict[str, str] | None:
    """What Stripe.js needs in the browser: the publishable key and the script URL."""
    settings = current_app.config["KAIROS"]
    if not settings.stripe_publishable_key:
        return None
    return {"publishable_key": settings.stripe_publishable_key, "js_url": settings.stripe_js_url}
