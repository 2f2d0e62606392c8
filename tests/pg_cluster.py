"""A PostgreSQL server of one test's own, which the test may stop and start (the fault tests).

The machine's shared PostgreSQL serves every other suite: a test that restarts the database must
not restart that one. ``PrivateCluster`` runs ``initdb`` into a temporary directory and ``pg_ctl``
on a free port, with its socket in that directory too. PostgreSQL refuses to run as root, so under
root (CI) every command runs as the ``postgres`` system user through ``runuser``.
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests import pg
from tests.ports import free_port


def bin_dir() -> Path | None:
    """Where ``initdb`` and ``pg_ctl`` are (``KAIROS_PG_BINDIR``, else the newest Debian install, else PATH)."""
    if os.environ.get("KAIROS_PG_BINDIR"):
        return Path(os.environ["KAIROS_PG_BINDIR"])
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def unavailable_reason() -> str | None:
    """Why a private cluster cannot be started here (None when it can)."""
    if bin_dir() is None:
        return "no initdb found (install postgresql or set KAIROS_PG_BINDIR)"
    if os.geteuid() == 0 and not shutil.which("runuser"):
        return "running as root without runuser, and PostgreSQL refuses to run as root"
    return None


class PrivateCluster:
    """``initdb`` + ``pg_ctl`` in a directory of its own (removed by ``destroy``); ``url`` is a database on it."""

    def __init__(self, database: str = "kairos") -> None:
        # Directly under /tmp, not pytest's tmp_path: the postgres user must reach it (pytest's is root's, 0700).
        self.directory = Path(tempfile.mkdtemp(prefix="kairos-pg-"))
        self.data = self.directory / "data"
        self.port = free_port()
        self.database = database
        self.bin = bin_dir()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> str:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=180)
        if result.returncode != 0:
            log = self.directory / "server.log"
            raise RuntimeError(f"{' '.join(args)} failed: {result.stderr}{result.stdout}"
                               + (log.read_text()[-2000:] if log.exists() else ""))
        return result.stdout

    def create(self) -> PrivateCluster:
        """initdb, start, and create the database."""
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        self.start()
        with pg.connect(self.url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"')
        return self

    def start(self) -> None:
        """Start the server and wait until it accepts connections (``pg_ctl -w``)."""
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.directory / "server.log"), "-o", options,
                  "-w", "-t", "120", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: ``fast`` ends every session at once (open transactions roll back)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "120", "stop")

    def running(self) -> bool:
        command = [str(self.bin / "pg_ctl"), "-D", str(self.data), "status"]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True).returncode == 0

    def destroy(self) -> None:
        """Stop the server if it runs and remove its files."""
        if self.data.exists() and self.running():
            self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)
