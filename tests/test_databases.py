"""The copies the suite runs on (tests/databases.py) hold what migrating and seeding write."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, select

from api.migrate import upgrade
from core.db import make_engine
from tests.databases import migrated_database, seed_in_place

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _timeless(value: Any) -> Any:
    """A value without the moments it was written and the time a step took (which differ
    between two seedings by nature): timestamps and ``seconds`` in JSON become markers."""
    if isinstance(value, datetime):
        return "<time>"
    if isinstance(value, str) and TIMESTAMP.match(value):
        return "<time>"
    if isinstance(value, dict):
        return {k: "<seconds>" if k == "seconds" else _timeless(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_timeless(item) for item in value]
    return value


def _rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in the order of its columns, without its timestamps."""
    engine = make_engine(url)
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        with engine.connect() as connection:
            return {
                table.name: [
                    tuple(_timeless(value) for value in row)
                    for row in connection.execute(select(table).order_by(*table.primary_key))
                ]
                for table in metadata.sorted_tables
            }
    finally:
        engine.dispose()


def test_a_seeded_copy_holds_the_rows_of_a_database_seeded_in_place(tmp_path: Path) -> None:
    in_place = f"sqlite:///{tmp_path / 'in-place.db'}"
    upgrade(in_place)
    seed_in_place(in_place)
    copied = f"sqlite:///{tmp_path / 'copied.db'}"
    migrated_database(copied, seeded=True)
    expected = _rows(in_place)
    assert sum(len(rows) for rows in expected.values()) > 1000  # the seed, not empty tables
    assert _rows(copied) == expected


def test_a_database_with_tables_is_migrated_in_place_not_replaced(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kept.db'}"
    migrated_database(url)
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO organisation (slug, name_th, name_en, kind, created_at) "
            "VALUES ('kept', 'เก็บไว้', 'Kept', 'investor', '2026-12-03 00:00:00')"
        )
    engine.dispose()
    migrated_database(url, seeded=True)
    engine = make_engine(url)
    with engine.connect() as connection:
        slugs = set(connection.exec_driver_sql("SELECT slug FROM organisation").scalars())
    engine.dispose()
    assert "kept" in slugs
    assert "nakhon-sawan-development" in slugs
