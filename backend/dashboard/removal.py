"""Removing after asking: the one "are you sure" page (``remove.html``: what goes, what stays, the
way back, or why it cannot go) and, once confirmed, the removal itself (committed, announced, back).
Package plans, collections, scheduled sessions and API tokens are removed this way."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask.typing import ResponseReturnValue

from backend.dashboard.common import act, page


@dataclass(frozen=True)
class Removal:
    """One removal as the expert meets it, described once for both of its requests: the question
    (``title``) and what it means, the button and where it posts (``action``, the same address as
    the question), the page it belongs to (``section``), the way back, and ``done``, said once gone."""

    section: str
    title: str
    explanation: str
    button: str
    action: str
    back: str
    back_label: str
    done: str

    def ask(self, refused: str | None = None) -> ResponseReturnValue:
        """The confirmation page; with ``refused``, the reason it cannot go instead of the button."""
        return page("dashboard/remove.html", self.section, title=self.title, explanation=self.explanation,
                    refused=refused, action=self.action, button=self.button, back=self.back,
                    back_label=self.back_label)

    def confirmed(self, remove: Callable[[], Any]) -> ResponseReturnValue:
        """Run ``remove`` and commit, say ``done`` (or the domain error's message), and go back."""
        return act(remove, self.done, self.back)
