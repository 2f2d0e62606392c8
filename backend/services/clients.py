"""An expert's clients: one per email, found or created as bookings arrive."""
from __future__ import annotations

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from backend.errors import NotFound
from backend.models import Client, Expert


def email_key(email: str) -> str:
    """The form of an email that identifies a client: case-folded, trimmed."""
    return email.strip().casefold()


def list_clients(db: Session, expert: Expert, *, limit: int | None = None,
                 after: tuple[str, int] | None = None) -> list[Client]:
    """The expert's clients by name; ``after`` is the (name, id) of the last client of the previous page."""
    stmt = select(Client).where(Client.expert_id == expert.id)
    if after is not None:
        name, client_id = after
        stmt = stmt.where(or_(Client.name > name, and_(Client.name == name, Client.id > client_id)))
    return list(db.scalars(stmt.order_by(Client.name, Client.id).limit(limit)))


def get_client(db: Session, expert: Expert, client_id: int) -> Client:
    """One of the expert's clients; NotFound for anyone else's."""
    client = db.scalar(select(Client).where(Client.id == client_id, Client.expert_id == expert.id))
    if client is None:
        raise NotFound("No such client.")
    return client


def find_or_create_client(db: Session, expert: Expert, name: str, email: str, phone: str | None) -> Client:
    """The expert's existing client with this email, or a new one (never a duplicate)."""
    client = db.scalar(select(Client).where(Client.expert_id == expert.id, Client.email_key == email_key(email)))
    if client is None:
        client = Client(expert_id=expert.id, email=email.strip(), email_key=email_key(email), name=name, phone=phone)
        db.add(client)
        db.flush()
    elif phone and not client.phone:
        client.phone = phone
    return client
