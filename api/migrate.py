"""Bring a database to the current schema and reference data."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection
from sqlmodel import Session

from catalog.geography import sync_provinces
from core.db import make_engine
from core.settings import PROJECT_ROOT


def alembic_config() -> Config:
    return Config(str(PROJECT_ROOT / "alembic.ini"))


def upgrade_connection(connection: Connection) -> None:
    """Run every pending migration on ``connection`` and load reference data."""
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
    with Session(bind=connection) as session:
        sync_provinces(session)
        session.flush()


def upgrade(url: str) -> None:
    """Migrate the database at ``url`` to head, in one transaction where the database allows.
    Connecting waits as long as a request would (``CITYDEAL_DB_CONNECT_TIMEOUT_SECONDS``);
    a migration's statements have no time limit (an index on a large table takes long)."""
    engine = make_engine(url, statement_timeout=False)
    try:
        with engine.begin() as connection:
            upgrade_connection(connection)
    finally:
        engine.dispose()
