"""Imports every table module so that ``SQLModel.metadata`` knows the whole schema."""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlmodel import SQLModel

import catalog.accounts.models  # noqa: F401 (imported for its tables)
import catalog.analytics  # noqa: F401
import catalog.models  # noqa: F401
import core.jobs  # noqa: F401
import matching.models  # noqa: F401
import matching.pitchday.models  # noqa: F401


def metadata() -> MetaData:
    return SQLModel.metadata


def ours(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Alembic's ``include_object``: procrastinate's tables (PostgreSQL) are its own,
    installed by a migration of ours, not declared by our models."""
    return not (type_ == "table" and name is not None and name.startswith("procrastinate_"))
