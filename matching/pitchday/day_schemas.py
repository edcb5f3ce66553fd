"""What the API of a pitch day's own day takes and returns: agendas, their publication,
check-in, the outcomes of meetings and the organiser's figures."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field

from catalog.schemas import CityRef
from core.schemas import StrictModel


class Party(StrEnum):
    """The two sides of a meeting: an attending investor profile, a listing at the event."""

    investor = "investor"
    listing = "listing"


class Outcome(StrEnum):
    no_show = "no-show"
    met = "met"
    follow_up = "follow-up"
    letter_of_intent = "letter-of-intent"


HELD = frozenset({Outcome.met, Outcome.follow_up, Outcome.letter_of_intent})


class ParticipantPublic(BaseModel):
    party: Party
    ref: str = Field(description="The investor profile's id, or the listing's slug.")
    name_th: str
    name_en: str
    checked_in_at: datetime | None


class AgendaEvent(BaseModel):
    slug: str
    name_th: str
    name_en: str
    venue_th: str
    venue_en: str
    held_on: date
    city: CityRef
    sequence: int = Field(description="The event's version: it moves up with every change.")
    revised_at: datetime = Field(description="When the event or its plan last changed.")


class AgendaMeeting(BaseModel):
    meeting_id: int
    uid: str = Field(description="The meeting's calendar UID: the same for the same pair.")
    slot: int = Field(description="The meeting round, from 0.")
    starts_at: datetime = Field(description="Local time in Thailand (+07:00).")
    ends_at: datetime
    table_no: int | None
    with_party: Party
    with_ref: str | None = Field(description="Null when the investor's name is not shown.")
    with_name_th: str | None = Field(description="Null when the investor's name is not shown.")
    with_name_en: str | None
    listing_slug: str
    source: str
    outcome: Outcome | None
    outcome_note: str
    outcome_at: datetime | None


class PitchSlot(BaseModel):
    position: int = Field(description="The order of the pitch, from 0.")
    starts_at: datetime
    ends_at: datetime
    listing_slug: str
    title_th: str
    title_en: str
    own: bool = Field(description="The agenda's own listing pitches in this slot.")


class AgendaPublic(BaseModel):
    event: AgendaEvent
    participant: ParticipantPublic
    published: bool = Field(description="Whether the organiser has published the schedule.")
    meetings: list[AgendaMeeting] = Field(
        description="In time order; before publication only the organiser sees them."
    )
    programme: list[PitchSlot] = Field(description="Who pitches when.")
    feed_url: str | None = Field(
        default=None,
        description="The secret calendar feed, for the participant's own people once made "
        "(POST …/feed-token).",
    )


class AgendasPublic(BaseModel):
    data: list[AgendaPublic]


class AgendaFeed(BaseModel):
    feed_url: str


class SchedulePublication(BaseModel):
    event: str
    schedule_published_at: datetime
    version: int
    mails_queued: int = Field(description="Agenda e-mails queued (none without SMTP).")


class CheckInUpdate(StrictModel):
    present: bool = Field(description="True: checked in now (kept if already); false: undone.")


class CheckInsPublic(BaseModel):
    investors: list[ParticipantPublic]
    listings: list[ParticipantPublic]
    investors_checked_in: int
    listings_checked_in: int


class NoShowsRecorded(BaseModel):
    recorded: int = Field(description="Meetings without an outcome now marked no-show.")


NoteText = Annotated[str, Field(max_length=2000)]


class OutcomeUpdate(StrictModel):
    outcome: Outcome | None = Field(description="What came of the meeting; null clears it.")
    note: NoteText = ""


class LeadEffect(BaseModel):
    lead_id: int
    status: str
    created: bool = Field(description="The outcome created this lead.")
    advanced: bool = Field(description="The outcome moved the lead's status forward.")


class MeetingOutcomePublic(BaseModel):
    meeting_id: int
    slot: int
    listing_slug: str
    investor_profile_id: int
    outcome: Outcome | None
    note: str
    outcome_at: datetime | None
    lead: LeadEffect | None = Field(description="The lead a follow-up or LOI made or moved.")


class FigureRow(BaseModel):
    key: str = Field(description="The city's slug, the sector, or 'all'.")
    name_th: str
    name_en: str
    planned: int
    held: int = Field(description="Met, follow-up agreed or letter of intent.")
    no_shows: int
    follow_ups: int
    letters_of_intent: int
    unrecorded: int


class EventFigures(BaseModel):
    event: str
    total: FigureRow
    by_city: list[FigureRow]
    by_sector: list[FigureRow]
    investors: int
    investors_checked_in: int
    listings: int
    listings_checked_in: int
