"""Versioned URLs for the widget's files, so a returning visitor's browser never asks for them again.

A page links ``/assets/<version>/<name>`` (the ``asset`` template global), where the version is a digest
of every file in ``widget/``. Such a URL always means the same bytes, so it is cached for a year as
``immutable``: a client who comes back to an expert's site tomorrow loads the booking flow's modules
from their cache without a single request (``/widget-assets/<name>`` answers for five minutes, then the
browser asks again). A deploy that changes any file changes every URL; modules import each other by
relative path, so they all resolve under the version their page linked.

Standard library only; the digest is read once per process (in debug mode on every call, so edits show).
"""
from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from flask import current_app

WIDGET_DIR = Path(__file__).resolve().parents[1] / "widget"

#: How long a browser keeps a versioned file: a year, the longest HTTP caches honour.
IMMUTABLE_MAX_AGE = 365 * 24 * 3600


def _digest(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


@cache
def _cached_digest(directory: Path) -> str:
    return _digest(directory)


def version() -> str:
    """The current version of the widget's files (12 hex digits of their digest)."""
    return _digest(WIDGET_DIR) if current_app.debug else _cached_digest(WIDGET_DIR)


def url(name: str) -> str:
    """Where a page links the widget's file ``name`` (e.g. ``app.js``): under the current version."""
    return f"/assets/{version()}/{name}"
