"""SQLite's connection pool never makes a request wait for a connection.

SQLite reads run in place on a worker's event loop (``core.db.reads_in_place``). With a
capped pool (SQLAlchemy's default, 5 + 10), the 16th request in flight on one worker
waited on the event loop for a connection while the 15 requests holding them needed that
same loop to finish: the worker froze for the pool's 30 s timeout and answered errors
(``make bench-load`` at 64 connections, no write in the mix). This holds 40 connections
of one engine at once, as 40 requests in flight would, and must get them all at once.
"""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import Connection, text

from core.db import make_engine


def test_a_sqlite_file_gives_as_many_connections_as_requests_in_flight(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'pool.db'}")
    held: list[Connection] = []

    def check_out() -> None:
        for _ in range(40):
            connection = engine.connect()
            connection.execute(text("SELECT 1"))
            held.append(connection)

    worker = threading.Thread(target=check_out, daemon=True)
    worker.start()
    worker.join(timeout=10)
    try:
        assert not worker.is_alive(), f"waited for a pooled connection after {len(held)}"
        assert len(held) == 40
    finally:
        for connection in held:
            connection.close()
        engine.dispose()
