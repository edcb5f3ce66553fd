"""The backup format on a schema of its own: every kind of column round-trips exactly,
and what the format cannot do (a new column type, a foreign-key cycle, a policy naming
what is not there) is refused up front rather than written wrongly."""

from __future__ import annotations

import enum
import io
import json
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Integer,
    Interval,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    Uuid,
    func,
    select,
    text,
)
from sqlalchemy import Enum as SAEnum

from core.backup import BackupError, BackupPolicy, codec_for, export, exported_tables, restore
from core.db import UTCDateTime, make_engine


class Colour(enum.Enum):
    red = "R"
    green = "G"


def _schema() -> MetaData:
    metadata = MetaData()
    Table("parent", metadata, Column("id", Integer, primary_key=True), Column("name", String(5)))
    Table(
        "every_type",
        metadata,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
        Column("parent_id", ForeignKey("parent.id"), nullable=False),
        Column("flag", Boolean, nullable=False),
        Column("ratio", Float),
        Column("money", Numeric(12, 4)),
        Column("at", UTCDateTime),
        Column("local", DateTime),
        Column("day", Date),
        Column("blob", LargeBinary),
        Column("doc", JSON),
        Column("colour", SAEnum(Colour)),
        Column("body", Text),
        Column("uid", Uuid),
        Column("secret", String(20)),
    )
    Table("noise", metadata, Column("id", Integer, primary_key=True))
    return metadata


POLICY = BackupPolicy(
    excluded={"noise": "nothing worth keeping"},
    withheld={("every_type", "secret"): "never leaves"},
)
ROW: dict[str, Any] = {
    "id": 7,
    "parent_id": 1,
    "flag": True,
    "ratio": 0.1 + 0.2,  # not a short decimal: repr must round-trip it exactly
    "money": Decimal("12345678.0125"),
    "at": datetime(2026, 12, 2, 6, 30, 1, 123456, tzinfo=UTC),
    "local": datetime(2026, 1, 2, 3, 4, 5),
    "day": date(2026, 2, 28),
    "blob": bytes(range(256)),
    "doc": {"ชื่อ": "ขอนแก่น", "n": [1, 2.5, None, True]},
    "colour": Colour.green,
    "body": 'บรรทัดหนึ่ง\nline two \u2028 and a quote "',
    "uid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "secret": "hunter2",
}


def _database(tmp_path: Path, name: str, metadata: MetaData) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / name}.db")
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32))"))
        connection.execute(text("INSERT INTO alembic_version VALUES ('r1')"))
    return engine


def _exported(engine: Engine, metadata: MetaData) -> str:
    out = io.StringIO()
    export(engine, metadata, POLICY, out)
    return out.getvalue()


def test_every_kind_of_value_round_trips(tmp_path: Path) -> None:
    metadata = _schema()
    source = _database(tmp_path, "source", metadata)
    with source.begin() as connection:
        connection.execute(metadata.tables["parent"].insert(), [{"id": 1, "name": "ก"}])
        connection.execute(metadata.tables["every_type"].insert(), ROW)
        connection.execute(
            metadata.tables["every_type"].insert(), {"id": 8, "parent_id": 1, "flag": False}
        )
        connection.execute(metadata.tables["noise"].insert(), [{"id": 1}])
    written = _exported(source, metadata)
    lines = [json.loads(line) for line in written.splitlines()]
    assert lines[0]["revision"] == "r1"
    assert lines[0]["excluded"] == {"noise": "nothing worth keeping"}
    assert lines[0]["withheld"] == {"every_type.secret": "never leaves"}
    assert [line.get("table") for line in lines[1:-1]] == ["parent", "every_type", "every_type"]
    assert lines[-1] == {"end": {"parent": 1, "every_type": 2}}
    row = lines[2]["row"]
    assert row["at"] == "2026-12-02T06:30:01.123456+00:00"
    assert row["money"] == "12345678.0125"
    assert row["colour"] == "green"  # what the database keeps (the name, by default)
    assert row["secret"] is None
    assert "hunter2" not in written
    assert "ขอนแก่น" in written  # human-readable, not \\u escapes

    target = _database(tmp_path, "target", metadata)
    report = restore(target, metadata, POLICY, io.StringIO(written))
    assert report.rows == {"parent": 1, "every_type": 2}
    table = metadata.tables["every_type"]
    with target.connect() as connection:
        restored = [
            dict(r._mapping) for r in connection.execute(select(table).order_by(table.c.id))
        ]
        assert (
            connection.execute(select(func.count()).select_from(metadata.tables["noise"])).scalar()
            == 0
        )
    assert restored[0] == {**ROW, "secret": None}
    assert restored[1]["flag"] is False
    assert restored[1]["blob"] is None


def test_an_offset_other_than_utc_is_kept_as_the_same_instant(tmp_path: Path) -> None:
    metadata = _schema()
    engine = _database(tmp_path, "db", metadata)
    bangkok = timezone(timedelta(hours=7))
    lines = [
        json.dumps({"format": "citydeal-export", "version": 1, "revision": "r1"}),
        json.dumps({"table": "parent", "row": {"id": 1, "name": "x"}}),
        json.dumps(
            {
                "table": "every_type",
                "row": {
                    **dict.fromkeys(ROW),
                    "id": 1,
                    "parent_id": 1,
                    "flag": True,
                    "at": "2026-12-02T13:30:00+07:00",
                },
            }
        ),
        json.dumps({"end": {"parent": 1, "every_type": 1}}),
    ]
    restore(engine, metadata, POLICY, lines)
    with engine.connect() as connection:
        at = connection.execute(select(metadata.tables["every_type"].c.at)).scalar_one()
    assert at == datetime(2026, 12, 2, 13, 30, tzinfo=bangkok)
    assert at.tzinfo == UTC


def test_a_column_type_the_format_does_not_know_is_refused_by_name() -> None:
    metadata = MetaData()
    table = Table("t", metadata, Column("id", Integer, primary_key=True), Column("span", Interval))
    with pytest.raises(BackupError, match=r"t\.span"):
        codec_for(table.c.span)


def test_a_foreign_key_cycle_is_refused() -> None:
    metadata = MetaData()
    Table(
        "a", metadata, Column("id", Integer, primary_key=True), Column("b_id", ForeignKey("b.id"))
    )
    Table(
        "b", metadata, Column("id", Integer, primary_key=True), Column("a_id", ForeignKey("a.id"))
    )
    with pytest.raises(BackupError, match="cycle"):
        exported_tables(metadata, BackupPolicy())


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        (BackupPolicy(excluded={"nowhere": "x"}), "table nowhere"),
        (BackupPolicy(withheld={("parent", "nothing"): "x"}), r"parent\.nothing"),
        (BackupPolicy(withheld={("every_type", "flag"): "x"}), "cannot be null"),
    ],
)
def test_a_policy_naming_what_is_not_there_is_refused(policy: BackupPolicy, message: str) -> None:
    with pytest.raises(BackupError, match=message):
        exported_tables(_schema(), policy)


def test_a_database_never_migrated_is_refused(tmp_path: Path) -> None:
    metadata = _schema()
    engine = make_engine(f"sqlite:///{tmp_path / 'bare.db'}")
    metadata.create_all(engine)
    with pytest.raises(BackupError, match="citydeal db upgrade"):
        _exported(engine, metadata)
