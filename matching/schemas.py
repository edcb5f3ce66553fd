"""What the matching API takes and returns."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from catalog.geography import known_province
from catalog.schemas import MAX_THB, ListingPublic
from catalog.taxonomy import InvestmentModel, Label, ListingKind, Region, Sector, Stage
from core.schemas import StrictModel, partial_model
from core.text import Slug, Title, clean_text

Thb = Annotated[int, Field(ge=0, le=MAX_THB)]
ProvinceCode = Annotated[str, Field(pattern=r"^[0-9]{2}$"), AfterValidator(known_province)]


def _clean_stripped(text: str) -> str:
    return clean_text(text.strip())


Thesis = Annotated[str, Field(max_length=5_000), AfterValidator(_clean_stripped)]


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
    ticket_min_thb: Thb
    ticket_max_thb: Thb
    models: Annotated[list[InvestmentModel], Field(min_length=1, max_length=8)]
    stages: Annotated[list[Stage], Field(min_length=1, max_length=7)]
    horizon_years: Annotated[int, Field(ge=1, le=50)]
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
    version: int
    created_at: datetime
    updated_at: datetime


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


class ListingMatches(BaseModel):
    data: list[ListingMatch]
    count: int = Field(description="Listings that passed the hard constraints and filters.")
    limit: int
    offset: int
    excluded: list[ExcludedListing] | None = Field(
        default=None, description="With explain=true: what each hard constraint removed."
    )


class MatchFilters(StrictModel):
    kind: ListingKind | None = None
    province: ProvinceCode | None = None
    sector: Sector | None = Field(default=None, description="A parent sector includes children.")
    k: Annotated[int, Field(ge=1, le=100)] = 10
    offset: Annotated[int, Field(ge=0, le=10_000)] = 0
    explain: bool = False


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
    status: LeadStatus
    notes: str = Field(description="The publisher's own notes")
    created_at: datetime
    updated_at: datetime


class LeadsPublic(BaseModel):
    data: list[LeadPublic]
    count: int


class LeadUpdate(StrictModel):
    status: LeadStatus | None = None
    notes: Annotated[str, Field(max_length=5_000)] | None = None

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
