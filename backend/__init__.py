"""Kairos: an embeddable booking widget and its micro-backend.

``gunicorn "backend:create_app()"`` serves it, configured by the environment.
"""
from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    """``backend.create_app``, imported on first use rather than with the package.

    Every ``backend.*`` import runs this package first; importing the whole app here would make
    ``kairos worker`` spend its first second unable to handle TERM (see ``cli.worker``).
    """
    if name == "create_app":
        from backend.app import create_app  # lazy on purpose: see the docstring
        return create_app
    raise AttributeError(f"module 'backend' has no attribute {name!r}")
