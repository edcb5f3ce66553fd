"""Alembic environment: migrates the database named by settings (or the caller's connection)."""

from __future__ import annotations

from alembic import context

from api.tables import metadata, ours
from core.db import make_engine
from core.settings import get_settings

config = context.config


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    engine = make_engine(url, statement_timeout=False)  # a migration may take long
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=metadata(),
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
        include_object=ours,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
