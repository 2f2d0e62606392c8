"""Every error has the envelope; the OpenAPI document and the operational basics work."""
from __future__ import annotations

import json

import pytest


def test_404_405_and_bad_json_use_the_envelope(client, expert):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    response = client.delete("/api/v1/experts/jane")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"
    response = client.post("/api/v1/experts/jane/services/intro-call/bookings", data="{not json",
                           content_type="application/json")
    assert response.status_code in (400, 422)
    assert set(response.get_json()["error"]) >= {"code", "message", "fields"}


def test_a_crash_is_a_500_envelope_without_details(app, client):
    @app.get("/boom")
    def boom():
        raise RuntimeError("SELECT secret FROM table")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get("/boom")
    assert response.status_code == 500
    body = response.get_json()
    assert body["error"]["code"] == "internal_error"
    assert "SELECT" not in json.dumps(body) and "Traceback" not in response.get_data(as_text=True)


def test_openapi_document_is_published_from_the_schemas(client):
    doc = client.get("/api/openapi.json").get_json()
    assert doc["info"]["title"] == "Kairos"
    paths = doc["paths"]
    assert "/api/v1/experts/{expert}/services/{service}/bookings" in paths
    assert "/api/v1/admin/availability" in paths
    schemas = doc["components"]["schemas"]
    assert "BookingCreate" in schemas and "client" in schemas["BookingCreate"]["properties"]


def test_request_id_is_returned(client):
    response = client.get("/api/v1/experts/nobody", headers={"X-Request-ID": "abc123"})
    assert response.headers["X-Request-ID"] == "abc123"
    assert client.get("/api/openapi.json").headers["X-Request-ID"]


def test_bad_settings_name_the_setting(tmp_path):
    from backend.config import ConfigError, Settings
    defaults = Settings.from_env({"KAIROS_INSTANCE_DIR": str(tmp_path)})
    assert (defaults.outbox_retry_seconds, defaults.outbox_lease_seconds) == (60, 300)
    for env, name in [
        ({"KAIROS_DATABASE_URL": "mysql://x"}, "KAIROS_DATABASE_URL"),
        ({"KAIROS_BASE_URL": "not a url"}, "KAIROS_BASE_URL"),
        ({"KAIROS_SMTP_URL": "http://mail"}, "KAIROS_SMTP_URL"),
        ({"KAIROS_SECRET_KEY": "short"}, "KAIROS_SECRET_KEY"),
        ({"KAIROS_STRIPE_SECRET_KEY": "sk_test_x"}, "KAIROS_STRIPE_WEBHOOK_SECRET"),
        ({"KAIROS_RATE_LIMITS": "booking=lots"}, "KAIROS_RATE_LIMITS"),
        ({"KAIROS_OUTBOX_IN_PROCESS": "yes"}, "KAIROS_OUTBOX_IN_PROCESS"),
        ({"KAIROS_WEBHOOK_ALLOW_PRIVATE": "true"}, "KAIROS_WEBHOOK_ALLOW_PRIVATE"),
        ({"KAIROS_OUTBOX_RETRY_SECONDS": "0"}, "KAIROS_OUTBOX_RETRY_SECONDS"),
        ({"KAIROS_OUTBOX_LEASE_SECONDS": "5m"}, "KAIROS_OUTBOX_LEASE_SECONDS"),
    ]:
        with pytest.raises(ConfigError, match=name):
            Settings.from_env({"KAIROS_INSTANCE_DIR": str(tmp_path), **env})


def test_widget_pages_and_embed_are_served(client, expert):
    response = client.get("/widget/jane/intro-call")
    assert response.status_code == 200
    assert "frame-ancestors *" in response.headers["Content-Security-Policy"]
    assert client.get("/widget/nobody").status_code == 404
    assert client.get("/embed.js").status_code == 200
    assert client.get("/demo").status_code == 200


def test_allowed_origins_limit_who_may_frame_the_widget(client, expert):
    response = client.patch("/api/v1/admin/profile", headers=expert["headers"],
                            json={"allowed_origins": ["https://jane.example.com"]})
    assert response.status_code == 200
    csp = client.get("/widget/jane").headers["Content-Security-Policy"]
    assert "frame-ancestors https://jane.example.com 'self'" in csp  # 'self': the dashboard's preview


def test_text_with_a_nul_character_is_refused_before_it_reaches_the_database(client, expert):
    """PostgreSQL cannot store NUL in text; it used to be a 500 from inside a query."""
    h = expert["headers"]
    bad = client.patch("/api/v1/admin/profile", headers=h, json={"bio": "a\u0000b", "name": "Jane"})
    assert bad.status_code == 422
    assert bad.get_json()["error"]["fields"] == {"bio": ["Text cannot contain the NUL character."]}
    nested = client.post("/api/v1/admin/services", headers=h, json={
        "slug": "x", "name": "X", "duration_minutes": 30, "questions": [{"label": "ok"}, {"label": "b\u0000"}]})
    assert nested.status_code == 422 and "questions.1.label" in nested.get_json()["error"]["fields"]
    assert client.get("/api/v1/experts/ja%00ne").status_code == 404
    query = client.get("/api/v1/experts/jane/services/intro/slots?start=2030-01-01&end=2030-01-02&timezone=UTC%00")
    assert query.status_code == 422 and "timezone" in query.get_json()["error"]["fields"]
    assert client.get("/api/v1/admin/profile", headers=h).get_json()["bio"] != "a\u0000b"
    form = client.post("/dashboard/login", data={"email": "jane@example.com\u0000", "password": "x"})
    assert form.status_code == 422 and "email" in form.get_json()["error"]["fields"]


def test_a_browser_on_a_broken_page_link_gets_a_page_and_the_api_keeps_the_envelope(client, expert):
    """A client following a mistyped booking link on a phone sees a sentence, not raw JSON."""
    html = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    for path in ("/book/nobody", "/widget/jane/no-such-service", "/no/such/page"):
        page = client.get(path, headers=html)
        assert page.status_code == 404 and page.mimetype == "text/html", path
        text = page.get_data(as_text=True)
        assert "This page isn’t here" in text and "<script" not in text
    # Expert-given text is escaped, never markup.
    page = client.get("/book/%3Cimg%20src=x%3E", headers=html)
    assert "<img" not in page.get_data(as_text=True)
    # The API answers JSON whatever the browser asks for; scripts asking for JSON get JSON everywhere.
    api = client.get("/api/v1/experts/nobody", headers=html)
    assert api.status_code == 404 and api.get_json()["error"]["code"] == "not_found"
    assert client.get("/book/nobody").get_json()["error"]["code"] == "not_found"


def test_healthz_reports_the_database_the_schema_and_the_outbox(app, client, expert):
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["migrations"] == "current"
    assert body["outbox"] == {"due": 0, "parked": 0, "oldest_due_seconds": 0, "pending": 0, "retrying": 0,
                              "oldest_pending_seconds": 0}
    # A stopped worker shows as a backlog: messages due for a while, and parked ones.
    from datetime import timedelta

    from backend.extensions import db
    from backend.outbox import enqueue
    from backend.types import utcnow
    with app.app_context():
        due = enqueue(db.session, "email", "booking_confirmed", {}, expert_id=None)
        parked = enqueue(db.session, "email", "booking_confirmed", {}, expert_id=None)
        db.session.flush()
        due.next_attempt_at = utcnow() - timedelta(minutes=5)
        parked.status = "parked"
        db.session.commit()
    outbox = client.get("/healthz").get_json()["outbox"]
    assert outbox["due"] == 1 and outbox["parked"] == 1 and 290 <= outbox["oldest_due_seconds"] <= 400
    assert outbox["pending"] == 1 and outbox["retrying"] == 0  # never tried yet: nothing failed
    # A mail server that is down: a message written ten minutes ago failed and waits for its next try.
    with app.app_context():
        failing = enqueue(db.session, "email", "booking_reminder", {}, expert_id=None)
        db.session.flush()
        failing.created_at = utcnow() - timedelta(minutes=10)
        failing.next_attempt_at = utcnow() + timedelta(minutes=5)
        failing.attempts, failing.last_error = 1, "SMTP refused"
        db.session.commit()
    outbox = client.get("/healthz").get_json()["outbox"]
    assert (outbox["due"], outbox["parked"], outbox["pending"], outbox["retrying"]) == (1, 1, 2, 1)
    assert 290 <= outbox["oldest_due_seconds"] <= 400 and 590 <= outbox["oldest_pending_seconds"] <= 700
    # A deploy that forgot `kairos migrate` is not ready, and says what to do.
    from sqlalchemy import text

    from backend.extensions import db
    with app.app_context():
        head = db.session.scalar(text("SELECT version_num FROM alembic_version"))
        db.session.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        db.session.commit()
    try:
        behind = client.get("/healthz")
        assert behind.status_code == 503
        assert "run kairos migrate" in behind.get_json()["migrations"]
    finally:
        # On PostgreSQL the database is this test process's, reused (truncated) by the next tests: left
        # at 0001, every later /healthz of this process says "run kairos migrate" and omits its counts.
        with app.app_context():
            db.session.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head})
            db.session.commit()


def test_healthz_is_503_when_the_database_is_unreachable(tmp_path):
    from backend.app import create_app
    from tests.conftest import base_env
    app = create_app(base_env(tmp_path, "postgresql+psycopg://nobody@127.0.0.1:9/nowhere"))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable"
    assert response.get_json()["database"].startswith("unreachable")


def test_an_unreachable_database_is_a_503_that_says_try_again(tmp_path):
    """A client opening a booking page while the database is away is told to try again, not shown a crash
    (tests/test_fault_database.py restarts a real one under load)."""
    from backend import create_app
    from tests.conftest import base_env
    client = create_app(base_env(tmp_path, "postgresql+psycopg://nobody@127.0.0.1:9/nowhere")).test_client()
    response = client.get("/api/v1/experts/jane")
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    error = response.get_json()["error"]
    assert error["code"] == "service_unavailable" and "try again" in error["message"] and error["fields"] == {}
    page = client.get("/book/jane", headers={"Accept": "text/html"})
    assert page.status_code == 503 and page.mimetype == "text/html" and page.headers["Retry-After"] == "5"
    assert "try again" in page.get_data(as_text=True) and "psycopg" not in page.get_data(as_text=True)


def test_a_connection_the_database_cuts_at_the_end_of_a_request_keeps_the_answer(app, client, database_url):
    """A restart between a request's last query and its end: the answer stands and the next request on
    the same thread works (the session's closing rollback used to raise from the teardown: a bare 500)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("cutting one server connection is PostgreSQL's pg_terminate_backend")
    import psycopg  # only where PostgreSQL runs
    from sqlalchemy import text

    from backend.extensions import db

    @app.get("/cut-after-reading")
    def cut_after_reading():
        pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
        with psycopg.connect(database_url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", (pid,))
        return {"read": True}

    app.config["PROPAGATE_EXCEPTIONS"] = False
    for _ in range(2):
        response = client.get("/cut-after-reading")
        assert response.status_code == 200 and response.get_json() == {"read": True}
        after = client.get("/api/v1/experts/nobody")  # a query on the thread's next session
        assert after.status_code == 404 and after.get_json()["error"]["code"] == "not_found"
