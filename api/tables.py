"""Imports every table module so that ``SQLModel.metadata`` knows the whole schema."""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlmodel import SQLModel

import catalog.models
import matching.models
import matching.pitchday.models

TABLE_MODULES = (catalog.models, matching.models, matching.pitchday.models)


def metadata() -> MetaData:
    return SQLModel.metadata
