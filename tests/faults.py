"""What the fault tests (tests/test_faults_*.py) share: real `kairos worker` processes, a real webhook
receiver that can fail, hold or slow its answers, and waiting for a condition with a deadline.

Nothing here stands in for a part of Kairos: the faults are made outside it (a process killed, a port
that stops answering, a receiver that answers 500), as they happen in production.
"""
from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.ports import free_port

#: How long a condition may take on a busy shared 2-core machine before the test says it failed.
DEADLINE_SECONDS = 120.0


def wait_until(predicate: Callable[[], Any], what: str, timeout: float = DEADLINE_SECONDS,
               interval: float = 0.1) -> Any:
    """Poll ``predicate`` until it is truthy; fail naming ``what`` after ``timeout`` seconds (monotonic)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(interval)


class WorkerProcess:
    """`kairos worker` as its own process, configured by the environment alone (as in production)."""

    def __init__(self, env: dict[str, str], name: str = "worker") -> None:
        self.env = {**os.environ, **env}
        self.name = name
        self.proc: subprocess.Popen | None = None
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []

    def start(self) -> WorkerProcess:
        self.proc = subprocess.Popen([sys.executable, "-m", "backend", "worker"], env=self.env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        stream = self.proc.stderr

        def pump() -> None:  # read stderr all along, so the worker never blocks on a full pipe
            for line in stream:
                self.lines.put(line)
        threading.Thread(target=pump, daemon=True).start()
        self.wait_for("kairos worker: ready")
        return self

    def wait_for(self, text: str, timeout: float = DEADLINE_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.seen):
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"{self.name}: no {text!r} on stderr within {timeout:.0f} s:\n" + self.log()
            try:
                self.seen.append(self.lines.get(timeout=min(remaining, 1.0)))
            except queue.Empty:
                assert self.proc is not None
                if self.proc.poll() is not None and self.lines.empty():
                    raise AssertionError(f"{self.name} exited with {self.proc.returncode}:\n" + self.log()) from None

    def log(self) -> str:
        while not self.lines.empty():
            self.seen.append(self.lines.get_nowait())
        return "".join(self.seen)[-3000:]

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is handed back, the claimed rows keep their lease."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> int | None:
        """TERM, as a deploy does; the exit code (None if it had to be killed)."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            return None


@dataclass
class Delivery:
    """One request the receiver got: the event, and what it answered."""

    event_id: str
    type: str
    booking_id: str
    status: int
    duplicate: bool
    signed: bool


@dataclass
class WebhookReceiver:
    """An expert's webhook receiver on a real HTTP server: verifies the signature, answers ``status``
    (500 while "down"), takes ``delay`` seconds per request, can hold one request until released, and
    de-duplicates by event id as API.md asks receivers to (a repeat is answered 200, not processed)."""

    secret: str = ""
    status: int = 200
    delay: float = 0.0
    hold_nth: int | None = None  # hold the nth request (1-based) until ``release`` is set
    held: threading.Event = field(default_factory=threading.Event)     # set when the held request arrived
    release: threading.Event = field(default_factory=threading.Event)  # set to let it go on
    arrivals: int = 0
    deliveries: list[Delivery] = field(default_factory=list)
    processed: list[str] = field(default_factory=list)  # event ids accepted (processed), in order
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                from backend.notifications.webhooks import SIGNATURE_HEADER, verify
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                event = json.loads(body)
                with receiver._lock:
                    receiver.arrivals += 1
                    hold = receiver.hold_nth == receiver.arrivals
                if hold:
                    receiver.held.set()
                    receiver.release.wait(DEADLINE_SECONDS)
                if receiver.delay:
                    time.sleep(receiver.delay)  # the receiver's own slowness (its work), not a wait in the test
                signed = verify(receiver.secret, self.headers.get(SIGNATURE_HEADER, ""), body)
                with receiver._lock:
                    status = receiver.status if signed else 400
                    duplicate = 200 <= status < 300 and event["id"] in receiver.processed
                    if 200 <= status < 300 and not duplicate:
                        receiver.processed.append(event["id"])
                    receiver.deliveries.append(Delivery(event["id"], event["type"],
                                                        event["data"]["booking"]["id"], status, duplicate, signed))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def snapshot(self) -> list[Delivery]:
        with self._lock:
            return list(self.deliveries)

    def accepted(self) -> list[Delivery]:
        """Deliveries processed (2xx, first of their event id), in the order they were processed."""
        return [d for d in self.snapshot() if 200 <= d.status < 300 and not d.duplicate]

    def accepted_counts(self) -> Counter[str]:
        return Counter(d.event_id for d in self.accepted())


def subscribe(client, headers: dict[str, str], url: str, events: list[str] | None = None) -> str:
    """Register ``url`` as the expert's webhook endpoint; returns its signing secret."""
    from backend.notifications.webhooks import EVENT_TYPES
    response = client.post("/api/v1/admin/webhooks", headers=headers,
                           json={"url": url, "events": list(events or EVENT_TYPES)})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["webhook"]["secret"]


class StripeLink:
    """The network path from Kairos to Stripe: an HTTP relay in front of localstripe whose port can stop
    answering (connection refused, as a stopped Stripe's) and answer again on the same port.

    localstripe itself keeps running because it keeps its state in memory only (a restart would forget
    the customer, the card and any charge, and its state file is shared by every instance on the machine).
    ``cut(method, path)`` brings the link down at the moment Kairos makes that call: before it reaches
    Stripe (nothing charged), or with ``after_stripe=True`` once Stripe has acted on it, the answer lost.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.requests: list[tuple[str, str]] = []
        self.cut_requests: list[tuple[str, str]] = []
        self._cut: tuple[str, str, bool] | None = None
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    def cut(self, method: str, path: str, *, after_stripe: bool = False) -> None:
        self._cut = (method, path, after_stripe)

    def up(self) -> StripeLink:
        link = self

        class Relay(BaseHTTPRequestHandler):
            # HTTP/1.0: one request per connection, so a retry always opens a new one (refused when down).
            def _relay(self) -> None:
                import urllib.error
                import urllib.request
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                method, path = self.command, self.path
                with link._lock:
                    link.requests.append((method, path))
                    cut = link._cut if link._cut and (method, path.split("?")[0]) == link._cut[:2] else None
                    if cut:
                        link._cut = None
                        link.cut_requests.append((method, path))
                if cut and not cut[2]:
                    link.down()  # Stripe is gone before the call reaches it
                    return  # the connection closes without an answer
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                request = urllib.request.Request(link.upstream + path, data=body or None, method=method,
                                                 headers=headers)
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:
                        status, content_type, answer = response.status, response.headers.get("Content-Type"), \
                            response.read()
                except urllib.error.HTTPError as error:
                    status, content_type, answer = error.code, error.headers.get("Content-Type"), error.read()
                if cut:
                    link.down()  # Stripe acted on the call; its answer never comes back
                    return
                self.send_response(status)
                self.send_header("Content-Type", content_type or "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_POST = do_DELETE = _relay  # noqa: N815 (http.server's names)

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Relay)  # SO_REUSEADDR: the same port again
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._server = server
        return self

    def down(self) -> None:
        """Stop listening: from now on a connection to Stripe is refused."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
