"""Embed & links: the snippet for inline, popup and floating modes and the direct link, for the
whole booking page and for each service, with its options (colour, theme, button text, prefill),
and a live preview that is a page holding exactly that snippet.

Snippets are built here from checked options, every attribute and script value escaped, so what an
expert copies is also what the preview runs.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

from flask import current_app, g, render_template, request
from flask.typing import ResponseReturnValue
from markupsafe import escape

from backend.dashboard import auth
from backend.dashboard.common import Form, page
from backend.dashboard.routes import RESERVED_BOX, bp
from backend.extensions import db
from backend.models import Collection, Expert, Service
from backend.services import catalog, collections

MODES = (("inline", "Inline"), ("popup", "Popup button"), ("floating", "Floating button"))
THEMES = (("", "Light"), ("dark", "Dark"), ("auto", "Follow the visitor’s device"))
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class EmbedOptions:
    """What the expert chose on the Embed page (already checked)."""

    service: Service | None
    mode: str = "inline"
    color: str = ""
    theme: str = ""
    label: str = ""
    name: str = ""
    email: str = ""

    @property
    def button_text(self) -> str:
        """The popup and floating buttons' text: the expert's, or “Book <service>”."""
        return self.label or ("Book " + self.service.name if self.service else "Book a session")


def options_from(args, expert: Expert) -> tuple[EmbedOptions, Form]:
    """The options of the query string, and the form to show them again (a wrong value is left out,
    with its message beside the field)."""
    values = {k: str(args.get(k, "")).strip()[:320] for k in ("service", "mode", "color", "theme", "label", "name", "email")}
    form = Form(values=values)
    service = next((s for s in catalog.live_services(expert) if s.slug == values["service"]), None)
    if values["service"] and service is None:
        form.errors["service"] = "That service no longer exists; showing your whole booking page."
    if values["color"] and not COLOUR.match(values["color"]):
        form.errors["color"] = "Use a colour like #2f5d8a."
    if len(values["label"]) > 60:
        form.errors["label"] = "Keep the button text under 60 characters."
    if values["email"] and ("@" not in values["email"] or " " in values["email"]):
        form.errors["email"] = "Enter an email like ann@example.com, or leave it empty."
    options = EmbedOptions(
        service=service, mode=values["mode"] if values["mode"] in dict(MODES) else "inline",
        color=values["color"] if "color" not in form.errors else "",
        theme=values["theme"] if values["theme"] in dict(THEMES) else "",
        label=values["label"] if "label" not in form.errors else "",
        name=values["name"][:200], email=values["email"] if "email" not in form.errors else "")
    return options, form


def direct_link(base_url: str, expert: Expert, options: EmbedOptions) -> str:
    """The whole-page booking link (``/book/{expert}[/{service}]``) with the chosen theme and prefill."""
    path = f"{base_url}/book/{expert.slug}" + (f"/{options.service.slug}" if options.service else "")
    query = {k: v for k, v in (("color", options.color), ("theme", options.theme), ("name", options.name),
                               ("email", options.email)) if v}
    return path + ("?" + urlencode(query) if query else "")


def _data_attributes(options: EmbedOptions) -> str:
    pairs = [("color", options.color), ("theme", options.theme), ("name", options.name), ("email", options.email)]
    return "".join(f' data-kairos-{k}="{escape(v)}"' for k, v in pairs if v)


def snippet(base_url: str, expert: Expert, options: EmbedOptions, mode: str, nonce: str | None = None) -> str:
    """The HTML to paste for ``mode``; ``nonce`` marks the inline script for the preview page's CSP."""
    loader = f'<script src="{escape(base_url)}/embed.js" async></script>'
    service = options.service.slug if options.service else None
    if mode == "inline":
        attrs = f' data-kairos-service="{escape(service)}"' if service else ""
        return (f'<div data-kairos-expert="{escape(expert.slug)}"{attrs}{_data_attributes(options)}'
                f' style="{RESERVED_BOX}"></div>\n{loader}')
    if mode == "popup":
        target = expert.slug + (f"/{service}" if service else "")
        return (f'<a href="{escape(direct_link(base_url, expert, options))}" data-kairos-popup="{escape(target)}"'
                f'{_data_attributes(options)}>{escape(options.button_text)}</a>\n{loader}')
    call = {"expert": expert.slug, "label": options.button_text}
    if service:
        call["service"] = service
    call.update({k: v for k, v in (("color", options.color), ("theme", options.theme), ("name", options.name),
                                   ("email", options.email)) if v})
    # json.dumps gives a JavaScript literal; "<" is escaped so no value can close the script element.
    literal = json.dumps(call, ensure_ascii=False).replace("<", "\\u003c")
    opening = f'<script nonce="{nonce}">' if nonce else "<script>"
    return (f"{opening}\n  window.Kairos = window.Kairos || function () {{ (Kairos.q = Kairos.q || []).push(arguments); }};\n"
            f"  Kairos('floating', {literal});\n</script>\n{loader}")


_BOX_HASH = "sha256-" + base64.b64encode(hashlib.sha256(RESERVED_BOX.encode()).digest()).decode()


@dataclass(frozen=True)
class CollectionCode:
    """What to paste or share for one collection (API.md, "Collections": embedding)."""

    collection: Collection
    snippet: str
    link: str


def collection_code(base_url: str, expert: Expert, found: Collection) -> CollectionCode:
    """The inline snippet (``data-kairos-collection`` beside the expert) and the whole-page link of a collection."""
    loader = f'<script src="{escape(base_url)}/embed.js" async></script>'
    return CollectionCode(
        found,
        f'<div data-kairos-expert="{escape(expert.slug)}" data-kairos-collection="{escape(found.slug)}"'
        f' style="{RESERVED_BOX}"></div>\n{loader}',
        f"{base_url}/book/{expert.slug}?{urlencode({'collection': found.slug})}")


def _base_url() -> str:
    return current_app.config["KAIROS"].base_url


@bp.get("/embed")
@auth.login_required
def embed() -> ResponseReturnValue:
    """Snippets and link for the chosen page or service and options, with their live preview."""
    expert = auth.current_expert()
    options, form = options_from(request.args, expert)
    form.values["mode"] = options.mode  # no choice in the address (a plain link here): inline, ticked
    base_url = _base_url()
    query = {k: v for k, v in form.values.items() if v and k not in form.errors}
    query["mode"] = options.mode
    return page("dashboard/embed.html", "dashboard.embed", form=form, options=options,
                service_choices=[("", "Your whole booking page (clients pick a service)"),
                                 *((s.slug, s.name) for s in catalog.live_services(expert))],
                modes=MODES, themes=THEMES,
                snippets={mode: snippet(base_url, expert, options, mode) for mode, _ in MODES},
                link=direct_link(base_url, expert, options), preview_query=urlencode(query),
                collection_codes=[collection_code(base_url, expert, c)
                                  for c in collections.list_collections(db.session(), expert)])


@bp.get("/embed/preview")
@auth.login_required
def embed_preview() -> ResponseReturnValue:
    """A bare host page holding exactly the chosen snippet, framed by the Embed page as its preview."""
    expert = auth.current_expert()
    options, _ = options_from(request.args, expert)
    nonce = secrets.token_urlsafe(16)
    # This page alone may be framed (by the dashboard itself) and run the floating snippet's inline script.
    # ... and keep the inline snippet's reserved box: that one style attribute is allowed by its hash.
    g.dashboard_csp = "; ".join([
        "default-src 'self'", f"script-src 'self' 'nonce-{nonce}'", f"style-src 'self' 'unsafe-hashes' '{_BOX_HASH}'",
        "img-src 'self' data: https:",
        "frame-src 'self'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'self'"])
    return render_template("dashboard/embed_preview.html", expert=expert,
                           snippet=snippet(_base_url(), expert, options, options.mode, nonce=nonce), mode=options.mode)
