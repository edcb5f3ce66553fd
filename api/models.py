"""Tables owned by the web layer: API keys."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from core.db import UTCDateTime, utcnow


class ApiKey(SQLModel, table=True):
    """A key is shown once; only its prefix (for lookup) and SHA-256 digest are kept."""

    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    role: str = Field(max_length=32)
    prefix: str = Field(max_length=16, unique=True)
    digest: str = Field(max_length=64)
    label: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
