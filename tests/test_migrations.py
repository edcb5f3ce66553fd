"""The migrations produce exactly the schema the models declare."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, func
from sqlmodel import col, select

from api.tables import metadata, ours
from catalog.models import Province


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": ours}
        )
        differences = compare_metadata(context, metadata())
    assert differences == []


def test_upgrade_loads_all_77_provinces(engine: Engine) -> None:
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(Province)).scalar_one() == 77
        regions: dict[str, str] = dict(
            connection.execute(select(col(Province.code), col(Province.region))).all()
        )
    assert regions["60"] == "north"  # Nakhon Sawan
    assert regions["21"] == "east"  # Rayong
    assert regions["83"] == "south"  # Phuket
    assert regions["40"] == "northeast"  # Khon Kaen
    assert regions["77"] == "west"  # Prachuap Khiri Khan
    assert regions["13"] == "central"  # Pathum Thani
