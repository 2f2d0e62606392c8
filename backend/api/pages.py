"""Pages and files served to browsers: embed.js, the widget, the manage page, the demo."""
from __future__ import annotations

import gzip
import hashlib
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from backend import assets
from backend.api import first_answers
from backend.extensions import db
from backend.services import experts
from backend.widget_modules import first_screen

bp = Blueprint("pages", __name__)
bp.add_app_template_global(assets.url, "asset")  # every page links the widget's files by version

ROOT = Path(__file__).resolve().parents[2]
WIDGET_DIR = ROOT / "widget"
EMBED_DIR = ROOT / "embed"


def _settings():
    return current_app.config["KAIROS"]


def _origin(url: str) -> str:
    parsed = urlparse(url)
    return f"{parsed.scheme}://{parsed.netloc}"


def _widget_csp(frame_ancestors: str) -> str:
    stripe_origin = _origin(_settings().stripe_js_url)
    # Stripe.js talks to its API and opens 3-D Secure frames on other Stripe hosts.
    stripe_extra = " https://api.stripe.com https://hooks.stripe.com" if "stripe.com" in stripe_origin else ""
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' {stripe_origin}",
        f"frame-src {stripe_origin}{stripe_extra}",
        f"connect-src 'self' {stripe_origin}{stripe_extra}",
        "style-src 'self'",
        "img-src 'self' data: https:",
        "base-uri 'none'",
        "form-action 'self'",
        f"frame-ancestors {frame_ancestors}",
    ])


def compress(response: Response) -> Response:
    """Compress text answers for clients that accept it (the widget's size budget counts bytes on the wire)."""
    if (response.status_code != 200 or response.direct_passthrough
            or "gzip" not in request.headers.get("Accept-Encoding", "")
            or response.headers.get("Content-Encoding")):
        return response
    data = response.get_data()
    if len(data) < 512:
        return response
    response.set_data(gzip.compress(data, 6))
    response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding"
    return response


@lru_cache(maxsize=64)
def _read(path: Path) -> bytes:
    return path.read_bytes()


@lru_cache(maxsize=64)
def _gzipped(path: Path) -> bytes:
    """A file's gzip, made once per process: the widget's first screen asks for some twenty files."""
    return gzip.compress(_read(path), 6)


def _static(directory: Path, filename: str, mimetype: str | None = None, max_age: int = 300,
            immutable: bool = False) -> Response:
    path = (directory / filename).resolve()
    if directory.resolve() not in path.parents or not path.is_file():
        abort(404)
    data = path.read_bytes() if current_app.debug else _read(path)
    response = Response(data, mimetype=mimetype or _mimetype(path))
    response.headers["Cache-Control"] = f"public, max-age={max_age}" + (", immutable" if immutable else "")
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if not current_app.debug and len(data) >= 512 and "gzip" in request.headers.get("Accept-Encoding", ""):
        response.set_data(_gzipped(path))  # what compress() would make, without making it again
        response.headers["Content-Encoding"] = "gzip"
        response.headers["Vary"] = "Accept-Encoding"
    else:
        response = compress(response)
    # A validator, so a browser whose five minutes are over gets 304, not the file again; each
    # encoding is its own representation.
    gzipped = response.headers.get("Content-Encoding") == "gzip"
    response.set_etag(_etag(data) + ("-gz" if gzipped else ""))
    response.make_conditional(request)  # 304 with no body when the browser's copy is this one
    return response


@lru_cache(maxsize=128)
def _etag(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _mimetype(path: Path) -> str:
    return {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".html": "text/html",
            ".json": "application/json", ".png": "image/png"}.get(path.suffix, "application/octet-stream")


@bp.get("/embed.js")
def embed_js() -> Response:
    return _static(EMBED_DIR, "embed.js", max_age=300)


@bp.get("/widget-assets/<path:filename>")
def widget_asset(filename: str) -> Response:
    return _static(WIDGET_DIR, filename, max_age=300)


@bp.get("/assets/<version>/<path:filename>")
def versioned_asset(version: str, filename: str) -> Response:
    """A widget file under its version (backend/assets.py): kept for a year. A page older than the last
    deploy may still ask for one of its lazily loaded steps: it gets today's file, cached briefly."""
    if version == assets.version():
        return _static(WIDGET_DIR, filename, max_age=assets.IMMUTABLE_MAX_AGE, immutable=True)
    return _static(WIDGET_DIR, filename, max_age=300)


def _render_widget(template: str, config: dict, frame_ancestors: str, data: Markup | None = None,
                   preload: tuple[str, ...] = ()) -> Response:
    response = Response(render_template(template, config=config, data=data, preload=preload), mimetype="text/html")
    response.headers["Content-Security-Policy"] = _widget_csp(frame_ancestors)
    response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return compress(response)


def _stripe_config() -> dict | None:
    settings = _settings()
    if not settings.stripe_publishable_key:
        return None
    return {"publishable_key": settings.stripe_publishable_key, "js_url": settings.stripe_js_url}


def _flow(expert: str, service: str | None, mode: str) -> Response:
    found = experts.get_expert(db.session(), expert)
    if service is not None:
        experts.get_service(db.session(), found, service)
    # The expert decides which sites may frame their widget; empty means any.
    # The booking host itself may always frame it: the dashboard previews the widget.
    ancestors = " ".join([*found.allowed_origins, "'self'"]) if found.allowed_origins else "*"
    config = {"api": "/api/v1", "expert": found.slug, "service": service, "mode": mode, "stripe": _stripe_config()}
    # The first screen's modules, read from their imports (backend/widget_modules.py), fetched at once.
    return _render_widget("index.html", config, ancestors if mode == "embed" else "'none'",
                          data=first_answers.block(db.session(), found, service, request.args),
                          preload=first_screen("time" if service else "services"))


@bp.get("/widget/<expert>")
@bp.get("/widget/<expert>/<service>")
def widget(expert: str, service: str | None = None) -> Response:
    return _flow(expert, service, "embed")


@bp.get("/book/<expert>")
@bp.get("/book/<expert>/<service>")
def book(expert: str, service: str | None = None) -> Response:
    return _flow(expert, service, "page")


@bp.get("/manage/<token>")
def manage(token: str) -> Response:
    mode = "embed" if request.args.get("origin") else "page"
    # Stripe.js for completing a session the expert set up, paid by card on this page.
    return _render_widget("manage.html", {"api": "/api/v1", "token": token, "mode": mode,
                                          "stripe": _stripe_config()}, "*")


@bp.get("/")
def index() -> ResponseReturnValue:  # redirect() gives a werkzeug Response
    return redirect("/demo")


@bp.get("/demo")
def demo() -> Response:
    """A host page that embeds the demo expert the way an expert would."""
    return Response(render_template("demo.html", base_url=_settings().base_url), mimetype="text/html")
