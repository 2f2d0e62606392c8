"""The CPU a load costs, by process: the app's gunicorn, the database's backends, the client.

On a shared 2-core machine the requests a second depend on what else runs; the CPU seconds each
request costs the processes that serve it do much less, so the benches report both.
"""
from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.live import GunicornApp


def seconds(pids: set[int]) -> float:
    """User + system CPU seconds the processes ``pids`` have used so far (those still alive)."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def server_pids(app: GunicornApp) -> set[int]:
    """gunicorn's master and its workers."""
    assert app.proc is not None
    children = Path(f"/proc/{app.proc.pid}/task/{app.proc.pid}/children").read_text().split()
    return {app.proc.pid, *map(int, children)}


def database_pids(database_url: str) -> set[int]:
    """The PostgreSQL backends serving this database (the app's pooled connections stay open)."""
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        pids = set(conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                     "AND pid <> pg_backend_pid()")).scalars())
    engine.dispose()
    return pids
