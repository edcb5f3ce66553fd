"""Database tables of the catalogue."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from core.audit import owner_column, owner_through, track
from core.db import UTCDateTime, utcnow


def _enum_column(length: int = 32) -> Any:
    # Enums are stored as their string values, never as database enum types, so adding a
    # value is a code change rather than a schema migration.
    return String(length)


class Province(SQLModel, table=True):
    code: str = Field(primary_key=True, max_length=2)
    name_th: str = Field(max_length=100)
    name_en: str = Field(max_length=100)
    region: str = Field(sa_type=_enum_column(), index=True)


class City(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=80, unique=True)
    province_code: str = Field(foreign_key="province.code", max_length=2, index=True)
    name_th: str = Field(max_length=200)
    name_en: str = Field(max_length=200)
    kind: str = Field(sa_type=_enum_column())
    is_pilot: bool = False
    is_charter_member: bool = False
    lat: float | None = None
    lon: float | None = None
    profile_th: str = ""
    profile_en: str = ""


class SmartBlock(SQLModel, table=True):
    __tablename__ = "smart_block"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=80, unique=True)
    city_id: int = Field(foreign_key="city.id", index=True)
    name_th: str = Field(max_length=200)
    name_en: str = Field(max_length=200)
    description_th: str = ""
    description_en: str = ""
    boundary: dict[str, Any] | None = Field(default=None, sa_type=JSON)


class Organisation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=80, unique=True)
    name_th: str = Field(max_length=200)
    name_en: str = Field(max_length=200)
    kind: str = Field(sa_type=_enum_column())
    city_id: int | None = Field(default=None, foreign_key="city.id", index=True)
    email: str | None = Field(default=None, max_length=200)
    website: str | None = Field(default=None, max_length=300)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Set by an admin: until then a self-registered investor is not shown to publishers.
    verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


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
    created_by: int | None = Field(default=None, foreign_key="person.id")
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Listing(SQLModel, table=True):
    __table_args__ = (
        Index("ix_listing_status_published_at", "status", "published_at"),
        Index("ix_listing_capital", "capital_min_thb", "capital_max_thb"),
    )

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=80, unique=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    kind: str = Field(sa_type=_enum_column(), index=True)
    status: str = Field(sa_type=_enum_column())
    sector: str = Field(sa_type=_enum_column(), index=True)
    city_id: int = Field(foreign_key="city.id", index=True)
    smart_block_id: int | None = Field(default=None, foreign_key="smart_block.id", index=True)
    stage: str = Field(sa_type=_enum_column(), index=True)
    title_th: str = Field(max_length=200)
    title_en: str = Field(default="", max_length=200)
    summary_th: str = Field(max_length=600)
    summary_en: str = Field(default="", max_length=600)
    description_th: str
    description_en: str = ""
    capital_min_thb: int = Field(sa_type=BigInteger)
    capital_max_thb: int = Field(sa_type=BigInteger)
    expected_irr_pct: float | None = None
    payback_years: float | None = None
    incentives: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    documents: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    contacts: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    archived_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ListingModel(SQLModel, table=True):
    """An investment model a listing accepts; a table so that filters stay plain SQL."""

    __tablename__ = "listing_model"
    __table_args__ = (Index("ix_listing_model_model", "model", "listing_id"),)

    listing_id: int = Field(
        sa_column=Column(ForeignKey("listing.id", ondelete="CASCADE"), primary_key=True)
    )
    model: str = Field(sa_type=_enum_column(), primary_key=True)


class HowToInvestStep(SQLModel, table=True):
    __tablename__ = "how_to_invest_step"
    __table_args__ = (UniqueConstraint("listing_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    listing_id: int = Field(sa_column=Column(ForeignKey("listing.id", ondelete="CASCADE")))
    position: int
    title_th: str = Field(max_length=200)
    title_en: str = Field(default="", max_length=200)
    detail_th: str = ""
    detail_en: str = ""
    office: str = Field(default="", max_length=300)
    permit: str | None = Field(default=None, max_length=300)
    typical_days: int | None = None
    last_verified: date | None = None


class Checkpoint(SQLModel, table=True):
    """A follow-up 6 or 12 months after publication."""

    __table_args__ = (UniqueConstraint("listing_id", "months"),)

    id: int | None = Field(default=None, primary_key=True)
    listing_id: int = Field(sa_column=Column(ForeignKey("listing.id", ondelete="CASCADE")))
    months: int
    due_on: date
    status: str = Field(sa_type=_enum_column())
    note: str = ""
    evidence_url: str | None = Field(default=None, max_length=500)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ListingChange(SQLModel, table=True):
    """The change log: one row per listing change, written in the same transaction.

    Search indexes are replicas that remember the last ``id`` they applied and catch up
    from here, so the database stays the single source of truth.
    """

    __tablename__ = "listing_change"

    # SQLite only autoincrements an INTEGER primary key, hence the variant.
    id: int | None = Field(
        default=None, sa_type=BigInteger().with_variant(Integer, "sqlite"), primary_key=True
    )
    listing_id: int = Field(index=True)
    version: int
    action: str = Field(sa_type=_enum_column())
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ListingVector(SQLModel, table=True):
    """Derived state: a published listing's title and summary in one language as a unit
    vector of the embedding model, computed in the background from the change log.

    A vector that is recomputed gets a new ``id``, so a replica that remembers the
    highest ``id`` it loaded catches up by reading what came after it.
    """

    __tablename__ = "listing_vector"
    # AUTOINCREMENT: without it SQLite hands a deleted highest id out again, and a
    # replica past that id would never see the new row.
    __table_args__ = (UniqueConstraint("listing_id", "lang"), {"sqlite_autoincrement": True})

    id: int | None = Field(
        default=None, sa_type=BigInteger().with_variant(Integer, "sqlite"), primary_key=True
    )
    listing_id: int = Field(
        sa_column=Column(ForeignKey("listing.id", ondelete="CASCADE"), nullable=False)
    )
    lang: str = Field(max_length=2)
    model: str = Field(max_length=80)
    text_hash: str = Field(max_length=32)  # of the text embedded: unchanged text, no new work
    vector: bytes = Field(sa_type=LargeBinary)  # float16, little-endian
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class DerivedCursor(SQLModel, table=True):
    """How far a shared background follower of the change log has got, and which process
    holds it now (a lease, so one process on one host does each piece of work)."""

    __tablename__ = "derived_cursor"

    name: str = Field(primary_key=True, max_length=40)
    position: int = Field(default=0, sa_type=BigInteger)
    lease_owner: str | None = Field(default=None, max_length=120)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class FxRate(SQLModel, table=True):
    """An indicative exchange rate an admin set: THB for one unit of ``currency`` on
    ``as_of``. Rows are appended; the latest of a currency is the one shown."""

    __tablename__ = "fx_rate"
    __table_args__ = (Index("ix_fx_rate_currency_set", "currency", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    currency: str = Field(max_length=3)
    thb_per_unit: float
    as_of: date
    set_by: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# The audit log (core.audit): every change to these rows, by whom and from where.
track(Organisation, "organisation", owner=lambda _c, row: row.get("id"))
track(ApiKey, "api_key", owner=owner_column(), redact=["digest"])
track(Listing, "listing", owner=owner_column())
track(ListingModel, "listing_model", owner=owner_through(Listing, "listing_id"))
track(HowToInvestStep, "listing_step", owner=owner_through(Listing, "listing_id"))
track(Checkpoint, "checkpoint", owner=owner_through(Listing, "listing_id"))
