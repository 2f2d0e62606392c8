"""Kairos: an embeddable booking widget and its micro-backend.

``gunicorn "backend:create_app()"`` serves it, configured by the environment.
"""
from backend.app import create_app

__all__ = ["create_app"]
