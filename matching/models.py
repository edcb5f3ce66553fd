"""Database tables of matching: investor profiles and expressions of interest."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.db import UTCDateTime, utcnow


class InvestorProfile(SQLModel, table=True):
    __tablename__ = "investor_profile"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=80, unique=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    name: str = Field(max_length=200)
    investor_type: str = Field(sa_type=String(32))
    home_country: str = Field(max_length=2)
    languages: list[str] = Field(default_factory=list, sa_type=JSON)
    sectors: list[str] = Field(default_factory=list, sa_type=JSON)
    provinces: list[str] = Field(default_factory=list, sa_type=JSON)
    regions: list[str] = Field(default_factory=list, sa_type=JSON)
    ticket_min_thb: int = Field(sa_type=BigInteger)
    ticket_max_thb: int = Field(sa_type=BigInteger)
    models: list[str] = Field(default_factory=list, sa_type=JSON)
    stages: list[str] = Field(default_factory=list, sa_type=JSON)
    horizon_years: int
    min_irr_pct: float | None = None
    thesis: str = ""
    excluded_sectors: list[str] = Field(default_factory=list, sa_type=JSON)
    excluded_models: list[str] = Field(default_factory=list, sa_type=JSON)
    discoverable: bool = False
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Interest(SQLModel, table=True):
    """An investor's expression of interest in a listing: the publisher's lead."""

    __table_args__ = (UniqueConstraint("listing_id", "investor_profile_id"),)

    id: int | None = Field(default=None, primary_key=True)
    listing_id: int = Field(
        sa_column=Column(ForeignKey("listing.id", ondelete="CASCADE"), index=True, nullable=False)
    )
    investor_profile_id: int = Field(
        sa_column=Column(
            ForeignKey("investor_profile.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    message: str = ""
    status: str = Field(sa_type=String(32))
    notes: str = ""  # the publisher's own, about this lead
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
