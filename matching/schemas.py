"""What the matching API takes and returns."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from catalog.accounts.schemas import MIN_PASSWORD_CHARS, SessionPublic
from catalog.geography import known_province
from catalog.schemas import MAX_THB, ListingPublic, ListingSummary, SearchParams
from catalog.schemas import ProvinceCode as CatalogProvinceCode
from catalog.taxonomy import InvestmentModel, Label, ListingKind, Region, Sector, Stage
from core.schemas import Omittable, StrictAwareDatetime, StrictModel, partial_model
from core.text import CLEAN_TEXT, Slug, Title, clean_text

Thb = Annotated[int, Field(ge=0, le=MAX_THB)]
MinScore = Annotated[float, Field(ge=0, le=100)]
ProvinceCode = Annotated[CatalogProvinceCode, AfterValidator(known_province)]


def _clean_stripped(text: str) -> str:
    return clean_text(text.strip())


Thesis = Annotated[str, Field(max_length=5_000), AfterValidator(_clean_stripped), CLEAN_TEXT]


class InvestorType(StrEnum):
    corporate = "corporate"
    fund = "fund"
    family_office = "family-office"
    sme = "sme"
    angel = "angel"
    dfi = "dfi"  # development finance institution
    public_agency = "public-agency"


class LeadStatus(StrEnum):
    new = "new"
    contacted = "contacted"
    meeting = "meeting"
    letter_of_intent = "letter-of-intent"
    won = "won"
    lost = "lost"


class ProfileFields(StrictModel):
    """The investor's stated preferences: what the scorer reads."""

    sectors: Annotated[list[Sector], Field(max_length=30)] = []
    provinces: Annotated[list[ProvinceCode], Field(max_length=77)] = Field(
        default=[], description="Province codes; with `regions` empty too, anywhere in Thailand."
    )
    regions: Annotated[list[Region], Field(max_length=6)] = []
    ticket_min_thb: Thb = 0
    ticket_max_thb: Thb = MAX_THB
    models: Annotated[list[InvestmentModel], Field(max_length=8)] = Field(
        default=[], description="Models you accept; empty: any."
    )
    stages: Annotated[list[Stage], Field(max_length=7)] = Field(
        default=[], description="Stages you accept; empty: any."
    )
    horizon_years: Annotated[int, Field(ge=1, le=50)] | None = Field(
        default=None, description="Years you can wait for payback; none: any."
    )
    min_irr_pct: Annotated[float, Field(ge=-100, le=100)] | None = None
    thesis: Thesis = ""
    excluded_sectors: Annotated[list[Sector], Field(max_length=30)] = []
    excluded_models: Annotated[list[InvestmentModel], Field(max_length=8)] = []

    @field_validator("ticket_max_thb")
    @classmethod
    def _ticket_in_order(cls, ticket_max: int, info: ValidationInfo) -> int:
        ticket_min = info.data.get("ticket_min_thb")
        if ticket_min is not None and ticket_min > ticket_max:
            raise ValueError("ticket_max_thb must not be below ticket_min_thb")
        return ticket_max


class InvestorProfileCreate(ProfileFields):
    slug: Slug | None = None
    name: Title
    investor_type: InvestorType
    home_country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = "TH"
    languages: Annotated[
        list[Annotated[str, Field(pattern=r"^[a-z]{2}$")]], Field(max_length=10)
    ] = ["th"]
    discoverable: bool = False
    min_score: MinScore | None = Field(
        default=None,
        description="Matches scoring below are left out; none: the service's match threshold.",
    )


if TYPE_CHECKING:
    InvestorProfileUpdate = StrictModel
else:
    InvestorProfileUpdate = partial_model(
        "InvestorProfileUpdate",
        InvestorProfileCreate,
        exclude=frozenset({"slug"}),
        doc="Only the fields sent change. A changed ticket is checked against the stored one.",
    )


class InvestorProfilePublic(ProfileFields):
    model_config = ConfigDict(extra="ignore")

    id: int
    slug: str
    organisation: str
    name: str
    investor_type: InvestorType
    home_country: str
    languages: list[str]
    discoverable: bool
    min_score: float | None
    version: int
    created_at: datetime
    updated_at: datetime


class InvestorRegistration(StrictModel):
    """An investor signing itself up: its organisation, its first member (the owner) and
    a first profile that matches anything until it is filled in."""

    email: EmailStr
    password: Annotated[str, Field(min_length=MIN_PASSWORD_CHARS, max_length=200)]
    name: Annotated[str, Field(max_length=200)] = ""
    organisation_name: Title
    investor_type: InvestorType
    home_country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = "TH"
    languages: Annotated[
        list[Annotated[str, Field(pattern=r"^[a-z]{2}$")]], Field(min_length=1, max_length=10)
    ] = ["th"]


class RegistrationPublic(BaseModel):
    session: SessionPublic
    organisation: str = Field(description="The new organisation's slug")
    profile: InvestorProfilePublic
    email_confirmation: Literal["sent", "not-needed"] = Field(
        description="`sent`: follow the link mailed to you; `not-needed`: this service "
        "sends no mail"
    )


class InvestorProfilesPublic(BaseModel):
    data: list[InvestorProfilePublic]
    count: int


# --- scores -----------------------------------------------------------------------------


class Reason(BaseModel):
    component: str
    th: str
    en: str


class Components(BaseModel):
    """Each component in [0, 1]; the score is their weighted sum scaled to 0-100."""

    sector: float
    geography: float
    ticket: float
    model: float
    stage: float
    horizon: float
    irr: float
    text: float


class ListingMatch(BaseModel):
    listing: ListingPublic
    score: float
    components: Components
    reasons: list[Reason]


class ExcludedListing(BaseModel):
    listing_slug: str
    constraint: str
    reason: Reason


class Widening(BaseModel):
    """A change to the profile and how many more listings it would match."""

    change: str
    th: str
    en: str
    listings_gained: int


class ListingMatches(BaseModel):
    data: list[ListingMatch]
    count: int = Field(
        description="Listings that passed the hard constraints and filters and score at "
        "least `min_score`."
    )
    limit: int
    offset: int
    min_score: float = Field(description="The score from which a listing counts as a match.")
    widenings: list[Widening] | None = Field(
        default=None, description="With widen=true: changes that would match more listings."
    )
    excluded: list[ExcludedListing] | None = Field(
        default=None, description="With explain=true: what each hard constraint removed."
    )


class MatchFilters(StrictModel):
    kind: ListingKind | None = None
    province: ProvinceCode | None = None
    sector: Sector | None = Field(default=None, description="A parent sector includes children.")
    k: Annotated[int, Field(ge=1, le=100)] = 10
    offset: Annotated[int, Field(ge=0, le=10_000)] = 0
    min_score: MinScore | None = Field(
        default=None,
        description="Leave out matches below this score; none: the profile's own minimum, "
        "else the service's match threshold.",
    )
    explain: bool = False
    widen: bool = Field(default=False, description="Also say what would match more listings.")


class TryMatchRequest(ProfileFields, MatchFilters):
    """A profile that is scored but not saved, with the filters of a ranking: for a
    visitor trying the service."""


class InvestorMatch(BaseModel):
    investor: InvestorProfilePublic
    score: float
    components: Components
    reasons: list[Reason]


class GapSuggestion(BaseModel):
    change: str
    th: str
    en: str
    investors_gained: int


class ListingInvestors(BaseModel):
    data: list[InvestorMatch]
    count: int
    threshold: float
    gaps: list[GapSuggestion]


# --- interest and leads -----------------------------------------------------------------


class InterestCreate(StrictModel):
    message: Annotated[str, Field(max_length=2_000), AfterValidator(_clean_stripped)] = ""
    contact: Annotated[str, Field(max_length=300), AfterValidator(_clean_stripped)] = Field(
        default="", description="How the city may reach you (an e-mail, a phone, a name)."
    )
    investor_profile: Slug | None = Field(
        default=None, description="Which of your profiles; needed only if you have several."
    )


LEAD_LABELS: dict[LeadStatus, Label] = {
    LeadStatus.new: Label("ใหม่", "New"),
    LeadStatus.contacted: Label("ติดต่อแล้ว", "Contacted"),
    LeadStatus.meeting: Label("นัดประชุม", "Meeting"),
    LeadStatus.letter_of_intent: Label("หนังสือแสดงเจตจำนง", "Letter of intent"),
    LeadStatus.won: Label("ได้ลงทุน", "Won"),
    LeadStatus.lost: Label("ไม่ไปต่อ", "Lost"),
}


class LeadPublic(BaseModel):
    id: int
    listing_slug: str
    listing_title_th: str
    listing_title_en: str
    investor: InvestorProfilePublic
    investor_organisation_th: str
    investor_organisation_en: str
    contact_email: str | None = Field(
        description="The investor organisation's address, or its owner's"
    )
    message: str
    contact: str = Field(description="How the investor asked to be reached")
    status: LeadStatus
    notes: str = Field(description="The publisher's own notes")
    created_at: datetime
    updated_at: datetime
    withdrawn_at: datetime | None = Field(description="Set when the investor withdrew")


class InterestPublic(BaseModel):
    """An investor's own expression of interest, with the status the city gave it."""

    id: int
    listing_slug: str
    listing_title_th: str
    listing_title_en: str
    investor_profile: str
    message: str
    contact: str
    status: LeadStatus
    created_at: datetime
    updated_at: datetime
    withdrawn_at: datetime | None


class InterestsPublic(BaseModel):
    data: list[InterestPublic]
    count: int


class LeadsPublic(BaseModel):
    data: list[LeadPublic]
    count: int


class LeadUpdate(StrictModel):
    """A status, notes, or both (at least one; neither may be null)."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    status: Omittable[LeadStatus] = None
    notes: Omittable[Annotated[str, Field(max_length=5_000)]] = None

    @model_validator(mode="after")
    def _something(self) -> LeadUpdate:
        if self.status is None and self.notes is None:
            raise ValueError("send a status, notes, or both")
        return self


class ProfileFit(BaseModel):
    """How one listing fits one profile: a score with reasons, or why it is excluded."""

    profile_name: str
    score: float | None
    reasons: list[Reason]
    excluded_because: Reason | None


# --- saved searches and their alerts ----------------------------------------------------


class SavedSearchKind(StrEnum):
    search = "search"  # a catalogue view: words and filters
    matches = "matches"  # an investor profile's matches above a score


class DigestFrequency(StrEnum):
    none = "none"
    daily = "daily"
    weekly = "weekly"


class SavedSearchCreate(StrictModel):
    name: Title
    kind: SavedSearchKind = SavedSearchKind.search
    params: SearchParams = Field(
        default_factory=SearchParams,
        description="kind `search`: the catalogue's query, as `GET /v1/search` takes it "
        "(paging is not kept).",
    )
    profile_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = Field(
        default=None, description="kind `matches`: an investor profile of your organisation."
    )
    min_score: MinScore | None = Field(
        default=None,
        description="kind `matches`: listings scoring below are left out (default: the "
        "profile's own minimum, else the matching threshold).",
    )
    frequency: DigestFrequency = Field(
        default=DigestFrequency.none,
        description="An e-mail of the new listings, when the app sends mail.",
    )


if TYPE_CHECKING:
    SavedSearchUpdate = StrictModel
else:
    SavedSearchUpdate = partial_model(
        "SavedSearchUpdate",
        SavedSearchCreate,
        exclude=frozenset({"kind", "params", "profile_id"}),
        doc="Only the fields sent change; `min_score` only for kind `matches` (null: back "
        "to the default).",
    )


class SavedSearchPublic(BaseModel):
    id: int
    name: str
    kind: SavedSearchKind
    params: dict[str, Any] = Field(description="kind `search`: the catalogue query saved.")
    profile_id: int | None
    min_score: float | None
    frequency: DigestFrequency
    feed_url: str = Field(
        description="The search's Atom feed. Secret: whoever has it reads the feed; "
        "`POST …/feed-token` replaces it."
    )
    last_seen_at: datetime = Field(description="Listings published later are new.")
    last_digest_at: datetime | None
    version: int
    created_at: datetime


class SavedSearchesPublic(BaseModel):
    data: list[SavedSearchPublic]
    count: int


class SavedListing(BaseModel):
    listing: ListingSummary
    score: float | None = Field(description="kind `matches`: how well it fits the profile.")
    new: bool = Field(description="Published since the search was last seen.")


class SavedSearchListings(BaseModel):
    data: list[SavedListing] = Field(description="Newest published first (at most 100).")
    count: int
    new_count: int
    last_seen_at: datetime
    as_of: datetime = Field(description="When this answer was made: send it to `…/seen`.")


class SeenMark(StrictModel):
    at: StrictAwareDatetime | None = Field(
        default=None,
        ge=datetime(2000, 1, 1, tzinfo=UTC),
        description="Listings published up to this moment count as seen (default: now; "
        "typically the `as_of` of the listings you showed).",
    )
