"""Database tables of pitch days: events, who takes part, and the meetings planned."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, ForeignKey, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.db import UTCDateTime, utcnow


class PitchEvent(SQLModel, table=True):
    __tablename__ = "pitch_event"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=80, unique=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    city_id: int = Field(foreign_key="city.id", index=True)
    name_th: str = Field(max_length=200)
    name_en: str = Field(max_length=200)
    venue_th: str = Field(default="", max_length=300)
    venue_en: str = Field(default="", max_length=300)
    held_on: date
    first_slot: str = Field(max_length=5)  # "HH:MM", local time in Thailand
    slot_minutes: int
    slot_count: int
    version: int = 1
    scheduled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class EventListing(SQLModel, table=True):
    """A listing that pitches at the event, in the programme's order."""

    __tablename__ = "event_listing"

    event_id: int = Field(
        sa_column=Column(ForeignKey("pitch_event.id", ondelete="CASCADE"), primary_key=True)
    )
    listing_id: int = Field(
        sa_column=Column(ForeignKey("listing.id", ondelete="CASCADE"), primary_key=True)
    )
    position: int


class EventInvestor(SQLModel, table=True):
    """An investor profile that attends the event."""

    __tablename__ = "event_investor"

    event_id: int = Field(
        sa_column=Column(ForeignKey("pitch_event.id", ondelete="CASCADE"), primary_key=True)
    )
    investor_profile_id: int = Field(
        sa_column=Column(ForeignKey("investor_profile.id", ondelete="CASCADE"), primary_key=True)
    )
    position: int


class Meeting(SQLModel, table=True):
    """A planned one-to-one: nobody is in two meetings in the same slot (the two unique
    constraints say so to the database too)."""

    __tablename__ = "event_meeting"
    __table_args__ = (
        UniqueConstraint("event_id", "slot", "listing_id"),
        UniqueConstraint("event_id", "slot", "investor_profile_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(
        sa_column=Column(
            ForeignKey("pitch_event.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    slot: int
    listing_id: int = Field(
        sa_column=Column(ForeignKey("listing.id", ondelete="CASCADE"), nullable=False)
    )
    investor_profile_id: int = Field(
        sa_column=Column(ForeignKey("investor_profile.id", ondelete="CASCADE"), nullable=False)
    )
    score: float
