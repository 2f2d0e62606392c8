"""An expert's clients: one per email, found or created as bookings arrive."""
from __future__ import annotations

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, make_transient_to_detached

from backend.errors import NotFound
from backend.inserts import insert_or_skip
from backend.models import Client, Expert
from backend.types import utcnow
from backend.unread import UNREAD


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


def find_or_create_client(db: Session, expert: Expert, name: str, email: str, phone: str | None,
                          *, found: Client | None = UNREAD) -> Client:
    """The expert's existing client with this email, or a new one (never a duplicate).

    ``found`` is the client the caller already read (None: there was none then), which saves the
    look-up; a client created meanwhile by a parallel booking is still found, not duplicated.
    """
    client = found
    if client is UNREAD:
        client = db.scalar(select(Client).where(Client.expert_id == expert.id, Client.email_key == email_key(email)))
    if client is None:
        values = {"expert_id": expert.id, "email": email.strip(), "email_key": email_key(email), "name": name,
                  "phone": phone, "created_at": utcnow()}
        new_id = insert_or_skip(db, Client, values, ["expert_id", "email_key"])
        if new_id is None:  # a parallel booking created them since the caller looked
            return find_or_create_client(db, expert, name, email, phone)
        # The row is in the database: hand the session the object without reading it back.
        client = Client(id=new_id, stripe_customer_id=None, **values)
        make_transient_to_detached(client)
        db.add(client)
    elif phone and not client.phone:
        client.phone = phone
    return client
