"""The two emails about a calendar source's health: it started failing, it works again.

Queued through the outbox in the sync's transaction (``sync.record``), built at send time here.
Plain text in the expert's language (English or French), like the booking emails' text part.
"""
from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.links import Links
from backend.models import CalendarSource, Expert, OutboxMessage
from backend.notifications.emails import DAYS, MONTHS, mailbox, sender_address
from backend.notifications.emails import TEXT as BOOKING_TEXT
from backend.outbox import enqueue
from backend.timeutil import iso_utc, zone

TOPICS = ("calendar_failing", "calendar_recovered")

TEXT = {
    "en": {
        "subject.calendar_failing": "Kairos cannot read your calendar {name}",
        "subject.calendar_recovered": "Kairos reads your calendar {name} again",
        "body.calendar_failing": (
            "Hello {expert},\n\nKairos could not read your calendar {url}:\n\n  {error}\n\n"
            "Until it works again, the busy times from its last successful reading ({last}) keep blocking your "
            "availability, so nothing it held is offered to clients; new events in it are not seen yet.\n\n"
            "Check the address and password in your dashboard's settings. You will get one more email when it "
            "works again.\n\n— Kairos\n"),
        "body.calendar_recovered": (
            "Hello {expert},\n\nKairos reads your calendar {url} again: its busy times are up to date and block "
            "your availability as before.\n\n— Kairos\n"),
        "never": "never",
    },
    "fr": {
        "subject.calendar_failing": "Kairos ne peut plus lire votre agenda {name}",
        "subject.calendar_recovered": "Kairos lit à nouveau votre agenda {name}",
        "body.calendar_failing": (
            "Bonjour {expert},\n\nKairos n'a pas pu lire votre agenda {url} :\n\n  {error}\n\n"
            "En attendant, les créneaux occupés de sa dernière lecture réussie ({last}) restent bloqués : rien de "
            "ce qu'il contenait n'est proposé aux clients ; ses nouveaux événements ne sont pas encore vus.\n\n"
            "Vérifiez l'adresse et le mot de passe dans les réglages de votre tableau de bord. Vous recevrez un "
            "autre email quand il fonctionnera de nouveau.\n\n— Kairos\n"),
        "body.calendar_recovered": (
            "Bonjour {expert},\n\nKairos lit à nouveau votre agenda {url} : ses créneaux occupés sont à jour et "
            "bloquent vos disponibilités comme avant.\n\n— Kairos\n"),
        "never": "jamais",
    },
}


def queue(db: Session, source: CalendarSource, topic: str, *, error: str | None = None) -> OutboxMessage:
    """Queue one health email to the expert in the caller's transaction."""
    expert = db.scalars(select(Expert).where(Expert.id == source.expert_id)).one()
    payload: dict[str, Any] = {"calendar_id": source.id, "url": source.url, "to": expert.notification_email or expert.email,
                               "last_synced_at": iso_utc(source.last_synced_at) if source.last_synced_at else None}
    if error:
        payload["error"] = error
    return enqueue(db, "email", topic, payload, expert_id=source.expert_id)


def _name(url: str) -> str:
    return urlsplit(url).hostname or url


def build(db: Session, row: OutboxMessage, links: Links) -> EmailMessage:
    """The message for one queued health email (the source may be gone: the payload holds what it needs)."""
    payload = row.payload
    expert = db.get(Expert, row.expert_id)
    lang = (expert.locale or "en").split("-")[0].lower() if expert else "en"
    lang = lang if lang in TEXT and lang in BOOKING_TEXT else "en"
    t = TEXT[lang]
    last = t["never"]
    if payload.get("last_synced_at") and expert:
        at = datetime.fromisoformat(payload["last_synced_at"]).astimezone(zone(expert.timezone))
        last = f"{DAYS[lang][at.weekday()]} {at.day} {MONTHS[lang][at.month - 1]} {at.year}, {at:%H:%M}"
    name = expert.name if expert else ""
    msg = EmailMessage()
    msg["Subject"] = t[f"subject.{row.topic}"].format(name=_name(payload["url"]))
    msg["From"] = mailbox("Kairos", sender_address(links.base_url))
    msg["To"] = mailbox(name, payload["to"])
    msg["Date"] = format_datetime(datetime.now(zone("UTC")))
    msg["Message-ID"] = f"<outbox.{row.id}.{payload['calendar_id']}@{sender_address(links.base_url).split('@', 1)[1]}>"
    msg["Content-Language"] = lang
    msg.set_content(t[f"body.{row.topic}"].format(expert=name, url=payload["url"], error=payload.get("error", ""),
                                                   last=last))
    return msg
