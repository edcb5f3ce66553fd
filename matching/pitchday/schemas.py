"""What the pitch-day API takes and returns."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Annotated, Self

from pydantic import BaseModel, Field, model_validator

from catalog.schemas import CityRef, ListingSummary
from core.schemas import StrictModel, partial_model
from core.text import OptionalTitle, Slug, Title
from matching.schemas import Reason

SlotTime = Annotated[
    str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="Local time, HH:MM.")
]
SlotMinutes = Annotated[int, Field(ge=5, le=120)]
SlotCount = Annotated[int, Field(ge=1, le=40)]
Venue = Annotated[str, Field(max_length=300)]
ListingSlugs = Annotated[list[Slug], Field(max_length=100)]
ProfileIds = Annotated[list[Annotated[int, Field(ge=1, le=2**31 - 1)]], Field(max_length=500)]
DAY = timedelta(days=1)
DEFAULT_MIN_SCORE = 40.0


def slot_start(first_slot: str, slot_minutes: int, slot: int) -> str:
    """``HH:MM`` of a slot's start."""
    start = datetime.combine(date.min, time.fromisoformat(first_slot))
    return (start + timedelta(minutes=slot_minutes * slot)).strftime("%H:%M")


def fits_in_a_day(first_slot: str, slot_minutes: int, slot_count: int) -> None:
    start = datetime.combine(date.min, time.fromisoformat(first_slot))
    if start + timedelta(minutes=slot_minutes * slot_count) - datetime.min > DAY:
        raise ValueError("the meeting slots must end by midnight")


class EventCreate(StrictModel):
    slug: Slug | None = Field(default=None, description="Made from name_en when omitted.")
    city: Slug
    name_th: Title
    name_en: OptionalTitle = ""
    venue_th: Venue = ""
    venue_en: Venue = ""
    held_on: date
    first_slot: SlotTime = "13:00"
    slot_minutes: SlotMinutes = 20
    slot_count: SlotCount = 6
    listings: ListingSlugs = Field(default=[], description="Published listings that pitch.")
    investors: ProfileIds = Field(
        default=[], description="Investor profiles: discoverable ones, or the organiser's own."
    )

    @model_validator(mode="after")
    def _slots_fit(self) -> Self:
        fits_in_a_day(self.first_slot, self.slot_minutes, self.slot_count)
        return self


if TYPE_CHECKING:
    EventUpdate = StrictModel
else:
    EventUpdate = partial_model(
        "EventUpdate",
        EventCreate,
        exclude=frozenset({"slug", "city"}),
        doc="The fields sent are changed; changing who takes part clears the schedule.",
    )


class ScheduleRequest(StrictModel):
    min_score: Annotated[float, Field(ge=0, le=100)] = Field(
        default=DEFAULT_MIN_SCORE, description="Pairs scoring below this are not worth a meeting."
    )


class MeetingPublic(BaseModel):
    slot: int
    starts_at: str = Field(description="Local time, HH:MM.")
    listing_slug: str
    investor_profile_id: int | None = Field(
        description="Shown to the organiser, and for discoverable profiles."
    )
    investor_name: str | None
    score: float


class EventPublic(BaseModel):
    slug: str
    organisation: str
    city: CityRef
    name_th: str
    name_en: str
    venue_th: str
    venue_en: str
    held_on: date
    first_slot: str
    slot_minutes: int
    slot_count: int
    listings: list[ListingSummary]
    investor_count: int
    meetings: list[MeetingPublic]
    scheduled_at: datetime | None
    version: int


class EventsPublic(BaseModel):
    data: list[EventPublic]


class ShortlistEntry(BaseModel):
    investor_profile_id: int
    investor_name: str
    score: float
    reasons: list[Reason]


class ListingShortlist(BaseModel):
    listing_slug: str
    investors: list[ShortlistEntry] = Field(description="Best fit first.")


class Shortlist(BaseModel):
    min_score: float
    data: list[ListingShortlist]
