"""Rotating KAIROS_SECRET_KEY: the old key moves to KAIROS_SECRET_KEY_PREVIOUS and nothing a client
or an expert holds stops working: manage links (also when rebuilt for a reminder), calendar feeds
and dashboard sessions. Without the previous key, what it signed is refused."""
from __future__ import annotations

import pytest

from backend.app import create_app
from tests.conftest import base_env, next_weekday
from tests.test_booking_api import book, slots_for

OLD, NEW = "old-secret-key-0123456789", "new-secret-key-9876543210"


def _app(tmp_path, database_url: str, **extra: str):
    app = create_app(base_env(tmp_path, database_url, **{"KAIROS_SECRET_KEY": NEW, **extra}))
    app.config["TESTING"] = True
    return app


def test_links_feeds_and_sessions_survive_a_rotation(app, client, expert, database_url, tmp_path):
    # Before: everything is signed with the key of the `app` fixture.
    before = app.config["KAIROS"].secret_key
    booking = book(client, slots_for(client, next_weekday(2))[0]["start"]).get_json()["booking"]
    feed_url = client.get("/api/v1/admin/calendar-feed", headers=expert["headers"]).get_json()["url"]
    feed_path = feed_url.split("kairos.test", 1)[1]
    manage_path = booking["manage_url"].split("kairos.test", 1)[1]

    rotated = _app(tmp_path / "rotated", database_url, KAIROS_SECRET_KEY_PREVIOUS=before)
    c = rotated.test_client()
    assert c.get(f"/api/v1/manage/{manage_path.rsplit('/', 1)[1]}").status_code == 200
    assert c.get(feed_path).status_code == 200
    # A link rebuilt now (a reminder, a re-sent email) is the one the client already has.
    from backend.extensions import db
    from backend.links import app_links
    from backend.models import Booking
    with rotated.app_context():
        rebuilt = app_links().manage_url(db.session.get(Booking, booking["id"]))
    assert rebuilt == booking["manage_url"]

    forgotten = _app(tmp_path / "forgotten", database_url).test_client()
    assert forgotten.get(feed_path).status_code == 404  # the feed was only ever signed with the old key
    with forgotten.application.app_context():
        assert app_links().manage_url(db.session.get(Booking, booking["id"])) != booking["manage_url"]


def test_a_dashboard_session_survives_a_rotation(app, client, expert, database_url, tmp_path):
    from werkzeug.security import generate_password_hash

    from backend.extensions import db
    from backend.models import Expert
    with app.app_context():
        db.session.get(Expert, 1).password_hash = generate_password_hash("a-long-password")
        db.session.commit()
    login = client.get("/dashboard/login").get_data(as_text=True)
    csrf = login.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert client.post("/dashboard/login", data={"csrf_token": csrf, "email": "jane@example.com",
                                                 "password": "a-long-password"}).status_code == 302
    cookie = client.get_cookie("kairos_dashboard", path="/dashboard")
    assert cookie is not None

    def dashboard_with(app_) -> int:
        c = app_.test_client()
        c.set_cookie("kairos_dashboard", cookie.value, path="/dashboard")
        return c.get("/dashboard").status_code

    before = app.config["KAIROS"].secret_key
    assert dashboard_with(_app(tmp_path / "r", database_url, KAIROS_SECRET_KEY_PREVIOUS=before)) == 200
    assert dashboard_with(_app(tmp_path / "f", database_url)) == 302  # signed out: back to the login page


def test_a_short_previous_key_stops_the_start(tmp_path):
    from backend.config import ConfigError, Settings
    with pytest.raises(ConfigError, match="KAIROS_SECRET_KEY_PREVIOUS"):
        Settings.from_env(base_env(tmp_path, "sqlite://", KAIROS_SECRET_KEY_PREVIOUS="short"))
