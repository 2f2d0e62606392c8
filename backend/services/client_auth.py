"""Signing a client in without a password: an emailed 6-digit code (inside the widget's iframe)
or the link in the same email (the whole page), then a bearer token the widget holds.

- The code and the link are stored hashed (the code under an HMAC with the secret key and the row,
  since six digits are too few for a plain hash), work once, for 15 minutes; after 5 wrong codes the
  code is dead. A new start ends the codes sent before for that email.
- Every email gets a code, known or not: the answer and the work done are the same, so nothing tells
  who is a client. Signing in does not make anyone a client: ``is_client`` asks for a booking or a
  package with this expert.
- The client token (``kc_…``) is random; only its SHA-256 is stored (``ClientSession``).
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, exists, select, update
from sqlalchemy.orm import Session

from backend.errors import SignInRequired, Unauthorized
from backend.models import Booking, Client, ClientLoginCode, ClientPackage, ClientSession, Expert
from backend.outbox import enqueue
from backend.security import b64_mac, new_token, token_hash
from backend.services.clients import email_key, find_or_create_client
from backend.statuses import BookingStatus

CODE_MINUTES = 15
MAX_TRIES = 5
SESSION_DAYS = 30
WRONG_CODE = "That code is not right, or it has expired. Check the email or ask for a new code."


@dataclass(frozen=True)
class SignedIn:
    """What ``verify`` gives the widget."""

    client: Client
    token: str
    expires_at: datetime


def _code_hash(secret: str, row_id: int, code: str) -> str:
    return b64_mac(secret, f"client-code:{row_id}:{code}")


def start(db: Session, expert: Expert, email: str, *, secret: str, base_url: str, now: datetime) -> None:
    """Email a fresh code and link to ``email`` (known or not); earlier codes for it stop working."""
    key = email_key(email)
    db.execute(update(ClientLoginCode).where(ClientLoginCode.expert_id == expert.id,
                                             ClientLoginCode.email_key == key, ClientLoginCode.used_at.is_(None))
               .values(used_at=now))
    code = f"{secrets.randbelow(1_000_000):06d}"
    link = new_token("kl")
    row = ClientLoginCode(expert_id=expert.id, email=email.strip(), email_key=key, code_hash="",
                          link_hash=token_hash(link), attempts=0,
                          expires_at=now + timedelta(minutes=CODE_MINUTES))
    db.add(row)
    db.flush()
    row.code_hash = _code_hash(secret, row.id, code)
    # The code travels in the outbox row until it is sent (15 minutes at most is its worth).
    enqueue(db, "email", "client_sign_in", {
        "to": row.email, "code": code, "link": f"{base_url}/book/{expert.slug}?signin={link}",
        "expert": expert.name, "locale": expert.locale or "en", "minutes": CODE_MINUTES,
    }, expert_id=expert.id)
    db.flush()


def verify_code(db: Session, expert: Expert, email: str, code: str, *, secret: str, now: datetime) -> SignedIn:
    """Sign in with the emailed code; Unauthorized when wrong, used, expired or tried 5 times."""
    row = db.scalar(select(ClientLoginCode).where(
        ClientLoginCode.expert_id == expert.id, ClientLoginCode.email_key == email_key(email),
        ClientLoginCode.used_at.is_(None)).order_by(ClientLoginCode.id.desc()).limit(1))
    if row is None or row.expires_at <= now or row.attempts >= MAX_TRIES:
        raise Unauthorized(WRONG_CODE)
    if not secrets.compare_digest(row.code_hash, _code_hash(secret, row.id, code.strip())):
        # Counted by a conditional UPDATE so parallel guesses cannot share one try.
        db.execute(update(ClientLoginCode).where(ClientLoginCode.id == row.id)
                   .values(attempts=ClientLoginCode.attempts + 1))
        raise Unauthorized(WRONG_CODE)
    return _use(db, expert, row, now)


def verify_link(db: Session, expert: Expert, link_token: str, *, now: datetime) -> SignedIn:
    """Sign in with the emailed link (the whole-page flow); Unauthorized when used or expired."""
    row = db.scalar(select(ClientLoginCode).where(ClientLoginCode.expert_id == expert.id,
                                                  ClientLoginCode.link_hash == token_hash(link_token)))
    if row is None or row.used_at is not None or row.expires_at <= now or row.attempts >= MAX_TRIES:
        raise Unauthorized("This sign-in link has expired or was already used. Ask for a new one.")
    return _use(db, expert, row, now)


def _use(db: Session, expert: Expert, row: ClientLoginCode, now: datetime) -> SignedIn:
    result = cast(CursorResult[Any], db.execute(
        update(ClientLoginCode).where(ClientLoginCode.id == row.id, ClientLoginCode.used_at.is_(None))
        .values(used_at=now)))
    used = result.rowcount
    if used != 1:  # a parallel request used it first
        raise Unauthorized(WRONG_CODE)
    client = find_or_create_client(db, expert, row.email.split("@", 1)[0], row.email, None)
    token = new_token("kc")
    expires_at = now + timedelta(days=SESSION_DAYS)
    db.add(ClientSession(expert_id=expert.id, client_id=client.id, token_hash=token_hash(token),
                         expires_at=expires_at))
    db.flush()
    return SignedIn(client=client, token=token, expires_at=expires_at)


def client_for_token(db: Session, expert: Expert, token: str, now: datetime) -> Client | None:
    """The client a token signs in at this expert; None for an ended, expired or other expert's token."""
    session = db.scalar(select(ClientSession).where(ClientSession.token_hash == token_hash(token)))
    if session is None or session.expert_id != expert.id or session.ended_at is not None or session.expires_at <= now:
        return None
    return session.client


def sign_out(db: Session, token: str, now: datetime) -> None:
    """End the session of ``token`` (nothing happens for an unknown one)."""
    db.execute(update(ClientSession).where(ClientSession.token_hash == token_hash(token),
                                           ClientSession.ended_at.is_(None)).values(ended_at=now))


def is_client(db: Session, expert: Expert, client: Client | None) -> bool:
    """Whether ``client`` is an existing client of ``expert``: a confirmed booking or a package with them."""
    if client is None or client.expert_id != expert.id:
        return False
    # Only a confirmed booking counts: anyone can make one that is held, pending or cancelled.
    booked = db.scalar(select(exists().where(Booking.client_id == client.id, Booking.expert_id == expert.id,
                                             Booking.status == BookingStatus.CONFIRMED)))
    if booked:
        return True
    return bool(db.scalar(select(exists().where(ClientPackage.client_id == client.id,
                                                ClientPackage.expert_id == expert.id))))


def upcoming_bookings(db: Session, client: Client, now: datetime) -> list[Booking]:
    """The client's bookings still to come and not cancelled, soonest first."""
    return list(db.scalars(select(Booking).where(Booking.client_id == client.id, Booking.end > now,
                                                 Booking.status != BookingStatus.CANCELLED)
                           .order_by(Booking.start).limit(50)))


def require_client(db: Session, expert: Expert, client: Client | None) -> Client:
    """``client`` when they are one of the expert's clients, else SignInRequired (401)."""
    if client is None or not is_client(db, expert, client):
        raise SignInRequired()
    return client
