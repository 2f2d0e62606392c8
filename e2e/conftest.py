"""End-to-end fixtures: a live Kairos server (origin B), a host page server (origin A) and Chromium.

The widget is served from http://127.0.0.1:PORT and the host page from http://localhost:PORT2,
so every test crosses origins the way a real expert's site does.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.ports import free_port, listening_socket
from tests.test_notifications import SmtpServer

ROOT = Path(__file__).resolve().parents[1]
KAIROS = [sys.executable, "-m", "backend"]
SHOTS = ROOT / "docs" / "screenshots"


def _browser_path() -> str | None:
    """KAIROS_BROWSER picks the browser; else the system Chromium; else Playwright's own (a laptop)."""
    explicit = os.environ.get("KAIROS_BROWSER")
    if explicit:
        return explicit
    for candidate in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if os.path.exists(candidate):
            return candidate
    return None


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    path = _browser_path()
    args = dict(browser_type_launch_args)
    if path:
        args["executable_path"] = path
    args["args"] = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--no-first-run", "--disable-sync"]
    return args


class LiveServer:
    """A real `kairos serve` process on its own SQLite database."""

    def __init__(self, tmp: Path, env_extra: dict[str, str] | None = None) -> None:
        # The server inherits this listening socket (tests/ports.py): no other test can take the port.
        self.socket = listening_socket()
        self.port = self.socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "KAIROS_INSTANCE_DIR": str(tmp),
                    "KAIROS_DATABASE_URL": f"sqlite:///{tmp / 'e2e.db'}",
                    "KAIROS_BASE_URL": self.url, "KAIROS_SECRET_KEY": "e2e-secret-key-0123456789",
                    "PYTHONUNBUFFERED": "1", "KAIROS_RATE_LIMITS": "booking=0,manage=0", **(env_extra or {})}
        self.log = open(tmp / "server.log", "w")
        self.proc: subprocess.Popen | None = None

    def kairos(self, *args: str) -> str:
        result = subprocess.run([*KAIROS, *args], env=self.env, cwd=ROOT, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, result.stderr + result.stdout
        return result.stdout

    def start(self) -> "LiveServer":
        self.kairos("migrate")
        # Werkzeug serves an inherited socket when told so (what its own reloader does for its child).
        inherited = {"WERKZEUG_RUN_MAIN": "true", "WERKZEUG_SERVER_FD": str(self.socket.fileno())}
        self.proc = subprocess.Popen([*KAIROS, "serve", "--port", str(self.port)], env={**self.env, **inherited},
                                     cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
                                     pass_fds=(self.socket.fileno(),))
        deadline = time.monotonic() + 120  # a condition with a deadline: a busy machine only makes it later
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/api/openapi.json", timeout=1)
                return self
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited: {(Path(self.log.name)).read_text()[-2000:]}")
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()
        self.socket.close()


class HostSite:
    """Origin A: a plain static site where tests drop host pages that embed the widget."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.origin = f"http://localhost:{self.port}"
        handler = partial(_QuietHandler, directory=str(root))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def page(self, name: str, html: str, csp: str | None = None) -> str:
        (self.root / name).write_text(html)
        if csp:
            _QuietHandler.csp[name] = csp
        return f"{self.origin}/{name}"

    def stop(self) -> None:
        self.httpd.shutdown()


class _QuietHandler(SimpleHTTPRequestHandler):
    csp: dict[str, str] = {}

    def end_headers(self) -> None:
        name = self.path.lstrip("/").split("?")[0]
        if name in self.csp:
            self.send_header("Content-Security-Policy", self.csp[name])
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[LiveServer]:
    """One live server per test module, seeded with the demo expert."""
    live = LiveServer(tmp_path_factory.mktemp("server")).start()
    live.kairos("demo")
    yield live
    live.stop()


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) for one test module: point a server at it with ``KAIROS_SMTP_URL``."""
    inbox = SmtpServer()
    inbox.start()
    yield inbox
    inbox.stop()


def wait_for_mail(smtp: SmtpServer, to: str, subject_start: str, timeout: float = 60) -> EmailMessage:
    """The first mail to ``to`` whose subject starts so, once the worker has delivered it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = smtp.to(to, subject_start)
        if found:
            return found[0]
        time.sleep(0.2)  # polling a real SMTP server's inbox, with a deadline
    raise AssertionError(f"no mail to {to} starting {subject_start!r}; got {[m['Subject'] for m in smtp.messages]}")


@pytest.fixture(scope="module")
def host(tmp_path_factory) -> Iterator[HostSite]:
    site = HostSite(tmp_path_factory.mktemp("host"))
    yield site
    site.stop()


EVENT_RECORDER = """
<script>
  window.kairosEvents = [];
  ["ready", "slot-selected", "booking-completed", "booking-cancelled", "booking-rescheduled", "step",
   "hold-expired", "booking-failed"].forEach(function (n) {
    document.addEventListener("kairos:" + n, function (e) {
      window.kairosEvents.push({type: e.type, detail: e.detail, target: e.target.id || null});
    });
  });
</script>
"""


def host_page(server_url: str, body: str, *, title: str = "Jane's coaching site", head: str = "") -> str:
    """A host page on origin A with hostile CSS and an event recorder."""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>iframe {{ border: 8px solid red !important; height: 10px; }} * {{ font-family: cursive; }}</style>
{head}</head><body><h1>{title}</h1>{EVENT_RECORDER}{body}
<script src="{server_url}/embed.js" async></script></body></html>"""


def shot(page, name: str) -> None:
    """Save a screenshot for the README and for people to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def open_day(frame, day: date) -> None:
    """Show ``day`` in the widget's month calendar and select it.

    The widget skips an empty month on its own once the month has loaded, so the shown month is read
    only when no day is loading, then the test moves month by month: this works whatever the date
    (the last day of a month included) and however slowly the slots arrive.
    """
    target = frame.locator(f'.day[data-date="{day.isoformat()}"]')
    for _ in range(13):  # the widget shows a year ahead at most
        expect(frame.locator(".day").first).to_be_visible()
        expect(frame.locator(".day.shimmer")).to_have_count(0)
        if target.count():
            break
        shown = frame.locator(".day").first.get_attribute("data-date")
        assert shown and shown < day.isoformat(), f"{day} is before the month shown ({shown})"
        frame.get_by_role("button", name="Next month").click()
    expect(target).to_have_class(re.compile(r"\bhas\b"))
    target.click()
    expect(target).to_have_attribute("aria-pressed", "true")


def first_day_with_slots(server: "LiveServer", expert: str, service: str, tz: str, *,
                         clear_of: timedelta = timedelta(0), after: date | None = None, at_least: int = 1) -> date:
    """The first local date in ``tz`` (after ``after``, if given) whose every offered time starts
    more than ``clear_of`` from now, and that offers ``at_least`` times.

    Tests choose their days from what the product offers and from its rules (the notice, the
    cancellation cutoff), never from the clock's hour or weekday: at 22:00 the first free time may be
    12 hours away, at 08:00 three days away over a weekend; late in the day, today may hold one time.
    """
    zone = ZoneInfo(tz)
    earliest = (datetime.now(zone) + clear_of).date() + timedelta(days=1)
    if after is not None:
        earliest = max(earliest, after + timedelta(days=1))
    slots = api(server, "GET", f"/api/v1/experts/{expert}/services/{service}/slots?start={earliest}"
                               f"&end={earliest + timedelta(days=30)}&timezone={tz}")["slots"]
    per_day: dict[date, int] = {}
    for slot in slots:
        day = datetime.fromisoformat(slot["start"]).astimezone(zone).date()
        per_day[day] = per_day.get(day, 0) + 1
    found = [day for day, count in sorted(per_day.items()) if count >= at_least]
    assert found, f"{expert}/{service} offers no day with {at_least} times from {earliest}"
    return found[0]


def api(server: LiveServer, method: str, path: str, body: dict | None = None, token: str | None = None) -> dict:
    """One JSON call to the live server's API (with the expert's token for /admin), as a script would."""
    import json
    req = urllib.request.Request(server.url + path, method=method, data=json.dumps(body).encode() if body else None,
                                 headers={"Content-Type": "application/json", "Accept": "application/json"})
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req) as res:
        return json.loads(res.read() or b"{}")
