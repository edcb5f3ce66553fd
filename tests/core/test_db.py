"""Which database work may run on the event loop, and the unit of work's two endings."""

from __future__ import annotations

from contextlib import AbstractContextManager

import pytest
from sqlalchemy import Connection, Engine, create_engine, text
from sqlmodel import Session

from core.db import after_commit, for_writing, open_session, reads_in_place, unit_of_work


def test_sqlite_reads_run_in_place_but_writes_and_postgresql_do_not(engine: Engine) -> None:
    postgresql = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")  # never connects
    assert reads_in_place(open_session(create_engine("sqlite://")))
    assert not reads_in_place(open_session(for_writing(create_engine("sqlite://"))))
    assert not reads_in_place(open_session(postgresql))
    assert reads_in_place(open_session(engine)) is (engine.dialect.name == "sqlite")


def test_unit_of_work_commits_runs_hooks_or_rolls_back(connection: Connection) -> None:
    ran: list[str] = []

    def work() -> AbstractContextManager[Session]:
        return unit_of_work(connection, join_transaction_mode="create_savepoint")

    with work() as session:
        session.execute(text("CREATE TABLE uow_probe (n INTEGER)"))
        after_commit(session, lambda _: ran.append("committed"))
    assert ran == ["committed"]

    def failing_route() -> None:
        with work() as session:
            session.execute(text("INSERT INTO uow_probe VALUES (1)"))
            after_commit(session, lambda _: ran.append("never"))
            raise RuntimeError("the route failed")

    with pytest.raises(RuntimeError):
        failing_route()
    with work() as session:
        assert session.execute(text("SELECT count(*) FROM uow_probe")).scalar() == 0
    assert ran == ["committed"]
