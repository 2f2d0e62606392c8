"""A Kairos app under gunicorn with several worker processes, for race tests and the load bench."""
from __future__ import annotations

import json
import os
import uuid
from contextlib import contextmanager
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

from tests.ports import listening_socket

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def call(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None,
         timeout: float = 60) -> tuple[int, dict]:
    """One HTTP request; returns (status, parsed JSON body)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else {}
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw)
        except ValueError:
            return error.code, {"raw": raw.decode(errors="replace")}


class GunicornApp:
    """`gunicorn "backend:create_app()"` on a fresh database, configured by the environment only."""

    def __init__(self, database_url: str, instance: Path, workers: int = 4, root: Path = ROOT) -> None:
        # ``root``: the code to run (bench/baseline.py gives an older commit's, to compare side by side).
        self.root = root
        # The server inherits this listening socket (see tests/ports.py): no other test can take the port.
        self.socket = listening_socket()
        self.port = self.socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.instance = instance
        self.env = {**os.environ, "KAIROS_DATABASE_URL": database_url, "KAIROS_INSTANCE_DIR": str(instance),
                    "KAIROS_BASE_URL": self.url, "KAIROS_SECRET_KEY": "race-secret-key-0123456789",
                    # Every simulated client comes from 127.0.0.1: per-address limits would refuse them.
                    "KAIROS_RATE_LIMITS": "booking=0,manage=0",
                    "PYTHONPATH": str(root)}
        self.workers = workers
        self.proc: subprocess.Popen | None = None
        self.token = ""

    def kairos(self, *args: str) -> str:
        # `python -m backend` since the program got its own entry; an older commit (bench/baseline.py) ran its CLI.
        program = "backend" if (self.root / "backend" / "__main__.py").exists() else "backend.cli"
        result = subprocess.run([sys.executable, "-m", program, *args], env=self.env, cwd=self.root,
                                capture_output=True,
                                text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(result.stderr + result.stdout)
        return result.stdout

    def start(self) -> "GunicornApp":
        self.kairos("migrate")
        self.token = self.kairos("create-expert", "race", "--email", "race@example.com", "--name", "Race",
                                 "--timezone", "Europe/Paris").strip().splitlines()[-1]
        self.log = open(self.instance / "gunicorn.log", "w")
        self.proc = subprocess.Popen(
            [str(BIN / "gunicorn"), "-w", str(self.workers), "-b", f"fd://{self.socket.fileno()}", "--timeout", "120",
             "backend:create_app()"], env=self.env, cwd=self.root, stdout=self.log, stderr=subprocess.STDOUT,
            pass_fds=(self.socket.fileno(),))
        # Four workers importing the app on a busy 2-core machine can take a while: wait for the
        # condition (it answers) with a generous deadline, not for a guess of how long it takes.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/api/v1/experts/race", timeout=1)
                return self
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError((self.instance / "gunicorn.log").read_text()[-3000:])
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start")

    def admin(self, method: str, path: str, body: Any = None) -> tuple[int, dict]:
        return call(method, f"{self.url}/api/v1/admin{path}", body, {"Authorization": f"Bearer {self.token}"})

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.log.close()
        self.socket.close()


@contextmanager
def live_app(kind: str, tmp_path_factory, name: str, workers: int = 4,
             env: dict[str, str] | None = None) -> Iterator[GunicornApp]:
    """A started GunicornApp on a fresh SQLite file (``kind="sqlite"``) or PostgreSQL database, stopped
    and dropped afterwards. Unreachable PostgreSQL skips the test, or fails it when CI requires it."""
    import pytest

    from tests import pg
    instance = tmp_path_factory.mktemp(name)
    if kind == "sqlite":
        url = f"sqlite:///{instance / (name + '.db')}"
    else:
        reason = pg.unreachable_reason()
        if reason:
            if os.environ.get("KAIROS_REQUIRE_POSTGRES") == "1":
                pytest.fail(reason)
            pytest.skip(f"PostgreSQL {name} test skipped: {reason}")
        url = pg.create_database(f"kairos_{name}_{uuid.uuid4().hex[:8]}")
    app = GunicornApp(url, instance, workers=workers)
    app.env.update(env or {})  # more KAIROS_* settings (e.g. KAIROS_REDIS_URL)
    app.start()
    try:
        yield app
    finally:
        app.stop()
        if kind != "sqlite":
            pg.drop_database(url)


def weekdays_ahead(n: int, *, skip: int = 3):
    """The next ``n`` weekdays, starting a few days from today."""
    from datetime import date, timedelta
    day, out = date.today() + timedelta(days=skip), []
    while len(out) < n:
        if day.weekday() < 5:
            out.append(day)
        day += timedelta(days=1)
    return out
