"""Kairos: an embeddable booking widget and its micro-backend.

``gunicorn "backend.app:create_app()"`` serves it, configured by the environment; ``kairos`` (or
``python -m backend``) is its command line. The package itself imports nothing, so ``kairos worker``
can listen for TERM before the app loads (see ``backend/__main__.py``).
"""
