"""The emails Kairos sends, built at send time from an outbox payload and the booking.

Each is plain text plus HTML, in the expert's language (English or French), with
times in the reader's zone (the client's for client emails, the expert's for
theirs). The payload carries a snapshot of the time and ``SEQUENCE`` at the
event, so a late retry still describes that event; the manage link is rebuilt
here and never stored in the outbox.
"""
from __future__ import annotations

from datetime import datetime
from email.errors import MessageError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlparse

from markupsafe import Markup

from backend import places
from backend.colours import brand_color, text_on
from backend.links import Links
from backend.models import Booking, Expert, WaitlistEntry
from backend.money import money
from backend.notifications import ics
from backend.notifications.failures import Unsendable
from backend.plain_text import one_line
from backend.timeutil import zone
from backend.views.bookings import private_location
from backend.views.payments import payment_view

#: Client emails that carry a calendar file, and its METHOD.
ICS_METHODS = {"booking_confirmed": "REQUEST", "booking_rescheduled": "REQUEST", "booking_cancelled": "CANCEL"}
CLIENT_TOPICS = ("booking_confirmed", "booking_rescheduled", "booking_cancelled", "booking_shared",
                 "booking_reminder", "payment_refunded", "balance_due")
EXPERT_TOPICS = ("expert_booking_created", "expert_booking_completed", "expert_booking_rescheduled",
                 "expert_booking_cancelled")

DAYS = {"en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")}
MONTHS = {"en": ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                 "October", "November", "December"),
          "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
                 "octobre", "novembre", "décembre")}

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "subject.booking_confirmed": "Confirmed: {service} with {expert}, {date}",
        "subject.booking_rescheduled": "New time: {service} with {expert}, {date}",
        "subject.booking_cancelled": "Cancelled: {service} with {expert}, {date}",
        "subject.booking_shared": "{expert} has set up a session for you: {service}",
        "subject.booking_reminder": "Reminder: {service} with {expert}, {date}",
        "subject.payment_refunded": "Refunded: {service} with {expert}",
        "subject.expert_booking_created": "New booking: {client}, {service}, {date}",
        "subject.expert_booking_completed": "{client} completed the session you set up: {service}, {date}",
        "subject.expert_booking_rescheduled": "Rescheduled: {client}, {service}, now {date}",
        "subject.expert_booking_cancelled": "Cancelled: {client}, {service}, {date}",
        "intro.booking_confirmed": "Your booking is confirmed.",
        "intro.booking_rescheduled": "Your booking has moved to a new time.",
        "intro.booking_cancelled": "Your booking has been cancelled.",
        "intro.booking_shared": "{expert} has set up a session for you. Open the link below to complete your booking.",
        "intro.booking_reminder": "This is a reminder of your upcoming session.",
        "intro.payment_refunded": "Your payment for this booking has been refunded.",
        "intro.expert_booking_created": "You have a new booking.",
        "intro.expert_booking_completed": "{client} completed the session you set up. It is confirmed.",
        "intro.expert_booking_rescheduled": "A booking has moved to a new time.",
        "intro.expert_booking_cancelled": "A booking has been cancelled.",
        "hello": "Hello {name},",
        "when": "When", "previously": "Previously", "where": "Where", "client": "Client",
        "message": "Message", "note": "Note", "answers": "Answers",
        "zone": "Times are in {tz} (UTC{offset}).",
        "manage": "Manage your booking", "complete": "Complete your booking",
        "video": "Video call", "phone": "Phone", "in_person": "In person", "custom": "",
        "place_time": "{when} {city} time", "place_and_yours": "{there} · {yours} your time",
        "subject.waitlist_offer": "A seat is free: {service} with {expert}, {date}",
        "intro.waitlist_offer": "A seat has freed up in a session you are waiting for. It is held for you until {until}: "
                                "book it before then, or it goes to the next person waiting.",
        "book_seat": "Book this seat",
        "subject.balance_due": "Still to pay: {service} with {expert}, {date}",
        "intro.balance_due": "Your deposit is paid and your session is confirmed. The rest is still to pay, as {expert} asked.",
        "due": "Still to pay",
    },
    "fr": {
        "subject.booking_confirmed": "Confirmé : {service} avec {expert}, {date}",
        "subject.booking_rescheduled": "Nouvel horaire : {service} avec {expert}, {date}",
        "subject.booking_cancelled": "Annulé : {service} avec {expert}, {date}",
        "subject.booking_shared": "{expert} a préparé une séance pour vous : {service}",
        "subject.booking_reminder": "Rappel : {service} avec {expert}, {date}",
        "subject.payment_refunded": "Remboursé : {service} avec {expert}",
        "subject.expert_booking_created": "Nouvelle réservation : {client}, {service}, {date}",
        "subject.expert_booking_completed": "{client} a finalisé la séance que vous avez préparée : {service}, {date}",
        "subject.expert_booking_rescheduled": "Déplacée : {client}, {service}, désormais {date}",
        "subject.expert_booking_cancelled": "Annulée : {client}, {service}, {date}",
        "intro.booking_confirmed": "Votre réservation est confirmée.",
        "intro.booking_rescheduled": "Votre réservation a été déplacée.",
        "intro.booking_cancelled": "Votre réservation a été annulée.",
        "intro.booking_shared": "{expert} a préparé une séance pour vous. Ouvrez le lien ci-dessous pour finaliser votre réservation.",
        "intro.booking_reminder": "Petit rappel de votre prochaine séance.",
        "intro.payment_refunded": "Votre paiement pour cette réservation a été remboursé.",
        "intro.expert_booking_created": "Vous avez une nouvelle réservation.",
        "intro.expert_booking_completed": "{client} a finalisé la séance que vous avez préparée. Elle est confirmée.",
        "intro.expert_booking_rescheduled": "Une réservation a été déplacée.",
        "intro.expert_booking_cancelled": "Une réservation a été annulée.",
        "hello": "Bonjour {name},",
        "when": "Quand", "previously": "Auparavant", "where": "Où", "client": "Client",
        "message": "Message", "note": "À noter", "answers": "Réponses",
        "zone": "Heures en {tz} (UTC{offset}).",
        "manage": "Gérer votre réservation", "complete": "Finaliser votre réservation",
        "video": "Appel vidéo", "phone": "Téléphone", "in_person": "En personne", "custom": "",
        "place_time": "{when} heure de {city}", "place_and_yours": "{there} · {yours} chez vous",
        "subject.waitlist_offer": "Une place s’est libérée : {service} avec {expert}, {date}",
        "intro.waitlist_offer": "Une place s’est libérée dans une séance que vous attendiez. Elle vous est réservée "
                                "jusqu’à {until} : réservez-la avant, sinon elle ira à la personne suivante.",
        "book_seat": "Réserver cette place",
        "subject.balance_due": "Reste à payer : {service} avec {expert}, {date}",
        "intro.balance_due": "Votre acompte est payé et votre séance confirmée. Le reste est encore à régler, comme {expert} l’a demandé.",
        "due": "Reste à payer",
    },
}


def language(booking: Booking) -> str:
    """The expert's language for everything sent about their bookings (English by default)."""
    return expert_language(booking.expert)


def expert_language(expert: Expert) -> str:
    """The expert's language (English by default)."""
    locale = (expert.locale or "en").split("-")[0].lower()
    return locale if locale in TEXT else "en"


def format_when(start: datetime, end: datetime, tz: str, lang: str) -> str:
    """``Monday 1 December 2026, 09:00–09:30`` in ``tz`` (24-hour clock: unambiguous in both languages)."""
    local_start, local_end = start.astimezone(zone(tz)), end.astimezone(zone(tz))
    day = f"{DAYS[lang][local_start.weekday()]} {local_start.day} {MONTHS[lang][local_start.month - 1]} {local_start.year}"
    return f"{day}, {local_start:%H:%M}–{local_end:%H:%M}"


def utc_offset(instant: datetime, tz: str) -> str:
    """``+05:30`` for Asia/Kolkata: the reader sees which clock the times use."""
    offset = instant.astimezone(zone(tz)).strftime("%z")
    return f"{offset[:3]}:{offset[3:]}"


def place_when(location: dict[str, Any] | None, expert_tz: str, start: datetime, end: datetime, tz: str,
               lang: str) -> tuple[str, str] | None:
    """For an in-person session whose place keeps another clock than the reader's: (the time at the
    place, the time at the place · the reader's time), e.g. ``…, 10:00–10:30 Boston time · 07:00–07:30
    your time``. None when the reader's clock reads the same."""
    zone_name = places.place_zone(location, expert_tz)
    if zone_name is None or location is None:
        return None
    at_place, yours = format_when(start, end, zone_name, lang), format_when(start, end, tz, lang)
    if at_place == yours:
        return None
    t = TEXT[lang]
    there = t["place_time"].format(when=at_place, city=places.city(location, zone_name))
    # The reader's date is repeated only when it is another day than at the place.
    same_day = at_place.split(", ")[0] == yours.split(", ")[0]
    return there, t["place_and_yours"].format(there=there, yours=yours.split(", ")[-1] if same_day else yours)


def location_line(location: dict[str, Any] | None, lang: str) -> str:
    """``Video call: https://…`` — the private details, shown only to this booking's people."""
    text = ics.location_text(location)
    if not location or not text:
        return ""
    label = TEXT[lang].get(str(location.get("type")), "")
    return f"{label}: {text}" if label else text


def mailbox(name: str, address: str) -> Address:
    """``Name <address>`` for a From or To header. An ``Address`` (not ``formataddr``'s string) lets the
    email package quote the name: ``<script> Zoë "Q"; x:y`` in a string came out as a To header that
    mail readers parse as the address ``script``. The name goes through ``one_line``; an address no
    header can hold (a line break, a non-ASCII local part) raises ``Unsendable``."""
    try:
        return Address(display_name=one_line(name), addr_spec=address)
    except (ValueError, IndexError, MessageError) as error:
        raise Unsendable(f"The address {address!r} cannot be written in an email ({error}).") from None


def sender_address(base_url: str) -> str:
    """``no-reply@<host of KAIROS_BASE_URL>``: mail leaves from the booking host's own domain."""
    host = urlparse(base_url).hostname or "localhost"
    return f"no-reply@{host if '.' in host and not host.replace('.', '').isdigit() else 'localhost'}"


def build(topic: str, payload: dict[str, Any], booking: Booking, links: Links, *,
          message_id: str | None = None) -> EmailMessage:
    """The MIME message for one outbox email: text + HTML alternatives, plus the .ics where it belongs."""
    lang = language(booking)
    t = TEXT[lang]
    expert, client, service = booking.expert, booking.client, booking.service
    for_expert = topic in EXPERT_TOPICS
    tz = expert.timezone if for_expert else payload.get("timezone") or booking.timezone
    start = datetime.fromisoformat(payload["start"])
    end = datetime.fromisoformat(payload["end"])
    location = private_location(booking)
    when = format_when(start, end, tz, lang)
    place = place_when(location, expert.timezone, start, end, tz, lang)
    names = {"service": booking.session_name, "expert": expert.name, "client": client.name,
             "date": place[0] if place else when}
    subject = t[f"subject.{topic}"].format(**names)
    if place:
        when = place[1]

    # (label, value) rows shown in both parts; the HTML escapes every value.
    rows: list[tuple[str, str]] = [(t["when"], when)]
    if payload.get("previous_start"):
        previous = datetime.fromisoformat(payload["previous_start"])
        rows.append((t["previously"], format_when(previous, previous + (end - start), tz, lang)))
    where = location_line(location, lang)
    if where:
        rows.append((t["where"], where))
    if for_expert:
        contact = ", ".join(x for x in (client.name, client.email, client.phone) if x)
        rows.append((t["client"], contact))
        if topic in ("expert_booking_created", "expert_booking_completed") and booking.answers:
            rows.append((t["answers"], "; ".join(f"{k}: {v}" for k, v in booking.answers.items())))
    if payload.get("amount_due"):
        rows.append((t["due"], money(int(payload["amount_due"]), payload.get("currency") or "eur")))
    elif topic in ("booking_confirmed", "booking_reminder", "expert_booking_created") and booking.deposit_amount:
        due = (payment_view(booking) or {}).get("amount_due")  # read at send time: what is due now
        if due:
            rows.append((t["due"], money(due, booking.price_currency or "eur")))
    if payload.get("message"):
        rows.append((t["message"], payload["message"]))
    if topic in ("booking_confirmed", "booking_reminder") and service.confirmation_note:
        rows.append((t["note"], service.confirmation_note))

    link = None if for_expert or topic == "payment_refunded" else links.manage_url(booking)
    link_label = t["complete"] if topic == "booking_shared" else t["manage"]
    intro = t[f"intro.{topic}"].format(**names)
    greeting = t["hello"].format(name=expert.name if for_expert else client.name)
    zone_line = t["zone"].format(tz=tz, offset=utc_offset(start, tz))

    text_lines = [greeting, "", intro, ""] + [f"{label}: {value}" for label, value in rows] + ["", zone_line]
    if link:
        text_lines += ["", f"{link_label}: {link}"]
    text_lines += ["", "— Kairos" if for_expert else f"— {expert.name}"]

    msg = EmailMessage()
    # Names reach the headers through one_line: text stored before the input rules cannot split them.
    msg["Subject"] = one_line(subject)
    msg["From"] = mailbox(expert.name, sender_address(links.base_url))
    msg["To"] = mailbox(expert.name if for_expert else client.name, payload["to"])
    msg["Reply-To"] = client.email if for_expert else (expert.notification_email or expert.email)
    msg["Date"] = format_datetime(datetime.now(zone("UTC")))
    if message_id:
        msg["Message-ID"] = message_id  # stable per outbox row: a resend after a crash is recognisable
    msg["Content-Language"] = lang
    msg.set_content("\n".join(text_lines) + "\n")
    msg.add_alternative(_html(brand_color(expert.brand_color), expert.name, greeting, intro, rows, zone_line,
                              link, link_label, lang), subtype="html")

    method = ICS_METHODS.get(topic)
    if method:
        description = "\n".join(x for x in (service.confirmation_note, link and f"{link_label}: {link}") if x)
        data = ics.invitation(booking, method=method, start=start, end=end, sequence=int(payload["sequence"]),
                              description=description)
        msg.add_attachment(data, maintype="text", subtype="calendar", filename="invite.ics",
                           params={"method": method, "charset": "utf-8"})
    return msg


def build_waitlist_offer(entry: WaitlistEntry, url: str, *, message_id: str | None = None) -> EmailMessage:
    """The email that offers a freed seat to a waitlisted client, with the link that books it."""
    service, client, session = entry.service, entry.client, entry.session
    expert = service.expert
    lang = expert_language(expert)
    t = TEXT[lang]
    tz = entry.timezone
    when = format_when(session.start, session.end, tz, lang)
    until = (format_when(entry.offer_expires_at, entry.offer_expires_at, tz, lang).rsplit("–", 1)[0]
             if entry.offer_expires_at else "")
    subject = t["subject.waitlist_offer"].format(service=service.name, expert=expert.name, date=when)
    intro = t["intro.waitlist_offer"].format(until=until)
    greeting = t["hello"].format(name=client.name)
    rows = [(t["when"], when)]
    zone_line = t["zone"].format(tz=tz, offset=utc_offset(session.start, tz))
    text = [greeting, "", intro, ""] + [f"{label}: {value}" for label, value in rows]
    text += ["", zone_line, "", f"{t['book_seat']}: {url}", "", f"— {expert.name}"]
    msg = EmailMessage()
    msg["Subject"] = one_line(subject)
    msg["From"] = mailbox(expert.name, sender_address(url))
    msg["To"] = mailbox(client.name, client.email)
    msg["Reply-To"] = expert.notification_email or expert.email
    msg["Date"] = format_datetime(datetime.now(zone("UTC")))
    if message_id:
        msg["Message-ID"] = message_id
    msg["Content-Language"] = lang
    msg.set_content("\n".join(text) + "\n")
    msg.add_alternative(_html(brand_color(expert.brand_color), expert.name, greeting, intro, rows, zone_line,
                              url, t["book_seat"], lang), subtype="html")
    return msg


def _html(color: str, expert: str, greeting: str, intro: str, rows: list[tuple[str, str]], zone_line: str,
          link: str | None, link_label: str, lang: str) -> str:
    cells = Markup("").join(
        Markup('<tr><th style="text-align:left;padding:4px 12px 4px 0;vertical-align:top;color:#555">{}</th>'
               '<td style="padding:4px 0">{}</td></tr>').format(label, value)
        for label, value in rows)
    button = Markup("")
    if link:
        button = Markup('<p style="margin:24px 0"><a href="{}" style="background:{};color:{};padding:12px 20px;'
                        'border-radius:6px;text-decoration:none;display:inline-block">{}</a></p>'
                        '<p style="font-size:12px;color:#777">{}</p>').format(link, color, text_on(color), link_label,
                                                                               link)
    return str(Markup(
        '<!doctype html><html lang="{lang}"><body style="margin:0;font-family:-apple-system,Segoe UI,Helvetica,'
        'Arial,sans-serif;color:#222;background:#f6f6f6"><div style="max-width:560px;margin:0 auto;background:#fff">'
        '<div style="background:{color};color:{ink};padding:16px 24px;font-size:18px;font-weight:600">{expert}</div>'
        '<div style="padding:24px"><p>{greeting}</p><p>{intro}</p><table style="border-collapse:collapse">{cells}'
        '</table><p style="color:#555;font-size:13px">{zone}</p>{button}</div></div></body></html>'
    ).format(lang=lang, color=color, ink=text_on(color), expert=expert, greeting=greeting, intro=intro, cells=cells, zone=zone_line,
             button=button))
