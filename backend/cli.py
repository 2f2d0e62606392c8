"""The ``kairos`` command: migrate, demo, create-expert, serve, worker (plus Flask's ``db`` tools)."""
from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from backend.config import ConfigError


def _create_app():
    from backend.app import create_app
    try:
        return create_app()
    except ConfigError as error:
        click.echo(f"kairos: configuration error: {error}", err=True)
        sys.exit(2)


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False, add_version_option=False,
             load_dotenv=False, set_debug_flag=False)
def cli() -> None:
    """Kairos booking backend."""


@cli.command()
@with_appcontext
def migrate() -> None:
    """Apply the database migrations (idempotent)."""
    from flask_migrate import upgrade
    upgrade()
    click.echo("database is up to date")


@cli.command()
@with_appcontext
def demo() -> None:
    """Seed the demo expert 'demo' (safe to run twice)."""
    from backend.extensions import db
    from backend.services.demo import seed_demo
    expert, token = seed_demo(db.session)
    click.echo(f"demo expert '{expert.slug}' ready with {len(expert.services)} services")
    if token:
        click.echo(f"API token (shown once): {token}")


@cli.command("create-expert")
@click.argument("slug")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--timezone", "tz", required=True, help="IANA name, e.g. Europe/Paris")
@click.option("--password", default=None, help="Also set the dashboard password")
@with_appcontext
def create_expert(slug: str, email: str, name: str, tz: str, password: str | None) -> None:
    """Create an expert; the API token is printed as the last line."""
    from backend.errors import DomainError
    from backend.extensions import db
    from backend.services.experts import create_expert as create
    try:
        expert, token = create(db.session, slug, email=email, name=name, timezone=tz, password=password)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        details = "; ".join(f"{k}: {' '.join(v)}" for k, v in error.fields.items()) or error.message
        raise click.ClickException(details) from None
    click.echo(f"created expert '{expert.slug}'")
    click.echo(token)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def serve(host: str, port: int) -> None:
    """Run the development server (and deliver the outbox in process)."""
    from werkzeug.serving import run_simple
    app = current_app._get_current_object()
    if not app.config["KAIROS"].outbox_in_process:  # else create_app has started it already
        _start_in_process_worker(app)
    click.echo(f"Kairos on http://{host}:{port}")
    # run_simple, not app.run: Flask refuses app.run() inside its own CLI.
    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)


def _start_in_process_worker(app) -> None:
    try:
        from backend.worker import start_background_worker
    except ImportError:  # delivery arrives with the notifications work
        return
    start_background_worker(app)


@cli.command()
@click.option("--once", is_flag=True, help="Deliver what is due, then exit")
@with_appcontext
def worker(once: bool) -> None:
    """Deliver the outbox (emails, webhooks) with retries."""
    from backend.worker import run_worker
    run_worker(current_app._get_current_object(), once=once)


def main() -> None:
    cli(prog_name="kairos")


if __name__ == "__main__":
    main()
