"""The expert's own rows named by slug (package plans, collections): fetched for the signed-in expert
(404 when not theirs) and dumped under their envelope key, the same way by every route of the kind."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

from backend.api.auth import current_expert
from backend.extensions import db
from backend.models import Expert

Row = TypeVar("Row")


@dataclass(frozen=True)
class Owned(Generic[Row]):
    """One kind of the expert's rows: ``fetch(db, expert, slug)`` raises NotFound for another's or none;
    ``view(db, row)`` is its output; ``key`` its envelope's key (``{"package_plan": …}``)."""

    key: str
    fetch: Callable[[Session, Expert, str], Row]
    view: Callable[[Session, Row], dict[str, Any]]

    def get(self, slug: str) -> Row:
        """The signed-in expert's row called ``slug`` (404 otherwise)."""
        return self.fetch(db.session(), current_expert(), slug)

    def dump(self, row: Row) -> dict[str, Any]:
        """``row`` under the envelope key, as the routes answer."""
        return {self.key: self.view(db.session(), row)}

    def dump_all(self, rows: list[Row]) -> list[dict[str, Any]]:
        """Several rows' views, for a list envelope."""
        return [self.view(db.session(), row) for row in rows]
