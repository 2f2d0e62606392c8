"""The ``kairos`` commands: migrate, demo, create-expert, set-password, serve, dev, worker (plus Flask's ``db`` tools).

``backend/__main__.py`` is the program that runs them (it installs the worker's TERM handler first).
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, ScriptInfo, with_appcontext
from flask_migrate import upgrade
from sqlalchemy import update
from werkzeug.serving import run_simple

from backend import shutdown
from backend.app import create_app
from backend.config import ConfigError
from backend.errors import DomainError
from backend.extensions import db
from backend.models import Client
from backend.services import experts
from backend.services.demo import seed_demo
from backend.worker import run_worker, start_background_worker


@contextmanager
def _committed() -> Iterator[None]:
    """Commit the block's work; a domain error rolls it back and becomes a one-line CLI error."""
    try:
        yield
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        details = "; ".join(f"{k}: {' '.join(v)}" for k, v in error.fields.items()) or error.message
        raise click.ClickException(details) from None


def _create_app() -> Flask:
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
    upgrade()
    click.echo("database is up to date")


@cli.command()
@with_appcontext
def demo() -> None:
    """Seed the demo expert 'demo' (safe to run twice)."""
    expert, token = seed_demo(db.session(), stripe_enabled=bool(current_app.config["KAIROS"].stripe_secret_key))
    db.session.commit()
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
    with _committed():
        expert, token = experts.create_expert(db.session(), slug, email=email, name=name, timezone=tz, password=password)
    click.echo(f"created expert '{expert.slug}'")
    click.echo(token)


@cli.command("set-password")
@click.argument("slug")
@with_appcontext
def set_password(slug: str) -> None:
    """Set (or change) an expert's dashboard password; it is asked for twice and never echoed.

    Changing it signs the expert out of every browser (the session carries a fingerprint of it).
    """
    with _committed():
        expert = experts.get_expert(db.session(), slug)
        password = click.prompt("New dashboard password", hide_input=True, confirmation_prompt=True)
        experts.set_password(expert, password)
    click.echo(f"password set for '{expert.slug}': sign in at {current_app.config['KAIROS'].base_url}/dashboard")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def serve(host: str, port: int) -> None:
    """Run the development server (and deliver the outbox in process)."""
    # current_app is a LocalProxy, which Flask's stubs type as the Flask app itself.
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config["KAIROS"].outbox_in_process:  # else create_app has started it already
        start_background_worker(app)
    click.echo(f"Kairos on http://{host}:{port}")
    # run_simple, not app.run: Flask refuses app.run() inside its own CLI.
    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)


LOCALSTRIPE_PORT = 8420


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--stripe-port", default=LOCALSTRIPE_PORT, show_default=True, type=int)
def dev(host: str, port: int, stripe_port: int) -> None:
    """migrate, demo and serve, with payments against localstripe (a local fake of Stripe).

    Starts ``localstripe --from-scratch`` unless something already listens on --stripe-port, registers
    the webhook there, and stops it with the server. Your own KAIROS_STRIPE_* settings win.
    Expert webhooks may go to localhost and private addresses (KAIROS_WEBHOOK_ALLOW_PRIVATE=1 unless set).
    """
    # `kairos dev` only ever runs on a developer's machine (demo data, fake Stripe), where pointing a
    # webhook at a receiver on localhost is the normal way to try it; so allow private destinations
    # here, and only here. `serve`, `worker` and gunicorn keep the safe default. An explicit setting wins.
    os.environ.setdefault("KAIROS_WEBHOOK_ALLOW_PRIVATE", "1")
    # Stopping the server (Ctrl-C, or a TERM from a supervisor) also stops localstripe, via `finally`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if os.environ.get("KAIROS_STRIPE_SECRET_KEY"):
        stripe_url, proc = None, None
    else:
        stripe_url = f"http://localhost:{stripe_port}"
        os.environ.update({
            "KAIROS_STRIPE_SECRET_KEY": "sk_test_kairos_local", "KAIROS_STRIPE_PUBLISHABLE_KEY": "pk_test_kairos_local",
            "KAIROS_STRIPE_WEBHOOK_SECRET": os.environ.get("KAIROS_STRIPE_WEBHOOK_SECRET") or "whsec_kairos_local",
            "KAIROS_STRIPE_API_BASE": stripe_url, "KAIROS_STRIPE_JS_URL": f"{stripe_url}/js.stripe.com/v3/"})
        proc = None
        try:
            urllib.request.urlopen(f"{stripe_url}/js.stripe.com/v3/", timeout=1).read()
            click.echo(f"using the localstripe already on {stripe_url}")
        except OSError:
            exe = os.path.join(os.path.dirname(sys.executable), "localstripe")
            exe = exe if os.path.exists(exe) else shutil.which("localstripe") or "localstripe"
            proc = subprocess.Popen([exe, "--port", str(stripe_port), "--from-scratch"])
            deadline = time.time() + 20
            while True:
                try:
                    urllib.request.urlopen(f"{stripe_url}/js.stripe.com/v3/", timeout=1).read()
                    break
                except OSError:
                    if proc.poll() is not None or time.time() > deadline:
                        proc.kill()
                        raise click.ClickException("localstripe did not start (pip install localstripe)") from None
                    time.sleep(0.2)
            click.echo(f"localstripe (fake Stripe) on {stripe_url}")
    try:
        app = _create_app()
        settings = app.config["KAIROS"]
        if stripe_url:
            form = urllib.parse.urlencode({"url": f"{settings.base_url}/api/v1/payments/stripe/webhook",
                                           "secret": settings.stripe_webhook_secret}).encode()
            urllib.request.urlopen(f"{stripe_url}/_config/webhooks/kairos", data=form, timeout=10).read()
            click.echo("test card: 4242 4242 4242 4242 (declined: 4000 0000 0000 0002), any date and CVC")
        with app.app_context():
            upgrade()
            if proc is not None:
                # A fresh localstripe knows none of the customers a previous run stored: forget them
                # (it would accept a SetupIntent for them, then refuse the payment).
                db.session.execute(update(Client).values(stripe_customer_id=None))
                db.session.commit()
            expert, token = seed_demo(db.session(), stripe_enabled=bool(settings.stripe_secret_key))
            db.session.commit()
            if token:
                click.echo(f"demo API token (shown once): {token}")
            click.echo(f"demo: {settings.base_url}/demo — paid service: {settings.base_url}/book/{expert.slug}/strategy-session")
            if not settings.outbox_in_process:
                start_background_worker(app)
            click.echo(f"Kairos on http://{host}:{port}")
            run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


@cli.command()
@click.option("--once", is_flag=True, help="Deliver what is due, then exit")
def worker(once: bool) -> None:
    """Deliver the outbox (emails, webhooks) with retries. TERM or Ctrl-C stops it after the message
    in hand, so a deploy never cuts a delivery between sending it and marking it sent.

    Started as ``kairos worker``, the handlers are in before the app loads (``backend/__main__.py``):
    a deploy may stop a worker that is still starting, and it must exit cleanly then too.
    "kairos worker: ready" on stderr says it is polling.
    """
    stop = shutdown.listen()  # the same event the program's entry listened with, if it did
    app = click.get_current_context().ensure_object(ScriptInfo).load_app()
    if not stop.is_set():
        click.echo("kairos worker: ready", err=True)
        run_worker(app, once=once, stop=stop)
    click.echo("kairos worker: stopped", err=True)
