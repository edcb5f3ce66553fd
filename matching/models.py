"""Database tables of matching: investor profiles and expressions of interest."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Integer, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from catalog.models import Listing
from core.audit import owner_column, owner_through, track
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
    horizon_years: int | None = None
    min_irr_pct: float | None = None
    thesis: str = ""
    excluded_sectors: list[str] = Field(default_factory=list, sa_type=JSON)
    excluded_models: list[str] = Field(default_factory=list, sa_type=JSON)
    discoverable: bool = False
    min_score: float | None = None  # matches below are left out; None: the matching threshold
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
    contact: str = Field(default="", max_length=300)  # how the investor would be contacted
    withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SavedSearch(SQLModel, table=True):
    """A catalogue view (``kind`` search: its query parameters) or a profile's matches
    above a score (``kind`` matches), kept by a person, with a secret feed and a digest."""

    __tablename__ = "saved_search"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("person.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    name: str = Field(max_length=200)
    kind: str = Field(max_length=16)  # search | matches
    params: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    profile_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("investor_profile.id", ondelete="CASCADE")),
    )
    min_score: float | None = None
    feed_token: str = Field(max_length=64, unique=True)  # the secret in the feed's URL
    frequency: str = Field(default="none", max_length=8)  # none | daily | weekly
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_digest_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ShortlistItem(SQLModel, table=True):
    """A listing a person keeps to compare."""

    __tablename__ = "shortlist_item"
    __table_args__ = (UniqueConstraint("person_id", "listing_id"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("person.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    listing_id: int = Field(
        sa_column=Column(Integer, ForeignKey("listing.id", ondelete="CASCADE"), nullable=False)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# The audit log (core.audit). A lead is the city company's: its notes are its own.
track(InvestorProfile, "investor_profile", owner=owner_column())
track(Interest, "lead", owner=owner_through(Listing, "listing_id"))
