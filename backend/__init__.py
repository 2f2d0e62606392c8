"""Kairos: an embeddable booking widget and its micro-backend.

``gunicorn "backend:create_app()"`` serves it, configured by the environment (API.md); ``kairos`` (or
``python -m backend``) is its command line. The package imports nothing when it loads, so ``kairos
worker`` can listen for TERM before the app's modules load (see ``backend/__main__.py``).
"""
from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    """``backend.create_app`` for the documented ``gunicorn "backend:create_app()"``, imported on first use.

    Every ``backend.*`` import runs this package first, ``kairos`` itself included: importing the whole
    app here would delay the worker's TERM handler by the app's import time.
    """
    if name == "create_app":
        from backend.app import create_app  # lazy on purpose: see the docstring
        return create_app
    raise AttributeError(f"module 'backend' has no attribute {name!r}")
