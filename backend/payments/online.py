"""Card payments through Stripe, from the hold to the confirmation, exactly once.

The flow (it works on real Stripe and on localstripe, whose fake Stripe.js can only confirm
a SetupIntent and authenticate a PaymentIntent already in ``requires_action``):

1. The booking is created ``pending_payment`` with a hold. After that transaction commits
   (never under the expert's lock) the client's Stripe Customer is found or created
   (``Client.stripe_customer_id``, one per client and so per email) and a SetupIntent is made;
   its client secret goes to the widget.
2. The widget confirms the card in the browser (``stripe.confirmCardSetup``) and sends us the
   SetupIntent id. We check it with Stripe, then create and confirm a PaymentIntent for the
   booking's snapshotted amount with that card, on session. One ``Payment`` row per intent.
3. ``succeeded``: the booking is confirmed. ``requires_action`` (3-D Secure): the widget runs
   ``stripe.confirmCardPayment(client_secret)`` and asks us for the status. A decline is a 402
   with Stripe's message; the hold stays and the client may try another card.
4. The booking is confirmed by whichever comes first, the signed ``payment_intent.succeeded``
   webhook or the widget's status check (which asks Stripe), under the expert's lock; the
   booking's history says which payment was applied, so a repeat does nothing. A payment that
   lands after the hold expired and the time was taken is refunded and the booking cancelled.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session

from backend import notifications
from backend.errors import NotAllowed, PaymentFailed, SlotUnavailable, ValidationError
from backend.models import Booking, BookingEvent, Client, Payment, public_id
from backend.payments import cards, ledger, options, refunds
from backend.payments.stripe_gateway import (
    CardDeclined,
    MissingCustomer,
    ProviderUnavailable,
    gateway,
    stripe_js_config,
)
from backend.services import slots
from backend.services.leads import mark_lead_booked
from backend.timeutil import iso_in, iso_utc
from backend.transactions import end_unit

log = logging.getLogger("kairos.payments")

#: Set on a booking cancelled because its payment came after the hold expired and the time was taken.
LATE_REASON = ("The payment arrived after the time was released and someone else booked it. "
               "The payment has been refunded in full.")


# --- step 1: customer and card setup ------------------------------------------------------------

def ensure_customer(db: Session, client: Client, *, generation: int = 0) -> str:
    """The client's Stripe customer id, created once per client (so once per email and expert)."""
    if client.stripe_customer_id:
        return client.stripe_customer_id
    client_id, email, name, expert_id = client.id, client.email, client.name, client.expert_id
    end_unit(db)  # no transaction stays open across a network call
    customer = gateway().create_customer(email=email, name=name, client_id=client_id, expert_id=expert_id,
                                         generation=generation)
    # Two requests may race to create it: the first id stored wins, the other is left unused.
    db.execute(update(Client).where(Client.id == client_id, Client.stripe_customer_id.is_(None))
               .values(stripe_customer_id=customer["id"]))
    end_unit(db)
    return db.scalar(select(Client.stripe_customer_id).where(Client.id == client_id))


def _forget_customer(db: Session, client: Client) -> None:
    db.execute(update(Client).where(Client.id == client.id).values(stripe_customer_id=None))
    end_unit(db)
    db.refresh(client)


def start_card_setup(db: Session, booking: Booking) -> dict[str, Any]:
    """A SetupIntent the widget confirms with the card; returns the fields the widget needs."""
    _require_payable(booking)
    booking_id = booking.id
    attempts = len(ledger.payments_of(db, booking_id))
    for retry in (False, True):
        customer = ensure_customer(db, booking.client, generation=int(retry))
        key = f"kairos-setup-{booking_id}-{attempts}-{customer}"
        try:
            intent = gateway().create_setup_intent(customer=customer, booking_id=booking_id, idempotency_key=key)
            break
        except MissingCustomer:
            if retry:
                raise ProviderUnavailable() from None
            _forget_customer(db, booking.client)  # deleted in Stripe, or another Stripe account
    if intent["status"] in ("succeeded", "canceled"):
        # The one this key names was used up (a card set up but declined when charged): a fresh one.
        intent = gateway().create_setup_intent(customer=customer, booking_id=booking_id,
                                               idempotency_key=f"{key}-{intent['id']}")
    return {"next_action": "confirm_card_setup", "client_secret": intent["client_secret"],
            "setup_intent": intent["id"], **(stripe_js_config() or {})}


def balance_open(booking: Booking) -> bool:
    """A deposit booking, confirmed on its deposit, with the rest still to pay (by card, later)."""
    db = object_session(booking)
    return (booking.payment_option == "online" and booking.status == "confirmed" and bool(booking.deposit_amount)
            and db is not None and ledger.balance_due(db, booking) > 0)


def _require_payable(booking: Booking) -> None:
    if booking.payment_option != "online":
        raise NotAllowed("not_online", "This booking is not paid online.")
    if booking.status == "cancelled":
        raise NotAllowed("cancelled", "This booking was cancelled.")
    if balance_open(booking):
        return  # the rest of a deposit booking, paid by card through the manage link
    if booking.status == "confirmed":
        raise NotAllowed("already_paid", "This booking is already confirmed.")
    if booking.status != "pending_payment":
        raise NotAllowed("not_payable", "This booking is not waiting for a payment.")


# --- step 2: pay with the card the client set up ------------------------------------------------

def renew_hold_if_expired(db: Session, booking: Booking, now: datetime) -> Booking:
    """Before charging: an expired hold is renewed if the time is still free, else 409 (no charge)."""
    if booking.hold_expires_at is not None and booking.hold_expires_at > now:
        return booking
    if slots.reserved_by_expert(booking, now):
        return booking  # the expert reserved the time for this client: no hold to renew
    booking = ledger.lock_booking(db, booking.id)
    if booking.status != "pending_payment":
        end_unit(db)
        _require_payable(booking)
    if booking.hold_expires_at is None or booking.hold_expires_at <= now:
        if not ledger.time_still_free(db, booking, now):
            db.rollback()
            raise SlotUnavailable("Your hold on this time expired and someone else booked it. "
                                  "Nothing was charged: please pick another time.")
        booking.hold_expires_at = now + timedelta(minutes=booking.service.hold_minutes or 15)
        db.add(BookingEvent(booking_id=booking.id, type="hold_renewed", actor="client",
                            data={"until": iso_utc(booking.hold_expires_at)}))
    end_unit(db)
    return booking


def pay_with_setup_intent(db: Session, booking: Booking, setup_intent_id: str, now: datetime) -> dict[str, Any]:
    """Charge the booking's amount to the card of ``setup_intent_id``; returns extra payment fields.

    Raises PaymentFailed (402, Stripe's message) when the card is declined: the hold stays.
    """
    balance = balance_open(booking)
    if booking.payment_option == "online" and booking.status == "confirmed" and not balance:
        return {}  # a repeated request after success: nothing to do
    _require_payable(booking)
    if not balance:  # a confirmed booking paying its rest holds nothing
        booking = renew_hold_if_expired(db, booking, now)
    setup = gateway().retrieve_setup_intent(setup_intent_id)
    if (setup.get("metadata") or {}).get("kairos_booking") != booking.id:
        raise ValidationError(fields={"setup_intent": ["This card setup belongs to another booking."]})
    if setup.get("status") != "succeeded":
        error = setup.get("last_setup_error") or {}
        raise PaymentFailed(error.get("message") or "The card was not set up. Please enter it again.",
                            hold_expires_at=_hold_text(booking))
    method = setup.get("payment_method")
    method = method.get("id") if isinstance(method, dict) else method
    customer = setup.get("customer") or booking.client.stripe_customer_id
    customer = customer.get("id") if isinstance(customer, dict) else customer
    if not isinstance(method, str) or not isinstance(customer, str):
        # Never for a succeeded setup of ours: it is created with the customer and ends with the card.
        raise PaymentFailed("The card was not set up. Please enter it again.", hold_expires_at=_hold_text(booking))
    amount = ledger.balance_due(db, booking) if balance else options.charge_now(booking)
    booking_id, currency = booking.id, _price(booking)[1]
    description = f"{booking.session_name}, {iso_in(booking.start, booking.expert.timezone)}"
    hold = _hold_text(booking)
    end_unit(db)
    if method and customer:
        cards.keep_card(method, customer)  # a signed-in client pays with it next time
    try:
        intent = gateway().create_payment_intent(
            amount=amount, currency=currency, customer=customer, payment_method=method, booking_id=booking_id,
            description=description, idempotency_key=f"kairos-pay-{booking_id}-{setup_intent_id}")
    except CardDeclined as declined:
        _record_decline(db, booking_id, amount, currency, declined)
        raise PaymentFailed(declined.message, decline_code=declined.decline_code or declined.code,
                            hold_expires_at=hold) from declined
    payment = record_intent(db, booking_id, intent)
    if payment is not None and payment.status == "succeeded":
        settle(db, payment.id, now)
    return intent_fields(intent)


def _price(booking: Booking) -> tuple[int, str]:
    """The booking's price and currency, which a booking paid online always has (a service or a one-off
    offers "online" only with a price)."""
    if booking.price_amount is None or booking.price_currency is None:
        raise NotAllowed("not_payable", "This booking is not waiting for a payment.")
    return booking.price_amount, booking.price_currency


def _hold_text(booking: Booking) -> str | None:
    """The hold's end in the client's zone; None when the expert reserved the time (no hold)."""
    return iso_in(booking.hold_expires_at, booking.timezone) if booking.hold_expires_at else None


def pay_with_saved_card(db: Session, booking: Booking, payment_method: str, now: datetime) -> dict[str, Any]:
    """Charge what a new booking asks now (its deposit, else its price) to a card saved on the client's
    Stripe customer (one click).

    The caller checked that ``payment_method`` is one of that customer's cards. Raises PaymentFailed
    (402) when declined: the hold stays and the client may enter another card.
    """
    _require_payable(booking)
    booking = renew_hold_if_expired(db, booking, now)
    customer = booking.client.stripe_customer_id
    if not customer:
        raise ValidationError(fields={"card": ["You have no saved card yet."]})
    # What a card entered in the widget pays too: the deposit of a deposit service, not its whole price.
    booking_id, amount, currency = booking.id, options.charge_now(booking), _price(booking)[1]
    description = f"{booking.session_name}, {iso_in(booking.start, booking.expert.timezone)}"
    hold = _hold_text(booking)
    attempts = len(ledger.payments_of(db, booking_id))
    end_unit(db)
    try:
        intent = gateway().create_payment_intent(
            amount=amount, currency=currency, customer=customer, payment_method=payment_method,
            booking_id=booking_id, description=description,
            idempotency_key=f"kairos-pay-{booking_id}-{payment_method}-{attempts}")
    except CardDeclined as declined:
        _record_decline(db, booking_id, amount, currency, declined)
        raise PaymentFailed(declined.message, decline_code=declined.decline_code or declined.code,
                            hold_expires_at=hold) from declined
    payment = record_intent(db, booking_id, intent)
    if payment is not None and payment.status == "succeeded":
        settle(db, payment.id, now)
    return intent_fields(intent)




def intent_fields(intent: dict[str, Any]) -> dict[str, Any]:
    """What the widget needs to finish an intent in the browser (3-D Secure), if anything."""
    if intent.get("status") == "requires_action":
        return {"status": "requires_action", "next_action": "confirm_card_payment",
                "client_secret": intent["client_secret"], "payment_intent": intent["id"],
                **(stripe_js_config() or {})}
    if intent.get("status") in ("processing", "requires_capture"):
        return {"status": "processing"}
    return {}


def _record_decline(db: Session, booking_id: str, amount: int, currency: str, declined: CardDeclined) -> None:
    """A declined attempt is kept: the history shows it, and the next card gets a fresh setup."""
    intent = declined.payment_intent
    if not intent and declined.charge:  # some answers name only the charge: find its intent
        try:
            charge = gateway().retrieve_charge(declined.charge)
            intent_id = charge.get("payment_intent")
            intent = gateway().retrieve_payment_intent(intent_id) if isinstance(intent_id, str) else None
        except (ProviderUnavailable, CardDeclined):
            intent = None
    if intent and intent.get("id"):
        payment = record_intent(db, booking_id, intent, error=declined.message)
    else:
        payment = Payment(id=public_id("pay"), booking_id=booking_id, provider="stripe", amount=amount,
                          currency=currency, status="failed", last_error=declined.message)
        db.add(payment)
    db.add(BookingEvent(booking_id=booking_id, type="payment_failed", actor="client", message=declined.message,
                        data={"payment": payment.id if payment else None, "code": declined.decline_code or declined.code}))
    end_unit(db)


# --- recording what Stripe says -----------------------------------------------------------------

def record_intent(db: Session, booking_id: str | None, intent: dict[str, Any], *,
                  error: str | None = None) -> Payment | None:
    """The Payment row of ``intent`` (created on first sight), moved forward to Stripe's status.

    ``booking_id`` may be None when the intent comes from a webhook: then the row, or our
    metadata on the intent, says which booking it pays. Returns None for intents not ours.
    """
    payment = db.scalar(select(Payment).where(Payment.provider_payment_id == intent["id"]))
    status = ledger.INTENT_STATUS.get(intent.get("status", ""), "requires_payment")
    failure = error or ((intent.get("last_payment_error") or {}).get("message") if status == "failed" else None)
    if payment is None:
        if booking_id is None and status in ("failed", "cancelled"):
            return None  # an attempt we never saw fail or stop: nothing to record (the widget saw it)
        booking_id = booking_id or (intent.get("metadata") or {}).get("kairos_booking")
        if not booking_id or db.get(Booking, booking_id) is None:
            return None
        payment = Payment(id=public_id("pay"), booking_id=booking_id, provider="stripe",
                          provider_payment_id=intent["id"], amount=int(intent["amount"]),
                          currency=str(intent["currency"]).lower(), status=status, last_error=failure)
        db.add(payment)
        try:
            end_unit(db)
            return payment
        except IntegrityError:  # the webhook and the widget saw it at the same moment
            db.rollback()
            payment = db.scalar(select(Payment).where(Payment.provider_payment_id == intent["id"]))
            if payment is None:  # the conflict was not on this intent's row: not a race we can settle
                raise
    if ledger.advance(payment, status) and failure and status == "failed":
        payment.last_error = failure
    end_unit(db)
    return payment


def sync_intent(db: Session, intent: dict[str, Any], now: datetime) -> Payment | None:
    """Apply what Stripe says about ``intent`` (from a signed event or a retrieve)."""
    payment = record_intent(db, None, intent)
    if payment is None:
        return None
    if payment.status == "succeeded":
        settle(db, payment.id, now)
    return payment


def refresh_booking(db: Session, booking: Booking, now: datetime) -> dict[str, Any]:
    """The widget's status check: ask Stripe about every intent still in flight, apply the answers.

    Returns extra payment fields (the client secret while 3-D Secure is pending).
    """
    extra: dict[str, Any] = {}
    if booking.payment_option != "online":
        return extra
    open_ids = [p.provider_payment_id for p in ledger.payments_of(db, booking.id)
                if p.provider == "stripe" and p.provider_payment_id and p.status in ("requires_payment", "processing")]
    for intent_id in open_ids:
        intent = gateway().retrieve_payment_intent(intent_id)
        sync_intent(db, intent, now)
        extra = intent_fields(intent) or extra
    if refunds.pending(db, booking.id):
        refunds.perform_pending(db, booking.id)
    db.refresh(booking)
    if booking.status != "pending_payment":
        return {}
    return extra


# --- confirming exactly once --------------------------------------------------------------------

def settle(db: Session, payment_id: str, now: datetime) -> str:
    """Apply a succeeded payment to its booking, once; refund it if the booking can't take it.

    Returns what happened: confirmed | applied | already | duplicate | late | cancelled | none.
    """
    payment = db.get(Payment, payment_id)
    if payment is None:
        return "none"
    booking = ledger.lock_booking(db, payment.booking_id)
    db.refresh(payment)
    if payment.status != "succeeded":
        end_unit(db)
        return "none"
    applied = ledger.applied_payment_ids(db, booking.id)
    requested = {e.data.get("payment") for e in ledger.events(db, booking.id, "refund_requested")}
    outcome: str
    if payment.id in applied or payment.id in requested:
        outcome = "already"
    elif booking.status == "confirmed" and applied and _pays_the_rest(db, booking, payment):
        _mark_paid(db, booking, payment)  # the rest of a deposit booking, paid by card later
        outcome = "balance"
    elif booking.status == "confirmed" and applied:
        refunds.request_refund(db, booking, payment, actor="system",
                               reason="This booking was already paid: the second payment is refunded.")
        outcome = "duplicate"
    elif booking.status == "confirmed":
        _mark_paid(db, booking, payment)  # the expert confirmed it before the money came
        outcome = "applied"
    elif booking.status in ("pending_payment", "pending"):
        hold_ok = booking.hold_expires_at is not None and booking.hold_expires_at > now
        if booking.status == "pending" or hold_ok or ledger.time_still_free(db, booking, now):
            booking.status = "confirmed"
            booking.hold_expires_at = None
            _mark_paid(db, booking, payment)
            mark_lead_booked(db, booking)
            notifications.booking_event(db, booking, "confirmed", actor="system")
            outcome = "confirmed"
        else:
            booking.status = "cancelled"
            booking.cancel_reason = LATE_REASON
            booking.hold_expires_at = None
            booking.ics_sequence += 1
            db.add(BookingEvent(booking_id=booking.id, type="cancelled", actor="system", message=LATE_REASON,
                                data={"reason": "late_payment", "payment": payment.id}))
            refunds.request_refund(db, booking, payment, actor="system", reason=LATE_REASON)
            notifications.booking_event(db, booking, "cancelled", actor="system", message=LATE_REASON)
            outcome = "late"
    else:  # cancelled before the money came: give it back
        refunds.request_refund(db, booking, payment, actor="system",
                               reason="The booking was cancelled before the payment arrived.")
        outcome = "cancelled"
    end_unit(db)
    if outcome in ("duplicate", "late", "cancelled", "already"):
        refunds.perform_pending(db, booking.id)  # also retries one that Stripe refused earlier
    return outcome


def _pays_the_rest(db: Session, booking: Booking, payment: Payment) -> bool:
    """Whether ``payment`` fits in what a deposit booking still owed before it (else it is a duplicate)."""
    if not booking.deposit_amount:
        return False
    kept_before = ledger.paid_total([p for p in ledger.payments_of(db, booking.id) if p.id != payment.id])
    return (booking.price_amount or 0) - kept_before >= payment.amount


def _mark_paid(db: Session, booking: Booking, payment: Payment) -> None:
    db.add(BookingEvent(booking_id=booking.id, type="paid", actor="system",
                        data={"payment": payment.id, "amount": payment.amount, "currency": payment.currency,
                              "provider": payment.provider, "status": booking.status}))
    notifications.booking_event(db, booking, "payment_succeeded", actor="system")


def cancel_open_intents(db: Session, booking_id: str) -> None:
    """After a cancellation: stop intents still waiting for 3-D Secure (best effort; a late
    success is refunded by ``settle`` anyway)."""
    open_ids = [p.provider_payment_id for p in ledger.payments_of(db, booking_id)
                if p.provider == "stripe" and p.provider_payment_id and p.status == "requires_payment"]
    for intent_id in open_ids:
        try:
            intent = gateway().cancel_payment_intent(intent_id)
        except (ProviderUnavailable, CardDeclined):
            log.warning("could not cancel payment intent %s", intent_id)
            continue
        record_intent(db, booking_id, intent)
