"""Emails about a client's account rather than one booking: the sign-in code, a package receipt.

Plain text, short, in the expert's language; everything they say is in the outbox payload, so
they are built without reading a booking.
"""
from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from backend.notifications.emails import mailbox, sender_address
from backend.plain_text import one_line
from backend.types import utcnow

TOPICS = ("client_sign_in", "package_purchased")

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "subject.client_sign_in": "{code} is your sign-in code for {expert}",
        "body.client_sign_in": ("Your sign-in code is {code}\n\nEnter it where you asked for it, or open this link "
                                "to sign in on the booking page:\n{link}\n\nThe code and the link work once, "
                                "for {minutes} minutes. If you did not ask for them, ignore this email."),
        "subject.package_purchased": "Receipt: {plan} with {expert}",
        "body.package_purchased": ("Hello {name},\n\nThank you for buying {plan}: {sessions} sessions{services}.\n"
                                   "Paid: {price}.{expiry}\n\nBook your sessions here:\n{link}\n\nReceipt {purchase}"),
        "services": " of {services}",
        "expiry": "\nUse them by {expires}.",
    },
    "fr": {
        "subject.client_sign_in": "{code} est votre code de connexion pour {expert}",
        "body.client_sign_in": ("Votre code de connexion est {code}\n\nSaisissez-le là où vous l'avez demandé, ou "
                                "ouvrez ce lien pour vous connecter sur la page de réservation :\n{link}\n\n"
                                "Le code et le lien servent une fois, pendant {minutes} minutes. Si vous ne les "
                                "avez pas demandés, ignorez cet e-mail."),
        "subject.package_purchased": "Reçu : {plan} avec {expert}",
        "body.package_purchased": ("Bonjour {name},\n\nMerci pour votre achat de {plan} : {sessions} séances{services}.\n"
                                   "Payé : {price}.{expiry}\n\nRéservez vos séances ici :\n{link}\n\nReçu {purchase}"),
        "services": " de {services}",
        "expiry": "\nÀ utiliser avant le {expires}.",
    },
}


def build(topic: str, payload: dict[str, Any], *, base_url: str, message_id: str) -> EmailMessage:
    """The email of an account topic from its outbox payload."""
    lang = "fr" if str(payload.get("locale") or "").startswith("fr") else "en"
    t = TEXT[lang]
    values = dict(payload)
    if topic == "package_purchased":
        values["services"] = t["services"].format(services=", ".join(payload["services"])) if payload.get("services") else ""
        values["expiry"] = t["expiry"].format(expires=payload["expires"]) if payload.get("expires") else ""
        values["link"] = f"{base_url}/book/{payload['expert_slug']}"  # built at send time, like manage links
    message = EmailMessage()
    message["Subject"] = one_line(t[f"subject.{topic}"].format(**values))
    message["From"] = mailbox(payload.get("expert") or "Kairos", sender_address(base_url))
    message["To"] = mailbox("", payload["to"])
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = message_id
    message.set_content(t[f"body.{topic}"].format(**values))
    return message
