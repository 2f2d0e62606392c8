"""A real localstripe server for the payment tests, and a real HTTP server for the app.

No mock of the SDK: the app's ``stripe`` client talks to localstripe over HTTP, localstripe
sends Stripe-signed webhooks to the app over HTTP. Where a browser would act (Stripe.js
confirming a card, the 3-D Secure dialog), the helpers here make the very requests
localstripe's fake Stripe.js makes, with the publishable key.

One localstripe per test process (``--from-scratch``: it otherwise reloads a state file shared
by every instance); each test registers its own app server as the webhook endpoint.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.ports import free_port, wait_for_listener

SECRET_KEY = "sk_test_kairos_0123456789"
PUBLISHABLE_KEY = "pk_test_kairos_0123456789"
WEBHOOK_ID = "kairos"


def _request(method: str, url: str, *, json_body: Any = None, form: dict[str, str] | None = None,
             headers: dict[str, str] | None = None, timeout: float = 15) -> tuple[int, Any]:
    data = None
    headers = dict(headers or {})
    if json_body is not None:
        data = json.dumps(json_body).encode()
        headers["Content-Type"] = "application/json"
    elif form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        raw, status = error.read(), error.code
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


@dataclass
class LocalStripe:
    """A running localstripe and the browser-side calls of its fake Stripe.js."""

    url: str
    proc: subprocess.Popen
    log_path: Path

    # --- configuration ------------------------------------------------------

    def register_webhook(self, url: str, secret: str, webhook_id: str = WEBHOOK_ID) -> None:
        status, body = _request("POST", f"{self.url}/_config/webhooks/{webhook_id}",
                                form={"url": url, "secret": secret})
        assert status == 200, (status, body)

    def app_env(self, webhook_secret: str) -> dict[str, str]:
        return {"KAIROS_STRIPE_SECRET_KEY": SECRET_KEY, "KAIROS_STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
                "KAIROS_STRIPE_WEBHOOK_SECRET": webhook_secret, "KAIROS_STRIPE_API_BASE": self.url,
                "KAIROS_STRIPE_JS_URL": f"{self.url}/js.stripe.com/v3/"}

    # --- what the server side reads (secret key) ----------------------------

    def get(self, path: str) -> Any:
        status, body = _request("GET", f"{self.url}{path}", headers={"Authorization": f"Bearer {SECRET_KEY}"})
        assert status == 200, (status, body)
        return body

    # --- what Stripe.js does in the browser (publishable key) ---------------

    def confirm_card_setup(self, client_secret: str, number: str, *, authenticate: bool = True) -> tuple[int, Any]:
        """``stripe.confirmCardSetup(client_secret, {payment_method: {card}})`` with a test card number;
        for a 3-D Secure card, then clicks 'Complete authentication' (or 'Fail authentication')."""
        setup_id = client_secret.split("_secret_")[0]
        status, body = _request("POST", f"{self.url}/v1/setup_intents/{setup_id}/confirm", json_body={
            "key": PUBLISHABLE_KEY, "use_stripe_sdk": True, "client_secret": client_secret,
            "payment_method_data": {"type": "card", "card": {"number": number, "exp_month": "12", "exp_year": "2034",
                                                             "cvc": "123"},
                                    "billing_details": {"name": "Ann Lee"}}})
        if status == 200 and body.get("status") == "requires_action":
            action = "confirm" if authenticate else "cancel"
            status, body = _request("POST", f"{self.url}/v1/setup_intents/{setup_id}/{action}", json_body={
                "key": PUBLISHABLE_KEY, "use_stripe_sdk": True, "client_secret": client_secret})
        return status, body

    def confirm_card_payment(self, client_secret: str, *, success: bool = True) -> tuple[int, Any]:
        """``stripe.confirmCardPayment(client_secret)`` on an intent in requires_action: the 3-D Secure dialog."""
        intent_id = client_secret.split("_secret_")[0]
        return _request("POST", f"{self.url}/v1/payment_intents/{intent_id}/_authenticate"
                                f"?success={'true' if success else 'false'}",
                        json_body={"key": PUBLISHABLE_KEY, "client_secret": client_secret})


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory) -> Iterator[LocalStripe]:
    """localstripe on a free port for this test process."""
    exe = Path(sys.executable).parent / "localstripe"
    if not exe.exists():
        pytest.skip("localstripe is not installed (pip install localstripe)")
    port = free_port()
    log_path = tmp_path_factory.mktemp("localstripe") / "localstripe.log"
    log = open(log_path, "w")
    proc = subprocess.Popen([str(exe), "--port", str(port), "--from-scratch"], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:  # this localstripe holds the port, not another test's (tests/ports.py)
        wait_for_listener(proc, port, deadline_seconds=120)
    except (RuntimeError, TimeoutError) as error:
        proc.kill()
        log.close()
        raise RuntimeError(f"localstripe did not start ({error}): " + log_path.read_text()[-2000:]) from error
    deadline = time.monotonic() + 120  # a condition with a deadline: a busy machine only makes it later
    while True:
        try:
            urllib.request.urlopen(f"{url}/js.stripe.com/v3/", timeout=1).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                log.close()
                raise RuntimeError("localstripe did not start: " + log_path.read_text()[-2000:])
            time.sleep(0.1)
    yield LocalStripe(url, proc, log_path)
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@contextmanager
def serve(app) -> Iterator[str]:
    """The app on a real HTTP server in a thread (localstripe's webhooks need one)."""
    from werkzeug.serving import make_server
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


@dataclass
class StripeApp:
    """The app under test with its live URL, webhook secret and localstripe."""

    app: Any
    url: str
    webhook_secret: str
    stripe: LocalStripe
    extra: dict[str, Any] = field(default_factory=dict)

    def webhook_url(self) -> str:
        return f"{self.url}/api/v1/payments/stripe/webhook"

    def mute_webhooks(self) -> None:
        """Send localstripe's events nowhere (to test the widget's status check alone)."""
        self.stripe.register_webhook(f"http://127.0.0.1:{free_port()}/nowhere", self.webhook_secret)


@pytest.fixture
def stripe_app(database_url: str, tmp_path, localstripe: LocalStripe) -> Iterator[StripeApp]:
    """An app configured for localstripe, served over HTTP and registered as its webhook endpoint."""
    from backend.app import create_app
    from backend.extensions import db
    from tests.conftest import base_env
    secret = "whsec_" + secrets.token_hex(16)
    app = create_app(base_env(tmp_path, database_url, **localstripe.app_env(secret)))
    app.config["TESTING"] = True
    with serve(app) as url:
        localstripe.register_webhook(f"{url}/api/v1/payments/stripe/webhook", secret)
        yield StripeApp(app, url, secret, localstripe)
        localstripe.register_webhook(f"http://127.0.0.1:{free_port()}/gone", secret)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header for ``payload``, computed as Stripe (and localstripe) do."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1):
    """Poll until ``predicate()`` is truthy (webhooks arrive about a second after the event; a busy
    machine makes that later, never wrong, hence the generous deadline)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met within %.0fs" % timeout)
        time.sleep(interval)
