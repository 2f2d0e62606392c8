"""The experts' dashboard: server-rendered pages under /dashboard (sign in, overview, actions, and
the pages that set everything up: services, availability, sessions, embedding, settings…).

It signs experts in with their password into Flask's signed session cookie and protects every
form with a per-session CSRF token (``auth.py``). Pages only parse, call the same services as the
expert API and render templates under ``backend/templates/dashboard/``.
"""
from __future__ import annotations

from datetime import timedelta

from flask import Flask

# Each page module adds its routes to the one blueprint when imported.
from backend.dashboard import availability, bookings, calendars, clients, embed, packages, services, settings  # noqa: F401
from backend.dashboard.routes import bp

SESSION_LIFETIME = timedelta(hours=12)


def init_app(app: Flask) -> None:
    """Configure the session cookie for the dashboard and register its blueprint."""
    kairos = app.config["KAIROS"]
    app.config.update(
        SESSION_COOKIE_NAME="kairos_dashboard",
        # Only the dashboard reads the session: the widget and the API (same origin) never receive it.
        SESSION_COOKIE_PATH="/dashboard",
        SESSION_COOKIE_HTTPONLY=True,
        # Lax: a link from an email still opens the dashboard signed in; cross-site POSTs carry no cookie.
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=kairos.base_url.startswith("https://"),
        # Also the signature's max age: a copied cookie stops working after this, whatever the browser does.
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
    )
    app.register_blueprint(bp)
