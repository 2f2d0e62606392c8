"""A test's server is the one its test started: ready means this process holds the port."""
from __future__ import annotations

import subprocess
import sys
import urllib.request

import pytest

from tests.ports import listening_socket, wait_for_listener

SERVE_INHERITED = """
import socket, sys
from http.server import HTTPServer, BaseHTTPRequestHandler
class Hello(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "5"); self.end_headers(); self.wfile.write(b"mine!")
    def log_message(self, *args): pass
server = HTTPServer(("127.0.0.1", 0), Hello, bind_and_activate=False)
server.socket = socket.socket(fileno=int(sys.argv[1]))
server.serve_forever()
"""

# Binds a port of its own choosing (no number handed on, so no other test can take it first) and says which.
LISTEN = """
import socket, sys, time
sock = socket.socket(); sock.bind(("127.0.0.1", 0)); sock.listen()
print(sock.getsockname()[1], flush=True); time.sleep(60)
"""


def test_another_process_on_the_port_is_not_taken_for_ours():
    held = listening_socket()  # someone else's server on the port
    port = held.getsockname()[1]
    idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with pytest.raises(TimeoutError):
            wait_for_listener(idle, port, deadline_seconds=1)
    finally:
        idle.kill()
        idle.wait()
        held.close()


def test_a_server_that_exits_is_reported_at_once():
    failed = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    failed.wait()
    with pytest.raises(RuntimeError, match="exited"):
        wait_for_listener(failed, 1, deadline_seconds=30)


def test_the_process_that_listens_is_found():
    server = subprocess.Popen([sys.executable, "-c", LISTEN], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        wait_for_listener(server, port, deadline_seconds=60)
    finally:
        server.kill()
        server.wait()


def test_an_inherited_socket_is_served_by_the_child():
    sock = listening_socket()
    child = subprocess.Popen([sys.executable, "-c", SERVE_INHERITED, str(sock.fileno())], pass_fds=(sock.fileno(),))
    try:
        port = sock.getsockname()[1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as answer:
            assert answer.read() == b"mine!"
    finally:
        child.kill()
        child.wait()
        sock.close()
