"""Database tables of pitch days: events, who takes part, and the meetings planned."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.audit import owner_column, owner_through, track
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
    # Pitch slots: who pitches, one after another from first_slot.
    first_slot: str = Field(max_length=5)  # "HH:MM", local time in Thailand
    slot_minutes: int
    slot_count: int
    # Meeting rounds: one-to-one meetings at tables, from round_first.
    round_first: str = Field(default="14:00", max_length=5)
    round_minutes: int = 20
    round_count: int = 6
    table_count: int = 10
    registration_deadline: date | None = None
    # The rules of the last selection of who pitches, and what it chose and why.
    selection_rules: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    selection: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    selected_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The schedule's quality (placed value, the solver's bound) and when it was published.
    schedule_quality: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    schedule_published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
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
    checked_in_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    agenda_token: str | None = Field(default=None, max_length=64, unique=True)


class EventCandidate(SQLModel, table=True):
    """A listing in the pool the pitching listings are chosen from; pinned ones always
    pitch, excluded ones never."""

    __tablename__ = "event_candidate"

    event_id: int = Field(
        sa_column=Column(ForeignKey("pitch_event.id", ondelete="CASCADE"), primary_key=True)
    )
    listing_id: int = Field(
        sa_column=Column(ForeignKey("listing.id", ondelete="CASCADE"), primary_key=True)
    )
    pinned: bool = False
    excluded: bool = False


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
    checked_in_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    agenda_token: str | None = Field(default=None, max_length=64, unique=True)


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
    table_no: int | None = None  # 1-based; None for meetings planned before tables
    source: str = Field(default="proposal", max_length=16)  # mutual | request | proposal
    outcome: str | None = Field(
        default=None, max_length=24
    )  # no-show|met|follow-up|letter-of-intent
    outcome_note: str = ""
    outcome_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Availability(SQLModel, table=True):
    """A round an investor or a listing's team is free for meetings. A party with no row
    at an event is free in every round."""

    __tablename__ = "event_availability"

    event_id: int = Field(
        sa_column=Column(ForeignKey("pitch_event.id", ondelete="CASCADE"), primary_key=True)
    )
    party: str = Field(primary_key=True, max_length=8)  # investor | listing
    party_id: int = Field(primary_key=True)
    round: int = Field(primary_key=True)


class MeetingRequest(SQLModel, table=True):
    """One side asking to meet the other at an event; the other side accepts or declines.
    Both sides asking makes the pair mutual."""

    __tablename__ = "meeting_request"
    __table_args__ = (
        UniqueConstraint("event_id", "investor_profile_id", "listing_id", "requested_by"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(
        sa_column=Column(
            ForeignKey("pitch_event.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    investor_profile_id: int = Field(
        sa_column=Column(ForeignKey("investor_profile.id", ondelete="CASCADE"), nullable=False)
    )
    listing_id: int = Field(
        sa_column=Column(ForeignKey("listing.id", ondelete="CASCADE"), nullable=False)
    )
    requested_by: str = Field(max_length=8)  # investor | listing
    note: str = Field(default="", max_length=500)
    status: str = Field(default="pending", max_length=12)  # pending | accepted | declined
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# The audit log (core.audit): the organiser's event, who pitches and attends, meetings.
# The selection and the schedule's quality are computed, not edited: not logged.
_event_owner = owner_through(PitchEvent, "event_id")
track(PitchEvent, "event", owner=owner_column(), ignore=["selection", "schedule_quality"])
track(EventListing, "event_pitch", owner=_event_owner, redact=["agenda_token"])
track(EventInvestor, "event_attendee", owner=_event_owner, redact=["agenda_token"])
track(EventCandidate, "event_candidate", owner=_event_owner)
track(Meeting, "meeting", owner=_event_owner)
track(MeetingRequest, "meeting_request", owner=_event_owner)
