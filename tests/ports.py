"""Loopback ports for the servers tests start, without two tests ever talking to each other's server.

``free_port()`` alone leaves a gap: between learning a free number and the server binding it, another
test process (tests run in parallel) can take the same number. A server that then fails to bind may not
exit at once (gunicorn retries for seconds), and a readiness probe succeeds against the *other* test's
server, which answers the same paths. CI saw exactly that: an admin token refused (401) by a server the
test had never created. Two ways to close the gap:

- ``listening_socket()``: the test binds and listens itself and the server inherits the socket
  (gunicorn's ``fd://``; Werkzeug's ``WERKZEUG_SERVER_FD``), so the port is never free in between.
- ``wait_for_listener(process, port)``: for servers that take only a port number (and may be stopped and
  started again on it), ready means *this* process holds the listening socket, not "something answers".
"""
from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    """A port no one listens on now (see the module's note on the gap this leaves)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening_socket() -> socket.socket:
    """A socket listening on a free loopback port, inheritable by a server process (pass its fileno in
    ``pass_fds``). The caller closes it once the server has stopped."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def _listening_inodes(port: int) -> set[str]:
    """Inodes of the sockets listening on ``port`` (IPv4 and IPv6), from the kernel's tables."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(inode)
    return inodes


def _holds(pid: int, inodes: set[str]) -> bool:
    try:
        links = [os.readlink(entry) for entry in Path(f"/proc/{pid}/fd").iterdir()]
    except OSError:
        return False
    return any(link.startswith("socket:[") and link[8:-1] in inodes for link in links)


def wait_for_listener(process: subprocess.Popen, port: int, deadline_seconds: float = 60) -> None:
    """Wait until ``process`` itself listens on ``port``; fail at once if it exits, or at the deadline.

    Where the kernel's tables cannot be read (not Linux), falls back to "something accepts connections"."""
    proc_fs = Path("/proc/net/tcp").exists()
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}) before listening on {port}")
        if proc_fs:
            if _holds(process.pid, _listening_inodes(port)):
                return
        else:
            with socket.socket() as sock:
                sock.settimeout(0.5)
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    return
        time.sleep(0.05)  # polling a condition with a deadline, not waiting for a fixed time
    raise TimeoutError(f"the server did not listen on 127.0.0.1:{port} within {deadline_seconds:.0f} s")
