"""`citydeal export` and `citydeal import` end to end: the seed (and a row in every table
the seed leaves empty) goes out as JSON Lines and comes back row for row, on SQLite, on
PostgreSQL and from one to the other; what is excluded stays out, password hashes never
leave, and a file that is not a whole, matching export changes nothing."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.types import TypeDecorator

from api.tables import BACKUP, metadata
from catalog.models import Organisation
from core.backup import (
    ALEMBIC_TABLE,
    BackupError,
    codec_for,
    export,
    exported_tables,
    restore,
    unaccounted_tables,
)
from core.db import for_writing, make_engine
from core.principal import OrganisationKind
from tests.conftest import BACKENDS, POSTGRES_URL
from tests.databases import NAMESPACE, migrated_database, migrated_postgres_database
from tests.live import seed, writing

pytestmark = [pytest.mark.slow]

SCHEMA: MetaData = metadata()
EXPORTED = exported_tables(SCHEMA, BACKUP)
PAIRS = [(source, target) for source in BACKENDS for target in BACKENDS]


def _citydeal(url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        input=stdin,
        env={**os.environ, "CITYDEAL_DATABASE_URL": url, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
        check=False,
    )


class Databases:
    """Fresh migrated databases of either backend; the PostgreSQL ones are dropped at
    the end of the module."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.made: list[str] = []

    def fresh(self, backend: str, role: str) -> str:
        if backend == "sqlite":
            url = f"sqlite:///{self.root / role}.db"
        else:
            assert POSTGRES_URL is not None
            name = f"{NAMESPACE}_backup_{role}_{os.getpid()}"
            url = migrated_postgres_database(POSTGRES_URL, name)
            self.made.append(name)
            return url
        migrated_database(url)
        return url

    def drop(self) -> None:
        if not self.made:
            return
        assert POSTGRES_URL is not None
        admin = make_engine(POSTGRES_URL).execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            for name in self.made:
                connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture(scope="module")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    made = Databases(tmp_path_factory.mktemp("backup"))
    yield made
    made.drop()


# --- a source with a row in every table ------------------------------------------------


def _value(table: Table, name: str, type_: Any) -> Any:
    """A plain value of the column's type, for a table the seed leaves empty."""
    while isinstance(type_, TypeDecorator):
        type_ = type_.impl_instance
    if isinstance(type_, Boolean):
        return True
    if isinstance(type_, Integer):
        return 3
    if isinstance(type_, Float | Numeric):
        return 2.5
    if isinstance(type_, DateTime):
        return datetime(2026, 12, 2, 6, 30, 15, 123456, tzinfo=UTC)
    if isinstance(type_, Date):
        return date(2026, 12, 2)
    if isinstance(type_, LargeBinary):
        return bytes(range(256))
    if isinstance(type_, JSON):
        return {"ค่า": [1, 2.5, None, "ข้อความ"]}
    if isinstance(type_, String):
        value = f"{table.name}.{name} ที่นี่"
        return value[: type_.length] if type_.length else value
    raise AssertionError(f"no test value for {table.name}.{name} ({type_!r})")


def _fill_empty_tables(url: str) -> None:
    """One row in each table the seed leaves empty (the excluded ones too, to show they
    stay out), its foreign keys pointing at rows that exist: a table added later is
    filled without a change here."""
    engine = make_engine(url)
    with engine.begin() as connection:
        for table in SCHEMA.sorted_tables:
            if connection.execute(select(func.count()).select_from(table)).scalar():
                continue
            row: dict[str, Any] = {}
            for column in table.columns:
                if column is table.autoincrement_column:
                    continue  # the database numbers the row
                if column.foreign_keys:
                    target = next(iter(column.foreign_keys)).column
                    row[column.name] = connection.execute(
                        select(target).order_by(target).limit(1)
                    ).scalar_one()
                else:
                    row[column.name] = _value(table, column.name, column.type)
            connection.execute(table.insert(), row)
    engine.dispose()


@dataclass
class Source:
    backend: str
    url: str
    export: Path


@pytest.fixture(scope="module")
def sources(databases: Databases) -> Callable[[str], Source]:
    """A seeded database of each backend, and its export (made once per module)."""
    made: dict[str, Source] = {}

    def source(backend: str) -> Source:
        if backend not in made:
            url = databases.fresh(backend, "source")
            seed({"CITYDEAL_DATABASE_URL": url})  # as `citydeal seed` does, in this process
            _fill_empty_tables(url)
            path = databases.root / f"{backend}.jsonl"
            exported = _citydeal(url, "export", str(path))
            assert exported.returncode == 0, exported.stderr
            assert "exported" in exported.stderr
            made[backend] = Source(backend, url, path)
        return made[backend]

    return source


def _rows(url: str, table: Table) -> list[dict[str, Any]]:
    engine = make_engine(url)
    with engine.connect() as connection:
        query = select(table).order_by(*table.primary_key.columns)
        rows = [dict(row._mapping) for row in connection.execute(query)]
    engine.dispose()
    return rows


def _counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    with engine.connect() as connection:
        counts = {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in EXPORTED
        }
    engine.dispose()
    return counts


# --- what is exported -----------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_table_in_the_database_is_exported_or_excluded_with_a_reason(
    databases: Databases, backend: str
) -> None:
    url = databases.fresh(backend, "tables")
    engine = make_engine(url)
    with engine.connect() as connection:
        present = set(inspect(connection).get_table_names())
        assert unaccounted_tables(connection, SCHEMA, BACKUP) == []
    engine.dispose()
    exported = {table.name for table in EXPORTED}
    others = {
        name
        for name in present
        if name == ALEMBIC_TABLE or name.startswith(BACKUP.foreign_prefixes)
    }
    assert present - others == exported | set(BACKUP.excluded)
    assert not exported & set(BACKUP.excluded)
    assert all(len(reason) > 20 for reason in BACKUP.excluded.values())
    # The whole of the list is in: organisations, people, listings, profiles,
    # events, meetings, leads, checkpoints and the audit log.
    assert {
        "organisation",
        "person",
        "listing",
        "investor_profile",
        "pitch_event",
        "event_meeting",
        "interest",
        "checkpoint",
        "audit_event",
        "api_key",
    } <= exported
    for table in EXPORTED:  # a column of a type the format does not know fails here
        for column in table.columns:
            codec_for(column)


def test_a_table_no_model_declares_stops_the_export(databases: Databases) -> None:
    url = databases.fresh("sqlite", "stray")
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE stray_notes (id INTEGER PRIMARY KEY)"))
    out = Path(databases.root / "stray.jsonl")
    with pytest.raises(BackupError, match="stray_notes"), out.open("w") as file:
        export(engine, SCHEMA, BACKUP, file)
    engine.dispose()
    failed = _citydeal(url, "export", str(out.with_name("stray-cli.jsonl")))
    assert failed.returncode == 2
    assert "stray_notes" in failed.stderr
    assert not out.with_name("stray-cli.jsonl").exists()  # no file that looks like a backup


# --- the round trip -------------------------------------------------------------------


@pytest.mark.parametrize(("source_backend", "target_backend"), PAIRS)
def test_the_seed_round_trips_row_for_row(
    sources: Callable[[str], Source],
    databases: Databases,
    source_backend: str,
    target_backend: str,
) -> None:
    source = sources(source_backend)
    written = source.export.read_text(encoding="utf-8")
    source_counts = _counts(source.url)
    assert all(source_counts.values()), f"tables without a row to prove: {source_counts}"

    # Secrets never leave: not one password hash is in the file.
    hashes = [row["password_hash"] for row in _rows(source.url, SCHEMA.tables["person"])]
    assert hashes
    assert all(hashes)
    assert not [h for h in hashes if h in written]
    header = json.loads(written.splitlines()[0])
    assert header["revision"]
    assert header["source"] == source_backend
    assert set(header["excluded"]) == set(BACKUP.excluded)
    lines = [json.loads(line) for line in written.splitlines()[1:-1]]
    assert not {line["table"] for line in lines} & set(BACKUP.excluded)

    target = databases.fresh(target_backend, f"target_{source_backend}")
    imported = _citydeal(target, "import", str(source.export))
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert f"imported {sum(source_counts.values())} rows" in imported.stdout

    for table in EXPORTED:
        before, after = _rows(source.url, table), _rows(target, table)
        if table.name == "person":
            assert all(row["password_hash"] is None for row in after)
            before = [{**row, "password_hash": None} for row in before]
        assert after == before, table.name
    excluded_after = {name: len(_rows(target, SCHEMA.tables[name])) for name in BACKUP.excluded}
    assert excluded_after == {
        **dict.fromkeys(BACKUP.excluded, 0),
        "province": len(_rows(source.url, SCHEMA.tables["province"])),  # from db upgrade
    }

    # The app goes on: new rows get new ids (PostgreSQL's sequences were moved past the
    # restored ones), and the exported file of the copy is the file of the original.
    with writing({"CITYDEAL_DATABASE_URL": target}) as session:  # as `citydeal orgs create`
        session.add(
            Organisation(
                slug="after-restore",
                name_th="หลังกู้คืน",
                name_en="After the restore",
                kind=OrganisationKind.city_company,
            )
        )
    organisations = _rows(target, SCHEMA.tables["organisation"])
    assert organisations[-1]["slug"] == "after-restore"
    assert organisations[-1]["id"] == organisations[-2]["id"] + 1
    if target_backend == "postgresql":
        engine = make_engine(target)
        with engine.begin() as connection:
            for table in EXPORTED:
                for column in table.primary_key.columns:
                    sequence = connection.execute(
                        select(func.pg_get_serial_sequence(table.name, column.name))
                    ).scalar()
                    if sequence is None:
                        continue
                    highest = connection.execute(select(func.max(column))).scalar() or 0
                    following = connection.execute(select(func.nextval(sequence))).scalar_one()
                    assert following == highest + 1, table.name
        engine.dispose()


def test_a_pipe_works_both_ways(sources: Callable[[str], Source], databases: Databases) -> None:
    source = sources("sqlite")
    piped = _citydeal(source.url, "export")
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.splitlines()[1:] == source.export.read_text("utf-8").splitlines()[1:]
    assert piped.stdout.splitlines()[-1].startswith('{"end":')
    assert "exported" in piped.stderr  # the summary goes to standard error

    target = databases.fresh("sqlite", "piped")
    imported = _citydeal(target, "import", "-", stdin=piped.stdout)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert _counts(target) == _counts(source.url)


def test_vectors_go_along_when_asked(
    sources: Callable[[str], Source], databases: Databases
) -> None:
    source = sources("sqlite")
    path = databases.root / "with-vectors.jsonl"
    done = _citydeal(source.url, "export", "--with-vectors", str(path))
    assert done.returncode == 0, done.stderr
    header = json.loads(path.read_text("utf-8").splitlines()[0])
    assert "listing_vector" not in header["excluded"]
    assert "derived_cursor" in header["excluded"]

    target = databases.fresh(BACKENDS[-1], "vectors")  # PostgreSQL when there is one
    imported = _citydeal(target, "import", str(path))
    assert imported.returncode == 0, imported.stdout + imported.stderr
    vectors = SCHEMA.tables["listing_vector"]
    restored = _rows(target, vectors)
    assert restored
    assert restored == _rows(source.url, vectors)
    assert restored[0]["vector"] == bytes(range(256))


# --- refusals -------------------------------------------------------------------------


def _edit_last(table: str, change: Callable[[dict[str, Any]], None]) -> Callable[[list[str]], None]:
    def edit(lines: list[str]) -> None:
        at = max(i for i, line in enumerate(lines) if line.startswith(f'{{"table":"{table}"'))
        document = json.loads(lines[at])
        change(document["row"])
        lines[at] = json.dumps(document, ensure_ascii=False)

    return edit


def _set(column: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda row: row.__setitem__(column, value)


def _before_trailer(line: dict[str, Any]) -> Callable[[list[str]], None]:
    return lambda lines: lines.insert(len(lines) - 1, json.dumps(line))


def _header(**changes: Any) -> Callable[[list[str]], None]:
    def edit(lines: list[str]) -> None:
        lines[0] = json.dumps({**json.loads(lines[0]), **changes})

    return edit


def _drop_trailer(lines: list[str]) -> None:
    del lines[-1]


def _drop_last_row(lines: list[str]) -> None:
    del lines[-2]


def _duplicate_last_listing(lines: list[str]) -> None:
    at = max(i for i, line in enumerate(lines) if line.startswith('{"table":"listing"'))
    lines.insert(at, lines[at])


BAD_FILES: dict[str, tuple[Callable[[list[str]], None], str]] = {
    "not JSON": (lambda lines: lines.insert(len(lines) - 1, '{"table": "listing"'), "not JSON"),
    "not an object": (lambda lines: lines.insert(len(lines) - 1, "[1, 2]"), "not a JSON object"),
    "unknown table": (_before_trailer({"table": "nowhere", "row": {}}), "no table nowhere"),
    "excluded table": (
        _before_trailer({"table": "person_session", "row": {"id": 1}}),
        "person_session is not restored (sign-in sessions",
    ),
    "unknown column": (_edit_last("listing", _set("colour", "red")), "no column colour"),
    "missing column": (_edit_last("listing", lambda row: row.pop("stage")), "lacks column stage"),
    "wrong type": (
        _edit_last("listing", _set("capital_min_thb", "a lot")),
        "listing.capital_min_thb: expected an integer",
    ),
    "naive datetime": (
        _edit_last("listing", _set("created_at", "2026-12-02T06:30:00")),
        "listing.created_at: expected a date and time with its offset",
    ),
    "not a date": (_edit_last("checkpoint", _set("due_on", "next week")), "ISO 8601 date"),
    "null where none may be": (_edit_last("listing", _set("slug", None)), "cannot be null"),
    "too long": (_edit_last("listing", _set("slug", "x" * 81)), "longer than 80"),
    "dangling reference": (
        _edit_last("listing", _set("organisation_id", 999_999)),
        "rows of table listing from line",
    ),
    "duplicate row": (_duplicate_last_listing, "rows of table listing from line"),
    "cut short": (_drop_trailer, "cut short"),
    "row taken out": (_drop_last_row, "altered"),
    "another format": (_header(format="something-else"), "header"),
    "another version": (_header(version=99), "version 99"),
    "another revision": (_header(revision="0001"), "migration '0001'"),
    "empty": (lambda lines: lines.clear(), "empty"),
}


@pytest.fixture(scope="module")
def empty_targets(databases: Databases) -> Callable[[str], str]:
    made: dict[str, str] = {}

    def target(backend: str) -> str:
        if backend not in made:
            made[backend] = databases.fresh(backend, "refusals")
        return made[backend]

    return target


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", BAD_FILES)
def test_a_file_that_is_not_a_whole_matching_export_changes_nothing(
    sources: Callable[[str], Source],
    empty_targets: Callable[[str], str],
    backend: str,
    case: str,
) -> None:
    edit, message = BAD_FILES[case]
    lines = sources("sqlite").export.read_text("utf-8").splitlines()
    edit(lines)
    target = empty_targets(backend)
    engine = for_writing(make_engine(target))
    with pytest.raises(BackupError, match=re.escape(message)) as refused:
        restore(engine, SCHEMA, BACKUP, lines)
    engine.dispose()
    assert "Traceback" not in str(refused.value)
    assert set(_counts(target).values()) == {0}  # one transaction: nothing stayed


def test_the_refusals_tell_what_to_do(
    sources: Callable[[str], Source], databases: Databases, tmp_path: Path
) -> None:
    source = sources("sqlite")
    # Into a database that already holds data: refused, naming a table with rows.
    again = _citydeal(source.url, "import", str(source.export))
    assert again.returncode == 2
    said = " ".join(again.stderr.split())
    assert "nothing was imported: the database is not empty (table audit_event has rows)" in said

    # From another migration: refused, saying which and how to get there.
    lines = source.export.read_text("utf-8").splitlines()
    lines[0] = json.dumps({**json.loads(lines[0]), "revision": "0003"})
    older = tmp_path / "older.jsonl"
    older.write_text("\n".join(lines) + "\n", encoding="utf-8")
    target = databases.fresh("sqlite", "revision")
    refused = _citydeal(target, "import", str(older))
    assert refused.returncode == 2
    said = " ".join(refused.stderr.split())
    assert "migration '0003'" in said
    assert "citydeal db upgrade" in said

    # No database to read or write: one line, exit 1, no file left behind.
    nowhere = "postgresql+psycopg://postgres@127.0.0.1:9/nowhere"
    for command in (["export", str(tmp_path / "never.jsonl")], ["import", str(older)]):
        down = _citydeal(nowhere, *command)
        assert down.returncode == 1, down.stderr
        assert "database unavailable" in down.stderr
        assert "Traceback" not in down.stderr
    assert not list(tmp_path.glob("never.jsonl*"))

    # Not a file at all, or not text.
    assert _citydeal(target, "import", str(tmp_path / "missing.jsonl")).returncode == 2
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    undecodable = _citydeal(target, "import", str(binary))
    assert undecodable.returncode == 2
    assert "not UTF-8" in undecodable.stderr
    assert set(_counts(target).values()) == {0}
