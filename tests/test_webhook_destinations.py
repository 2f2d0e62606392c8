"""Webhooks and server-side request forgery: only public internet addresses, unless KAIROS_WEBHOOK_ALLOW_PRIVATE=1.

Real sockets throughout: receivers on 127.0.0.1, name resolution through the system resolver, TLS
with a certificate made by openssl. These tests run with the default settings unless they say so.
"""
from __future__ import annotations

import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from backend.notifications.destinations import (
    DestinationRefused, PinnedHTTPConnection, PinnedHTTPSConnection, Resolved, address_refusal, host_refusal,
    is_public_address, parse_ip_literal, vetted_addresses,
)
from tests.conftest import next_weekday
from tests.test_booking_api import book, slots_for
from tests.test_notifications import app, drain, outbox, smtp, smtp_url  # noqa: F401  (fixtures)
from tests.test_webhooks import Receiver

ALLOW_PRIVATE = {"KAIROS_WEBHOOK_ALLOW_PRIVATE": "1"}


# --- the address classification ------------------------------------------------------------------

NOT_PUBLIC = [
    ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("::1", "loopback"),
    ("0.0.0.0", "unspecified"), ("::", "unspecified"),
    ("169.254.169.254", "link-local"), ("169.254.0.1", "link-local"), ("fe80::1", "link-local"),
    ("fe80::1%eth0", "link-local"),
    ("10.0.0.5", "private"), ("172.16.0.1", "private"), ("172.31.255.255", "private"), ("192.168.1.1", "private"),
    ("fc00::1", "private"), ("fd12:3456::1", "private"),
    # benchmarking, documentation and future-use ranges: Python versions name them differently, all refuse
    ("198.18.0.1", ""), ("192.0.2.1", ""), ("203.0.113.9", ""), ("2001:db8::1", ""), ("240.0.0.1", ""),
    ("255.255.255.255", ""),
    ("224.0.0.1", "multicast"), ("239.255.255.250", "multicast"), ("ff02::1", "multicast"),
    ("ff0e::1", "multicast"),
    ("fec0::1", "site-local"),
    ("100.64.0.1", "not a public"),  # carrier-grade NAT
    # IPv4 in IPv6 clothing is judged by the IPv4 address it reaches
    ("::ffff:127.0.0.1", "loopback"), ("::ffff:169.254.169.254", "link-local"), ("::ffff:10.0.0.5", "private"),
    ("::ffff:7f00:1", "loopback"), ("2002:7f00:1::", "loopback"), ("2002:a00:5::1", "private"),
    ("64:ff9b::a9fe:a9fe", "link-local"), ("64:ff9b::7f00:1", "loopback"),
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "93.184.216.34", "151.101.1.69", "2606:4700:4700::1111", "2a00:1450:4007:80f::200e",
          "::ffff:8.8.8.8", "2002:808:808::1", "64:ff9b::808:808", "172.32.0.1", "100.128.0.1", "11.0.0.1"]


@pytest.mark.parametrize("text, why", NOT_PUBLIC)
def test_non_public_addresses_are_refused_with_a_reason(text, why):
    address = ipaddress.ip_address(text)
    reason = address_refusal(address)
    assert reason is not None and why in reason
    assert not is_public_address(address)


@pytest.mark.parametrize("text", PUBLIC)
def test_public_addresses_pass(text):
    assert address_refusal(ipaddress.ip_address(text)) is None
    assert is_public_address(ipaddress.ip_address(text))


@pytest.mark.parametrize("host, expected", [
    ("127.0.0.1", "127.0.0.1"), ("[::1]", "::1"), ("::1", "::1"), ("169.254.169.254", "169.254.169.254"),
    # the shorthand forms getaddrinfo accepts are read as the address they are
    ("2130706433", "127.0.0.1"), ("0x7f000001", "127.0.0.1"), ("0x7f.1", "127.0.0.1"), ("127.1", "127.0.0.1"),
    ("017700000001", "127.0.0.1"), ("10.5", "10.0.0.5"),
    ("hooks.example.com", None), ("localhost", None), ("cafe.example", None), ("123.example.com", None),
])
def test_ip_literals_are_read_without_dns(host, expected):
    parsed = parse_ip_literal(host)
    assert (str(parsed) if parsed else None) == expected


@pytest.mark.parametrize("host", [
    "127.0.0.1", "::1", "169.254.169.254", "10.0.0.5", "192.168.0.10", "0.0.0.0", "::ffff:127.0.0.1", "2130706433",
    "localhost", "LOCALHOST", "localhost.", "api.localhost", "foo.internal", "metadata.google.internal",
    "printer.local", "Printer.Local.",
])
def test_hosts_refused_at_registration(host):
    assert host_refusal(host)


@pytest.mark.parametrize("host", [
    "hooks.example.com", "8.8.8.8", "2606:4700:4700::1111", "localhost.example.com", "internal.example.com",
    "mylocal", "local-hooks.example.org",
])
def test_hosts_accepted_at_registration(host):
    assert host_refusal(host) is None


def _loopback_name() -> str:
    """A host name (not an IP, not 'localhost') the system resolver maps to a non-public address."""
    for name in (socket.gethostname(), "ip6-localhost", "ip6-loopback", "localhost.localdomain"):
        if host_refusal(name):
            continue
        try:
            answers = socket.getaddrinfo(name, 80, type=socket.SOCK_STREAM)
        except OSError:
            continue
        if any(not is_public_address(ipaddress.ip_address(a[4][0])) for a in answers):
            return name
    pytest.skip("no host name here resolves to a private address")


def test_delivery_resolves_and_refuses_a_name_that_leads_inside():
    name = _loopback_name()
    with pytest.raises(DestinationRefused, match=f"{name} resolves to"):
        vetted_addresses(name, 80)
    with pytest.raises(DestinationRefused, match="loopback"):
        vetted_addresses("127.0.0.1", 80)
    # allowed: the same name comes back with the addresses to connect to
    answers = vetted_addresses(name, 80, allow_private=True)
    assert answers and all(a.sockaddr[1] == 80 for a in answers)


# --- settings --------------------------------------------------------------------------------------

def test_the_setting_is_off_by_default_and_must_be_0_or_1(tmp_path):
    from backend.config import ConfigError, Settings
    base = {"KAIROS_INSTANCE_DIR": str(tmp_path)}
    assert Settings.from_env(base).webhook_allow_private is False
    assert Settings.from_env({**base, "KAIROS_WEBHOOK_ALLOW_PRIVATE": "1"}).webhook_allow_private is True
    assert Settings.from_env({**base, "KAIROS_WEBHOOK_ALLOW_PRIVATE": "0"}).webhook_allow_private is False
    with pytest.raises(ConfigError, match="KAIROS_WEBHOOK_ALLOW_PRIVATE"):
        Settings.from_env({**base, "KAIROS_WEBHOOK_ALLOW_PRIVATE": "yes"})


# --- registration ----------------------------------------------------------------------------------

def _endpoint_count(app) -> int:
    from sqlalchemy import func, select

    from backend.extensions import db
    from backend.models import WebhookEndpoint
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(WebhookEndpoint))


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8080/hooks", "http://[::1]/hooks", "http://169.254.169.254/latest/meta-data/",
    "https://10.0.0.5/kairos", "http://192.168.1.20/", "http://localhost:5000/hooks", "https://foo.internal/hooks",
    "http://2130706433/",
])
def test_registration_refuses_private_destinations_and_writes_nothing(app, client, expert, url):
    response = client.post("/api/v1/admin/webhooks", headers=expert["headers"],
                           json={"url": url, "events": ["booking.created"]})
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "validation_error" and list(error["fields"]) == ["url"]
    (message,) = error["fields"]["url"]
    assert message.startswith("Webhooks can only be sent to a public internet address")
    assert _endpoint_count(app) == 0
    assert client.get("/api/v1/admin/webhooks", headers=expert["headers"]).get_json() == {"webhooks": []}


def test_registration_accepts_a_public_https_url(app, client, expert):
    response = client.post("/api/v1/admin/webhooks", headers=expert["headers"],
                           json={"url": "https://hooks.example.com/kairos?x=1", "events": ["booking.created"]})
    assert response.status_code == 201, response.get_json()
    assert _endpoint_count(app) == 1


@pytest.mark.parametrize("app_env", [ALLOW_PRIVATE])
def test_registration_accepts_localhost_when_private_destinations_are_allowed(app, client, expert):
    response = client.post("/api/v1/admin/webhooks", headers=expert["headers"],
                           json={"url": "http://localhost:9000/hooks", "events": ["booking.created"]})
    assert response.status_code == 201, response.get_json()


# --- delivery --------------------------------------------------------------------------------------

@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def add_endpoint(app, url: str) -> str:
    """Insert the endpoint row directly, past the registration check: as if its name resolved to a
    public address when it was registered and to a private one now."""
    from sqlalchemy import select

    from backend.extensions import db
    from backend.models import Expert, WebhookEndpoint
    from backend.notifications.webhooks import new_secret
    with app.app_context():
        expert_id = db.session.scalar(select(Expert.id).where(Expert.slug == "jane"))
        endpoint = WebhookEndpoint(expert_id=expert_id, url=url, events=["booking.created"], secret=new_secret(),
                                   active=True)
        db.session.add(endpoint)
        db.session.commit()
        return endpoint.secret


def test_delivery_to_a_private_address_fails_is_retried_then_parked(app, client, expert, receiver):
    from backend.types import utcnow
    from backend.worker import MAX_ATTEMPTS
    receiver.secret = add_endpoint(app, receiver.url)
    assert book(client, slots_for(client, next_weekday(1))[0]["start"]).status_code == 201
    now = utcnow()
    drain(app, now)
    (row,) = outbox(app, kind="webhook")
    assert row["status"] == "pending" and row["attempts"] == 1  # a failure like any other: retried later
    assert row["last_error"].startswith("DestinationRefused: not sent to http://127.0.0.1:")
    assert "127.0.0.1 is a loopback address" in row["last_error"]
    for hours in range(1, 4 * MAX_ATTEMPTS):
        drain(app, now + timedelta(hours=6 * hours))
    (row,) = outbox(app, kind="webhook")
    assert (row["status"], row["attempts"]) == ("parked", MAX_ATTEMPTS)
    assert "DestinationRefused" in row["last_error"]
    assert receiver.received == []  # not one request reached it
    parked = client.get("/api/v1/admin/outbox", headers=expert["headers"], query_string={"status": "parked"})
    assert "loopback" in parked.get_json()["messages"][0]["last_error"]


def test_delivery_to_a_name_that_resolves_inside_is_refused(app, client, expert, receiver):
    name = _loopback_name()
    receiver.secret = add_endpoint(app, receiver.url.replace("127.0.0.1", name))
    book(client, slots_for(client, next_weekday(2))[0]["start"])
    drain(app)
    (row,) = outbox(app, kind="webhook")
    assert row["status"] == "pending" and f"{name} resolves to" in row["last_error"]
    assert receiver.received == []


@pytest.mark.parametrize("app_env", [ALLOW_PRIVATE])
def test_a_redirect_is_not_followed(app, client, expert, receiver):
    elsewhere = Receiver()
    try:
        receiver.secret = elsewhere.secret = add_endpoint(app, receiver.url)
        receiver.status, receiver.headers = 302, {"Location": elsewhere.url}
        book(client, slots_for(client, next_weekday(3))[0]["start"])
        drain(app)
        assert [r["answered"] for r in receiver.received] == [302]
        assert elsewhere.received == []
        (row,) = outbox(app, kind="webhook")
        assert row["status"] == "pending"  # retried like any failure
        assert "HTTP 302" in row["last_error"] and "redirects are not followed" in row["last_error"]
        assert elsewhere.url in row["last_error"]
    finally:
        elsewhere.close()


@pytest.mark.parametrize("app_env", [ALLOW_PRIVATE])
def test_allowed_private_delivery_keeps_the_host_header_of_the_url(app, client, expert, receiver):
    receiver.secret = add_endpoint(app, receiver.url)
    book(client, slots_for(client, next_weekday(4))[0]["start"])
    drain(app)
    assert [(r["answered"], r["host"]) for r in receiver.received] == [(200, f"127.0.0.1:{receiver.server.server_port}")]


# --- connecting to the vetted address only (DNS rebinding) ----------------------------------------

def _loopback(port: int) -> list[Resolved]:
    return [Resolved(socket.AF_INET, ("127.0.0.1", port), ipaddress.ip_address("127.0.0.1"))]


def test_the_connection_goes_to_the_vetted_address_and_names_the_host(receiver):
    # hooks.example.test resolves nowhere: reaching the receiver proves no lookup happens at connect time.
    port = receiver.server.server_port
    connection = PinnedHTTPConnection("hooks.example.test", port, _loopback(port), timeout=5)
    try:
        connection.request("POST", "/hooks", body=b"{}", headers={"Content-Type": "application/json"})
        assert connection.getresponse().status == 400  # unsigned: the receiver refuses, but it was reached
    finally:
        connection.close()
    assert receiver.received[0]["host"] == f"hooks.example.test:{port}"


@pytest.fixture
def tls_server(tmp_path: Path):
    """An HTTPS server on 127.0.0.1 whose certificate is for hooks.example.test; records the SNI names."""
    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a test certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=hooks.example.test",
                    "-addext", "subjectAltName=DNS:hooks.example.test"], check=True, capture_output=True)
    server_names: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sslobj, name, ctx: server_names.append(name)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    class Server(ThreadingHTTPServer):
        def handle_error(self, request, client_address) -> None:
            pass  # the refused handshakes below are expected

    server = Server(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port, cert, server_names
    server.shutdown()
    server.server_close()


def test_tls_uses_the_url_name_for_sni_and_the_certificate(tls_server):
    port, cert, server_names = tls_server
    trusting = ssl.create_default_context(cafile=str(cert))
    connection = PinnedHTTPSConnection("hooks.example.test", port, _loopback(port), timeout=5, context=trusting)
    try:
        connection.request("POST", "/hooks", body=b"{}")
        assert connection.getresponse().status == 204
    finally:
        connection.close()
    assert server_names == ["hooks.example.test"]
    # Same address, another name: the certificate does not match it, so no request is sent.
    other = PinnedHTTPSConnection("other.example.test", port, _loopback(port), timeout=5, context=trusting)
    with pytest.raises(ssl.SSLCertVerificationError):
        other.request("POST", "/hooks", body=b"{}")
    other.close()
