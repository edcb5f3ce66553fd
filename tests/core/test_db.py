"""Which database work may run on the event loop, and the unit of work's two endings."""

from __future__ import annotations

from contextlib import AbstractContextManager

import pytest
from sqlalchemy import Connection, Engine, create_engine, func, select, text, update
from sqlmodel import Session, col

from catalog.models import Province
from core.db import (
    ReadOnlyUnitOfWork,
    after_commit,
    open_session,
    reads_in_place,
    unit_of_work,
)


def test_sqlite_reads_run_in_place_but_writes_and_postgresql_do_not(engine: Engine) -> None:
    postgresql = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")  # never connects
    assert reads_in_place(open_session(create_engine("sqlite://"), write=False))
    assert not reads_in_place(open_session(create_engine("sqlite://"), write=True))
    assert not reads_in_place(open_session(postgresql, write=False))
    assert reads_in_place(open_session(engine, write=False)) is (engine.dialect.name == "sqlite")


def test_a_unit_of_work_opened_to_read_refuses_every_write(connection: Connection) -> None:
    """A route that forgot to declare write intent fails here, not under load."""

    def reading() -> AbstractContextManager[Session]:
        return unit_of_work(connection, write=False, join_transaction_mode="create_savepoint")

    session = open_session(connection, write=False, join_transaction_mode="create_savepoint")
    session.add(Province(code="99", name_th="ทดสอบ", name_en="Test", region="central"))
    with pytest.raises(ReadOnlyUnitOfWork):
        session.flush()
    statement = update(Province).values(name_en="Renamed")
    with pytest.raises(ReadOnlyUnitOfWork):
        session.execute(statement)
    session.rollback()
    session.close()
    with reading() as session:
        assert session.get(Province, "99") is None
        renamed = (
            select(func.count()).select_from(Province).where(col(Province.name_en) == "Renamed")
        )
        assert session.execute(renamed).scalar() == 0


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
