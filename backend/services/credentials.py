"""What lets someone act for an expert: the dashboard password, API tokens and webhook endpoints.

Shared by the expert API, the CLI and the dashboard; functions flush, the caller commits.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash

from backend.errors import NotFound, ValidationError
from backend.models import ApiToken, Expert, WebhookEndpoint
from backend.notifications import webhooks
from backend.services import experts


def change_password(expert: Expert, current: str, new: str) -> None:
    """Set a new dashboard password after checking the current one (``experts.set_password`` rules).

    The stored hash changes, so every browser signed in with the old one is signed out."""
    if not expert.password_hash or not check_password_hash(expert.password_hash, current):
        raise ValidationError(fields={"current_password": ["That is not your current password."]})
    experts.set_password(expert, new)


def sign_out_everywhere(expert: Expert, password: str) -> None:
    """End every dashboard session: the password is hashed again with a fresh salt, which changes the
    fingerprint every session cookie carries (the password itself stays the same)."""
    change_password(expert, password, password)


def list_tokens(db: Session, expert: Expert) -> list[ApiToken]:
    """The expert's API tokens, oldest first (only their hashes are stored)."""
    return list(db.scalars(select(ApiToken).where(ApiToken.expert_id == expert.id).order_by(ApiToken.id)))


def create_token(db: Session, expert: Expert, label: str) -> str:
    """A new API token; the clear value is returned once and never stored."""
    token = experts.issue_token(db, expert, label=label)
    db.flush()
    return token


def get_token(db: Session, expert: Expert, token_id: int) -> ApiToken:
    """One of the expert's API tokens; NotFound for anyone else's."""
    row = db.scalar(select(ApiToken).where(ApiToken.id == token_id, ApiToken.expert_id == expert.id))
    if row is None:
        raise NotFound("No such API token.")
    return row


def revoke_token(db: Session, expert: Expert, token_id: int) -> None:
    """Delete one of the expert's tokens: scripts using it get 401 from now on."""
    db.delete(get_token(db, expert, token_id))
    db.flush()


def list_webhooks(db: Session, expert: Expert) -> list[WebhookEndpoint]:
    """The expert's webhook endpoints, oldest first."""
    return list(db.scalars(select(WebhookEndpoint).where(WebhookEndpoint.expert_id == expert.id)
                           .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)))


def add_webhook(db: Session, expert: Expert, url: str, events: list[str], *, allow_private: bool) -> WebhookEndpoint:
    """Subscribe ``url`` (checked against private networks) to ``events`` (a loaded ``WebhookCreate``)."""
    return webhooks.subscribe(db, expert.id, url, events, allow_private=allow_private)


def get_webhook(db: Session, expert: Expert, endpoint_id: str) -> WebhookEndpoint:
    """One of the expert's webhook endpoints; NotFound for anyone else's."""
    endpoint = db.scalar(select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id,
                                                       WebhookEndpoint.expert_id == expert.id))
    if endpoint is None:
        raise NotFound("No such webhook.")
    return endpoint


def remove_webhook(db: Session, expert: Expert, endpoint_id: str) -> None:
    """Stop sending to this endpoint."""
    db.delete(get_webhook(db, expert, endpoint_id))
    db.flush()
