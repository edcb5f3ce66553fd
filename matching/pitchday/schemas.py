"""What the pitch-day API takes and returns."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, Field

from catalog.schemas import CityRef, ListingSummary, ProvinceCode
from catalog.taxonomy import ListingKind, Sector
from core.schemas import Omittable, StrictDate, StrictModel, partial_model
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


def _span(first: str, minutes: int, count: int) -> tuple[int, int]:
    """Minutes after midnight at which a run of slots starts and ends."""
    start = time.fromisoformat(first)
    begins = start.hour * 60 + start.minute
    return begins, begins + minutes * count


def check_programme(
    *,
    first_slot: str,
    slot_minutes: int,
    slot_count: int,
    round_first: str,
    round_minutes: int,
    round_count: int,
    held_on: date,
    registration_deadline: date | None,
) -> tuple[str, str] | None:
    """What is wrong with a day's programme, as (field, reason), or None: the pitches and
    the meeting rounds each end by midnight and do not overlap, and registration closes
    by the day itself."""
    pitches = _span(first_slot, slot_minutes, slot_count)
    rounds = _span(round_first, round_minutes, round_count)
    if pitches[1] > 24 * 60:
        return "slot_count", "the pitch slots must end by midnight"
    if rounds[1] > 24 * 60:
        return "round_count", "the meeting rounds must end by midnight"
    if pitches[0] < rounds[1] and rounds[0] < pitches[1]:
        return "round_first", "the meeting rounds overlap the pitch slots"
    if registration_deadline is not None and registration_deadline > held_on:
        return "registration_deadline", "registration must close by the day of the event"
    return None


class EventCreate(StrictModel):
    slug: Slug | None = Field(default=None, description="Made from name_en when omitted.")
    city: Slug
    name_th: Title
    name_en: OptionalTitle = ""
    venue_th: Venue = ""
    venue_en: Venue = ""
    held_on: StrictDate
    first_slot: SlotTime = Field(default="13:00", description="When the pitches start.")
    slot_minutes: SlotMinutes = Field(default=20, description="Length of a pitch slot.")
    slot_count: SlotCount = Field(default=6, description="How many listings may pitch.")
    round_first: SlotTime = Field(default="15:00", description="When the meetings start.")
    round_minutes: SlotMinutes = Field(default=20, description="Length of a meeting round.")
    round_count: SlotCount = Field(default=6, description="How many meeting rounds.")
    table_count: Annotated[int, Field(ge=1, le=500)] = Field(
        default=10, description="Tables for one-to-one meetings, each round."
    )
    registration_deadline: StrictDate | None = None
    listings: ListingSlugs = Field(default=[], description="Published listings that pitch.")
    investors: ProfileIds = Field(
        default=[], description="Investor profiles: discoverable ones, or the organiser's own."
    )


PROGRAMME = frozenset(
    {
        "first_slot",
        "slot_minutes",
        "slot_count",
        "round_first",
        "round_minutes",
        "round_count",
        "held_on",
        "registration_deadline",
    }
)


if TYPE_CHECKING:
    EventUpdate = StrictModel
else:
    EventUpdate = partial_model(
        "EventUpdate",
        EventCreate,
        exclude=frozenset({"slug", "city"}),
        doc="The fields sent are changed; changing who takes part clears the schedule.",
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
    table_no: int | None = Field(default=None, description="The table, from 1.")
    source: str = Field(default="proposal", description="mutual, request or proposal.")


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
    round_first: str
    round_minutes: int
    round_count: int
    table_count: int
    registration_deadline: date | None
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


# --- choosing who pitches: the candidate pool and the selection plan -----------------------

POOL_LIMIT = 500
Quota = Annotated[int, Field(ge=1, le=40)]
Threshold = Annotated[float, Field(ge=0, le=100)]
PerKind = Annotated[int, Field(ge=0, le=20)]
PerInvestor = Annotated[int, Field(ge=0, le=10)]


class PoolEntry(StrictModel):
    slug: Slug
    pinned: bool = Field(default=False, description="Always pitches.")
    excluded: bool = Field(default=False, description="Never pitches.")


class PoolFilters(StrictModel):
    """Catalogue filters: the published listings they find at that moment join the pool."""

    q: Annotated[str, Field(max_length=200)] = Field(default="", description="Search words.")
    kind: ListingKind | None = None
    sector: Sector | None = Field(default=None, description="A parent sector includes children.")
    province: ProvinceCode | None = None
    city: Slug | None = None


class PoolUpdate(StrictModel):
    """The whole pool, replacing the one stored: the listings named (with their pin or
    exclusion) and the published listings the filters find."""

    listings: Annotated[list[PoolEntry], Field(max_length=POOL_LIMIT)] = []
    filters: PoolFilters | None = None


class Named(BaseModel):
    slug: str
    name_th: str
    name_en: str


class CandidatePublic(BaseModel):
    listing: ListingSummary
    publisher: Named
    pinned: bool
    excluded: bool


class CandidatesPublic(BaseModel):
    data: list[CandidatePublic]
    count: int
    unpublished: int = Field(
        description="Listings of the pool no longer published: not shown, never chosen."
    )
    version: int


class SelectionRules(StrictModel):
    threshold: Threshold = Field(description="The score from which an investor is served.")
    max_per_city: Quota | None = Field(default=None, description="Null: no limit.")
    max_per_publisher: Quota | None = Field(default=None, description="Null: no limit.")
    min_per_kind: PerKind = Field(
        default=1, description="At least this many infrastructure and trade listings each."
    )
    min_per_investor: PerInvestor = Field(
        default=1, description="Every attending investor served by at least this many."
    )


class SelectionRequest(StrictModel):
    """The rules of this run (one omitted stays as in the last run, else its default) and,
    when sent, which candidates are pinned and which excluded (stored on the pool)."""

    threshold: Omittable[Threshold] = None
    max_per_city: Quota | None = Field(default=None, description="Null: no limit.")
    max_per_publisher: Quota | None = Field(default=None, description="Null: no limit.")
    min_per_kind: Omittable[PerKind] = None
    min_per_investor: Omittable[PerInvestor] = None
    pinned: Annotated[list[Slug], Field(max_length=40)] | None = None
    excluded: Annotated[list[Slug], Field(max_length=POOL_LIMIT)] | None = None


class Why(BaseModel):
    code: str
    th: str
    en: str


class ServedInvestor(BaseModel):
    investor_profile_id: int
    name: str
    score: float


class ChosenListing(BaseModel):
    position: int = Field(description="1-based: the pitch order.")
    listing_slug: str
    title_th: str
    title_en: str
    kind: str
    sector: str
    city: Named
    publisher: Named
    pinned: bool
    total_fit: float = Field(description="Sum of the scores of the investors it serves.")
    investor_count: int
    investors: list[ServedInvestor] = Field(description="Best fit first (at most 10).")
    reasons: list[Why]


class LeftOutListing(BaseModel):
    listing_slug: str
    title_th: str
    title_en: str
    kind: str
    sector: str
    city: Named
    publisher: Named
    total_fit: float
    investor_count: int
    reason: Why


class PositionChange(BaseModel):
    listing_slug: str
    was: int
    now: int


class SelectionChanges(BaseModel):
    """Against the programme before this run."""

    first_run: bool
    added: list[str]
    removed: list[str]
    moved: list[PositionChange]


class KindCount(BaseModel):
    kind: str
    wanted: int
    available: int
    chosen: int


class InvestorShort(BaseModel):
    investor_profile_id: int
    name: str
    matches: int
    wanted: int


class CoverageReport(BaseModel):
    investors: int = Field(description="Attending investors.")
    served: int = Field(description="Attending investors served by a chosen listing.")
    wanted: int = Field(description="The rule: chosen listings serving each investor.")
    short: list[InvestorShort]
    missing: int = Field(description="Matches missing below the rule, over all investors.")
    unavoidable: int = Field(description="Of those, how many the solver proved unavoidable.")
    no_match: int = Field(description="Attending investors no listing in the pool serves.")


class SelectionPublic(BaseModel):
    event: str
    version: int = Field(description="The event's version: send it as If-Match to run again.")
    selected_at: datetime
    rules: SelectionRules
    slot_count: int
    candidate_count: int = Field(description="Published, not excluded: what was chosen from.")
    chosen: list[ChosenListing]
    left_out: list[LeftOutListing]
    objective: float = Field(description="Total fit of the chosen listings.")
    bound: float = Field(
        description="The solver's bound: no plan meeting the rules as well has more total fit."
    )
    gap: float = Field(description="(bound - objective) / bound.")
    optimal: bool
    stopped_by_time: bool
    solve_seconds: float
    kinds: list[KindCount]
    coverage: CoverageReport
    notes: list[Why]
    changes: SelectionChanges
