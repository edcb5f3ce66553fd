"""What the API takes and returns for the meetings people ask for at a pitch day:
availability, meeting requests, the pairs the scores propose, and the schedule's quality
with the pairs it could not place."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from core.schemas import StrictModel
from core.text import CLEAN_TEXT, Slug, clean_text
from matching.pitchday.schemas import DEFAULT_MIN_SCORE, EventPublic

ProfileId = Annotated[int, Field(ge=1, le=2**31 - 1)]
Round = Annotated[int, Field(ge=0, le=999, description="A meeting round: 0 is the first.")]
Note = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=500),
    AfterValidator(clean_text),
    CLEAN_TEXT,
]


class Side(StrEnum):
    """Who asked for a meeting: the investor, the listing's publisher, or the organiser
    (a pair the scores proposed)."""

    investor = "investor"
    listing = "listing"
    proposal = "proposal"


class RequestStatus(StrEnum):
    pending = "pending"
    accepted = "accepted"
    declined = "declined"


class Unplaced(StrEnum):
    """Why a pair that should meet has no meeting."""

    no_common_round = "no_common_round"
    tables_full = "tables_full"
    fully_booked = "fully_booked"
    not_attending = "not_attending"


class AvailabilityUpdate(StrictModel):
    """Your rounds: for one of your attending investor profiles or one of your listings
    at the event (name exactly one)."""

    investor_profile_id: ProfileId | None = None
    listing: Slug | None = None
    rounds: Annotated[list[Round], Field(max_length=40)] | None = Field(
        description="The rounds you are free for meetings (0 is the first); null: every round."
    )


class AvailabilityPublic(BaseModel):
    party: Side
    investor_profile_id: int | None
    listing_slug: str | None
    rounds: list[int] = Field(description="The rounds free for meetings, first is 0.")
    every_round: bool = Field(description="No rounds were marked: free in every round.")


class Availabilities(BaseModel):
    data: list[AvailabilityPublic]


class MeetingRequestCreate(StrictModel):
    """Ask to meet: an investor names its own attending profile and a listing at the
    event; a publisher names its own listing and an attending investor profile."""

    listing: Slug
    investor_profile_id: ProfileId
    note: Note = ""


class MeetingRequestPublic(BaseModel):
    id: int
    listing_slug: str
    listing_title_th: str
    listing_title_en: str
    investor_profile_id: int | None = Field(
        description="Shown when the investor is discoverable, asked itself, or is yours."
    )
    investor_name: str | None
    requested_by: Side
    note: str
    status: RequestStatus
    mutual: bool = Field(description="Both sides asked, and neither declined.")
    created_at: datetime
    decided_at: datetime | None


class MeetingRequests(BaseModel):
    sent: list[MeetingRequestPublic]
    received: list[MeetingRequestPublic] = Field(
        description="Requests to you, and pairs the organiser proposed (you may decline)."
    )


class ProposalRequest(StrictModel):
    min_score: Annotated[float, Field(ge=0, le=100)] = Field(
        default=DEFAULT_MIN_SCORE, description="Pairs scoring below this are not proposed."
    )
    per_participant: Annotated[int, Field(ge=1, le=40)] = Field(
        default=3, description="At most this many proposals for each investor and listing."
    )


class ProposalPublic(BaseModel):
    listing_slug: str
    investor_profile_id: int
    investor_name: str
    score: float


class Proposals(BaseModel):
    min_score: float
    per_participant: int | None = Field(description="None: no cap.")
    data: list[ProposalPublic] = Field(description="Best score first.")
    declined: int = Field(description="Earlier proposals a side declined: never proposed again.")


class PlanRequest(StrictModel):
    """Plan from the accepted requests and the stored proposals; with ``min_score``, let
    the scores propose pairs first (as ``POST /proposals`` would)."""

    min_score: Annotated[float, Field(ge=0, le=100)] | None = Field(
        default=None, description="Propose pairs scoring at least this before planning."
    )
    per_participant: Annotated[int, Field(ge=1, le=40)] | None = Field(
        default=None,
        description="With min_score: proposals per investor and listing (omitted: no cap).",
    )


class ScheduleQuality(BaseModel):
    placed_value: float = Field(description="The placed meetings' total weight.")
    bound: float | None = Field(description="No schedule of these pairs can be worth more.")
    ratio: float | None = Field(description="placed_value / bound: 1.0 is proven best.")
    solver: str
    seconds: float
    optimal: bool = Field(description="The solver proved the schedule best.")
    placed: dict[str, int] = Field(description="Meetings placed, by source.")
    wanted: dict[str, int] = Field(description="Pairs that should meet, by source.")


class UnplacedPair(BaseModel):
    listing_slug: str
    investor_profile_id: int
    investor_name: str
    source: str = Field(description="mutual, request or proposal.")
    score: float
    reason: Unplaced


class ScheduleReport(BaseModel):
    quality: ScheduleQuality | None
    unplaced: list[UnplacedPair]


class ScheduledEvent(EventPublic):
    quality: ScheduleQuality
    unplaced: list[UnplacedPair] = Field(description="Pairs left out, with the reason.")
