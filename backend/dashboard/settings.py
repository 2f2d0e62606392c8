"""Settings: the profile (through ``ProfileSchema`` and ``experts.update_profile``, as PATCH
/admin/profile), the password, signing out everywhere, and webhooks and API tokens (created with
their secret shown once, listed, revoked), each through the services the expert API uses."""
from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

from flask import current_app, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue

from backend.dashboard import auth
from backend.dashboard.common import Form, act, load, page, posted, save
from backend.dashboard.forms import FormInvalid
from backend.dashboard.removal import Removal
from backend.dashboard.routes import bp
from backend.errors import ValidationError
from backend.extensions import db
from backend.models import Availability
from backend.notifications.webhooks import EVENT_TYPES
from backend.schemas import ProfileSchema, patch_schema
from backend.schemas.notifications import WebhookCreate
from backend.services import credentials, experts

PROFILE_FIELDS = ("name", "bio", "avatar_url", "timezone", "brand_color", "notification_email",
                  "allowed_origins", "locale")
LANGUAGES = (("en", "English"), ("fr", "Français"))


@cache
def zone_names() -> list[str]:
    """Every IANA zone zoneinfo knows, sorted: the time zone field's searchable list (the schema checks the same set)."""
    return sorted(available_timezones())


def profile_form(expert) -> Form:
    """The profile as the form shows it (allowed sites one per line)."""
    return Form(values={
        "name": expert.name, "bio": expert.bio or "", "avatar_url": expert.avatar_url or "",
        "timezone": expert.timezone, "brand_color": expert.brand_color or "",
        "notification_email": expert.notification_email or "", "locale": expert.locale or "en",
        "allowed_origins": "\n".join(expert.allowed_origins or []),
    })


def profile_input(values: dict[str, str]) -> dict:
    """The PATCH body for these form values: empty optional fields are null, sites one per line."""
    return {
        "name": values["name"], "bio": values["bio"], "avatar_url": values["avatar_url"] or None,
        "timezone": values["timezone"], "brand_color": values["brand_color"] or None,
        "notification_email": values["notification_email"] or None, "locale": values["locale"] or "en",
        "allowed_origins": [line.strip() for line in values["allowed_origins"].splitlines() if line.strip()],
    }


def _settings_page(profile: Form | None = None, password: Form | None = None, everywhere: Form | None = None,
                   status: int = 200) -> ResponseReturnValue:
    expert = auth.current_expert()
    return page("dashboard/settings.html", "dashboard.settings", status,
                profile=profile or profile_form(expert), password=password or Form(),
                everywhere=everywhere or Form(), zones=zone_names(), languages=LANGUAGES)


@bp.get("/settings")
@auth.login_required
def settings() -> ResponseReturnValue:
    """The profile, password and sign-in settings."""
    return _settings_page()


@bp.post("/settings/profile")
@auth.login_required
def save_profile() -> ResponseReturnValue:
    """Save the profile; a new time zone moves the weekly hours with it (same wall times, new zone)."""
    expert = auth.current_expert()
    form = Form(values=posted(PROFILE_FIELDS))

    def change() -> None:
        data = load(patch_schema(ProfileSchema), profile_input(form.values))
        moved = data.get("timezone") not in (None, expert.timezone)
        experts.update_profile(expert, data)
        av = db.session().get(Availability, expert.id)
        if moved and av is not None:
            experts.set_availability(db.session(), expert,
                                     {**experts.availability_view(av), "timezone": expert.timezone})

    if save(form, change) is None and form.errors:
        return _settings_page(profile=form, status=422)
    flash("Profile saved.", "success")
    return redirect(url_for("dashboard.settings"))


@bp.post("/settings/password")
@auth.login_required
def change_password() -> ResponseReturnValue:
    """A new password (typed twice), after the current one; every other browser is signed out."""
    expert = auth.current_expert()
    form = Form(values={})
    current, new, again = (request.form.get(k, "")[:1024] for k in ("current_password", "new_password", "new_password_again"))

    def change() -> None:
        if new != again:
            raise FormInvalid(fields={"new_password_again": ["The two new passwords differ. Type the same one twice."]})
        try:
            credentials.change_password(expert, current, new)
        except ValidationError as error:  # the password rule's "password" is this form's new password
            if "password" in error.fields:
                raise FormInvalid(fields={"new_password": error.fields["password"]}) from None
            raise

    if save(form, change) is None and form.errors:
        return _settings_page(password=form, status=422)
    auth.sign_in(expert)  # this browser stays signed in with the new fingerprint
    flash("Password changed. Every other browser is signed out.", "success")
    return redirect(url_for("dashboard.settings"))


@bp.post("/settings/sign-out-everywhere")
@auth.login_required
def sign_out_everywhere() -> ResponseReturnValue:
    """End every session, this one included, after the password is confirmed."""
    expert = auth.current_expert()
    form = Form()
    if save(form, lambda: credentials.sign_out_everywhere(expert, request.form.get("password", "")[:1024])) is None \
            and form.errors:
        form.errors = {"password": form.errors.get("current_password", "That is not your password.")}
        return _settings_page(everywhere=form, status=422)
    auth.sign_out()
    flash("You are signed out of every browser, this one included.", "info")
    return redirect(url_for("dashboard.login"))


# --- webhooks and API tokens ---------------------------------------------------------------------

def _integrations_page(webhook: Form | None = None, token: Form | None = None, *, secret: str | None = None,
                       new_token: str | None = None, status: int = 200) -> ResponseReturnValue:
    expert = auth.current_expert()
    return page("dashboard/integrations.html", "dashboard.settings", status,
                webhooks=credentials.list_webhooks(db.session(), expert),
                tokens=credentials.list_tokens(db.session(), expert), event_types=EVENT_TYPES,
                webhook=webhook or Form(values={"events": list(EVENT_TYPES)}), token=token or Form(),
                secret=secret, new_token=new_token)


@bp.get("/settings/integrations")
@auth.login_required
def integrations() -> ResponseReturnValue:
    """Webhooks and API tokens, for experts who connect other tools."""
    return _integrations_page()


@bp.post("/settings/webhooks")
@auth.login_required
def add_webhook() -> ResponseReturnValue:
    """Subscribe a URL; the answer shows its signing secret, once."""
    expert = auth.current_expert()
    events = [e for e in request.form.getlist("events") if e][:20]
    form = Form(values={"url": request.form.get("url", "").strip()[:2000], "events": events})
    endpoint = save(form, lambda: credentials.add_webhook(
        db.session(), expert, **load(WebhookCreate(), {"url": form.values["url"], "events": events}),
        allow_private=current_app.config["KAIROS"].webhook_allow_private))
    if endpoint is None:
        return _integrations_page(webhook=form, status=422)
    return _integrations_page(secret=endpoint.secret)


@bp.post("/settings/webhooks/<endpoint_id>/delete")
@auth.login_required
def remove_webhook(endpoint_id: str) -> ResponseReturnValue:
    """Stop sending to one of the expert's webhook addresses."""
    expert = auth.current_expert()
    return act(lambda: credentials.remove_webhook(db.session(), expert, endpoint_id), "Webhook removed.",
               url_for("dashboard.integrations"))


@bp.post("/settings/tokens")
@auth.login_required
def add_token() -> ResponseReturnValue:
    """A new API token, shown once."""
    expert = auth.current_expert()
    label = request.form.get("label", "").strip()
    form = Form(values={"label": label[:200]})
    if not label or len(label) > 100:
        form.errors = {"label": "Name the token (up to 100 characters), e.g. the tool that will use it."}
        return _integrations_page(token=form, status=422)
    token = save(form, lambda: credentials.create_token(db.session(), expert, label))
    return _integrations_page(new_token=token)


def _token_removal(token_id: int, label: str | None = None) -> Removal:
    """Revoking token ``token_id``; ``label`` names it in the question. The revoke itself needs no
    label, so it does not look the token up first: one already revoked (a second click) is said so
    beside the list, as a refused removal is, rather than a 404."""
    return Removal(section="dashboard.settings", title=f"Revoke the API token “{label or 'Unnamed'}”?",
                   explanation="Scripts and tools using it are refused from the moment you revoke it. "
                               "This cannot be undone: to reconnect them, create a new token.",
                   button="Revoke token", action=url_for("dashboard.revoke_token", token_id=token_id),
                   back=url_for("dashboard.integrations"), back_label="Back to webhooks and API tokens",
                   done="API token revoked: scripts using it are refused from now on.")


@bp.get("/settings/tokens/<id:token_id>/delete")
@auth.login_required
def revoke_token_form(token_id: int) -> ResponseReturnValue:
    """Ask before revoking an API token: the scripts using it stop working at once."""
    token = credentials.get_token(db.session(), auth.current_expert(), token_id)
    return _token_removal(token.id, token.label).ask()


@bp.post("/settings/tokens/<id:token_id>/delete")
@auth.login_required
def revoke_token(token_id: int) -> ResponseReturnValue:
    """Revoke one of the expert's API tokens."""
    expert = auth.current_expert()
    return _token_removal(token_id).confirmed(lambda: credentials.revoke_token(db.session(), expert, token_id))
