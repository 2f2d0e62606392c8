"""Real calendar servers for tests: Radicale (CalDAV) in a subprocess, and an ICS feed over HTTP.

Both listen on free loopback ports; Radicale runs with ``--auth-type none`` and its own folder.
"""
from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import caldav

from tests.ports import free_port, wait_for_listener


class Radicale:
    """A Radicale CalDAV server that can be stopped (down) and started again on the same port and folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "radicale", "--server-hosts", f"127.0.0.1:{self.port}", "--auth-type", "none",
             "--storage-filesystem-folder", str(self.folder), "--logging-level", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_listener(self.process, self.port)  # this Radicale, not another test's (tests/ports.py)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def client(self) -> caldav.DAVClient:
        """A plain caldav client, as the expert's own calendar app would be."""
        return caldav.DAVClient(url=self.base + "/", username="jane", password="x", enable_rfc6764=False)

    def make_calendar(self, name: str) -> str:
        """A new, empty calendar of user jane (unique even on a server shared by several tests); its URL."""
        cal_id = f"{name}-{uuid.uuid4().hex[:8]}"
        with self.client() as client:
            return str(client.principal().make_calendar(name=name, cal_id=cal_id).url)

    def put(self, calendar_url: str, ical: str) -> None:
        """Store one calendar object (one UID), as a calendar app would."""
        with self.client() as client:
            client.calendar(url=calendar_url).save_event(ical)

    def events(self, calendar_url: str) -> list[str]:
        """The raw iCalendar text of every object in the calendar."""
        with self.client() as client:
            return [e.data for e in client.calendar(url=calendar_url).events()]


class FeedServer:
    """An HTTP server in a thread serving ``files`` (path -> iCalendar text or bytes)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes | str] = {}
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                server.requests += 1
                body = server.files.get(self.path)
                body = body.encode() if isinstance(body, str) else body
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/calendar")
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def vcalendar(*events: str) -> str:
    return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Tests//Calendar//EN\r\n" + "".join(events) + "END:VCALENDAR\r\n"


def vevent(uid: str, *lines: str) -> str:
    body = "".join(line + "\r\n" for line in lines)
    return f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20261101T000000Z\r\n{body}END:VEVENT\r\n"
