"""Imports every table module so that ``SQLModel.metadata`` knows the whole schema."""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlmodel import SQLModel

import catalog.accounts.models  # noqa: F401 (imported for its tables)
import catalog.models  # noqa: F401
import matching.models  # noqa: F401
import matching.pitchday.models  # noqa: F401


def metadata() -> MetaData:
    return SQLModel.metadata
