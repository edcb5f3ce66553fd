"""What the catalogue API takes and returns."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import geothai
from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    ValidationInfo,
    computed_field,
    field_validator,
    model_validator,
)

from catalog.search.base import SearchSort
from catalog.taxonomy import (
    REPORTABLE,
    CheckpointState,
    CheckpointStatus,
    CityKind,
    InvestmentModel,
    ListingKind,
    ListingStatus,
    Region,
    Sector,
    Stage,
    checkpoint_state,
)
from core.db import utcnow
from core.formatting import bangkok_date
from core.schemas import StrictDate, StrictModel, partial_model
from core.text import (
    CLEAN_TEXT,
    Description,
    Line,
    OptionalDescription,
    OptionalSummary,
    OptionalTitle,
    Slug,
    Summary,
    Title,
    clean_text,
)

# An official province code: the spec lists the 77 (``catalog.geography`` checks them).
ProvinceCode = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{2}$",
        json_schema_extra={"enum": sorted(p.code for p in geothai.provinces())},
    ),
]

MAX_QUERY_CHARS = 1_000
# Ten trillion baht: far above any municipal project, far below a BIGINT overflow.
MAX_THB = 10_000_000_000_000
Thb = Annotated[int, Field(ge=0, le=MAX_THB)]


# --- nested parts of a listing ---------------------------------------------------------


class Incentive(StrictModel):
    title_th: Title
    title_en: OptionalTitle = ""
    detail_th: OptionalSummary = ""
    detail_en: OptionalSummary = ""


class Document(StrictModel):
    title: Title
    url: AnyHttpUrl


class Contact(StrictModel):
    name: Title
    name_latin: Line = Field(
        default="", description="The name in Latin script, for readers of English"
    )
    role: Line = ""
    organisation: Line = ""
    email: EmailStr | None = None
    phone: Annotated[str, Field(max_length=40, pattern=r"^[0-9+() \-]*$")] | None = None


class HowToInvestStepIn(StrictModel):
    title_th: Title
    title_en: OptionalTitle = ""
    detail_th: OptionalDescription = ""
    detail_en: OptionalDescription = ""
    office: Line = ""
    permit: Line | None = None
    typical_days: Annotated[int, Field(ge=0, le=3650)] | None = None
    last_verified: StrictDate | None = None


class HowToInvestStepPublic(HowToInvestStepIn):
    model_config = ConfigDict(extra="ignore")  # an output: row columns beyond these are dropped

    position: int


class CheckpointPublic(BaseModel):
    months: int
    due_on: date
    status: CheckpointStatus
    note: str
    evidence_url: str | None = None
    updated_at: datetime

    @computed_field(  # type: ignore[prop-decorator]
        description="How the checkpoint reads today: its status, or overdue while it is "
        "still pending after its due date (Bangkok time)."
    )
    @property
    def state(self) -> CheckpointState:
        return checkpoint_state(self.status, self.due_on, bangkok_date(utcnow()))


class CheckpointUpdate(StrictModel):
    status: CheckpointStatus | None = Field(
        default=None, description="What is reported: on-track, delayed or done."
    )
    note: OptionalDescription | None = None
    evidence_url: AnyHttpUrl | None = Field(
        default=None, description="A link to the evidence: minutes, photos, a report."
    )

    @field_validator("status")
    @classmethod
    def _reportable(cls, value: CheckpointStatus | None) -> CheckpointStatus | None:
        if value is not None and value not in REPORTABLE:
            raise ValueError("report on-track, delayed or done")
        return value


# --- geography -------------------------------------------------------------------------


class ProvincePublic(BaseModel):
    code: str
    name_th: str
    name_en: str
    region: Region


class SmartBlockPublic(BaseModel):
    slug: str
    name_th: str
    name_en: str
    description_th: str
    description_en: str
    boundary: dict[str, Any] | None


class CityPublic(BaseModel):
    slug: str
    name_th: str
    name_en: str
    kind: CityKind
    province: ProvincePublic
    is_pilot: bool
    is_charter_member: bool
    lat: float | None
    lon: float | None
    profile_th: str
    profile_en: str
    smart_blocks: list[SmartBlockPublic]


class CitiesPublic(BaseModel):
    data: list[CityPublic]
    count: int


class ProvincesPublic(BaseModel):
    data: list[ProvincePublic]
    count: int


class SectorPublic(BaseModel):
    slug: Sector
    parent: Sector | None
    name_th: str
    name_en: str


class TaxonomyPublic(BaseModel):
    sectors: list[SectorPublic]
    stages: list[Stage]
    investment_models: list[InvestmentModel]
    kinds: list[ListingKind]


# --- listings --------------------------------------------------------------------------


def _unique_models(models: list[InvestmentModel]) -> list[InvestmentModel]:
    return list(dict.fromkeys(models))


InvestmentModels = Annotated[
    list[InvestmentModel], Field(min_length=1, max_length=8), AfterValidator(_unique_models)
]


class ListingCreate(StrictModel):
    slug: Slug | None = Field(
        default=None, description="Stable public identifier; derived from the title if absent."
    )
    kind: ListingKind
    sector: Sector
    city: Slug = Field(description="Slug of the city (municipality).")
    smart_block: Slug | None = Field(default=None, description="Slug of a smart block in the city.")
    stage: Stage
    title_th: Title
    title_en: OptionalTitle = ""
    summary_th: Summary
    summary_en: OptionalSummary = ""
    description_th: Description
    description_en: OptionalDescription = ""
    capital_min_thb: Thb
    capital_max_thb: Thb
    investment_models: InvestmentModels
    expected_irr_pct: Annotated[float, Field(ge=-100, le=100)] | None = None
    payback_years: Annotated[float, Field(gt=0, le=100)] | None = None
    incentives: Annotated[list[Incentive], Field(max_length=20)] = []
    documents: Annotated[list[Document], Field(max_length=20)] = []
    contacts: Annotated[list[Contact], Field(max_length=10)] = []
    how_to_invest: Annotated[list[HowToInvestStepIn], Field(max_length=30)] = []


if TYPE_CHECKING:
    ListingUpdate = StrictModel
else:
    ListingUpdate = partial_model(
        "ListingUpdate",
        ListingCreate,
        exclude=frozenset({"slug"}),
        doc="Every field optional; only the fields sent are changed.",
    )


class OrganisationRef(BaseModel):
    slug: str
    name_th: str
    name_en: str


class CityRef(BaseModel):
    slug: str
    name_th: str
    name_en: str
    lat: float | None = Field(default=None, description="The city centre, WGS 84.")
    lon: float | None = None
    province: ProvincePublic


class SmartBlockRef(BaseModel):
    slug: str
    name_th: str
    name_en: str


ENGLISH_FIELDS = ("title_en", "summary_en", "description_en")


class ListingPublic(BaseModel):
    id: int
    slug: str
    status: ListingStatus
    kind: ListingKind
    sector: Sector
    stage: Stage
    organisation: OrganisationRef
    city: CityRef
    smart_block: SmartBlockRef | None
    title_th: str
    title_en: str
    summary_th: str
    summary_en: str
    description_th: str
    description_en: str
    capital_min_thb: int
    capital_max_thb: int
    investment_models: list[InvestmentModel]
    expected_irr_pct: float | None
    payback_years: float | None
    incentives: list[Incentive]
    documents: list[Document]
    contacts: list[Contact]
    how_to_invest: list[HowToInvestStepPublic]
    checkpoints: list[CheckpointPublic]
    missing_english: list[str] = Field(
        description="English fields still empty: the listing reads in Thai only there."
    )
    version: int
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    archived_at: datetime | None

    @model_validator(mode="before")
    @classmethod
    def _find_missing_english(cls, data: Any) -> Any:
        if isinstance(data, dict) and "missing_english" not in data:
            data["missing_english"] = [name for name in ENGLISH_FIELDS if not data.get(name)]
        return data


class ListingsPublic(BaseModel):
    data: list[ListingPublic]
    count: int
    limit: int
    offset: int


class ListingSort(StrEnum):
    newest = "newest"
    capital_asc = "capital_asc"
    capital_desc = "capital_desc"


class CatalogueFilters(StrictModel):
    """Filters shared by the catalogue listing and search; every one optional."""

    kind: ListingKind | None = None
    sector: Sector | None = Field(default=None, description="A parent sector includes children.")
    province: ProvinceCode | None = None
    city: Slug | None = None
    smart_block: Slug | None = None
    stage: Stage | None = None
    model: InvestmentModel | None = None
    capital_min: Thb | None = Field(default=None, description="Lower end of the ticket range.")
    capital_max: Thb | None = Field(default=None, description="Upper end of the ticket range.")
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    offset: Annotated[int, Field(ge=0, le=10_000)] = 0

    @field_validator("capital_max")
    @classmethod
    def _ticket_range_in_order(cls, capital_max: int | None, info: ValidationInfo) -> int | None:
        capital_min = info.data.get("capital_min")
        if capital_max is not None and capital_min is not None and capital_min > capital_max:
            raise ValueError("capital_max must not be below capital_min")
        return capital_max


class ListingFilters(CatalogueFilters):
    sort: ListingSort = ListingSort.newest


class SearchParams(CatalogueFilters):
    q: Annotated[
        str,
        StringConstraints(max_length=MAX_QUERY_CHARS),
        AfterValidator(clean_text),
        CLEAN_TEXT,
    ] = Field(default="", description="Words in Thai or English; the last one may be partial.")
    sort: SearchSort = SearchSort.relevance


class ListingSummary(BaseModel):
    """What a result list shows of a listing; the full record is at /v1/listings/{slug}."""

    id: int
    slug: str
    status: ListingStatus
    kind: ListingKind
    sector: Sector
    stage: Stage
    city: CityRef
    title_th: str
    title_en: str
    summary_th: str
    summary_en: str
    capital_min_thb: int
    capital_max_thb: int
    investment_models: list[InvestmentModel]
    published_at: datetime | None


class SearchHitPublic(BaseModel):
    listing: ListingSummary
    score: float
    highlights: dict[str, str] = Field(
        description="Title and summary fields with matches in <mark>; the text is HTML-escaped."
    )


class SearchResponse(BaseModel):
    hits: list[SearchHitPublic]
    count: int
    facets: dict[str, dict[str, int]]
    limit: int
    offset: int
    engine: str
    words: list[str] = Field(default=[], description="The query's words, as searched for.")
    dropped_words: list[str] = Field(
        default=[], description="Stop words left out, and words no listing contains."
    )
    all_words_matched: bool = Field(
        default=True,
        description="False when too few listings hold every word: those holding most of "
        "them come first (a long question still finds its listing).",
    )
    semantic: bool = Field(
        default=False,
        description="True when listings close in meaning were included (semantic vectors: "
        "an English query finds a listing written only in Thai).",
    )


class OwnListingFilters(StrictModel):
    status: ListingStatus | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    offset: Annotated[int, Field(ge=0, le=1_000_000)] = 0


class SuggestionKind(StrEnum):
    listing = "listing"
    sector = "sector"
    city = "city"


class SuggestParams(StrictModel):
    q: Annotated[str, StringConstraints(max_length=200), AfterValidator(clean_text), CLEAN_TEXT] = (
        Field(default="", description="What has been typed so far, in Thai or English.")
    )
    limit: Annotated[int, Field(ge=1, le=20)] = 8


class Suggestion(BaseModel):
    kind: SuggestionKind
    label_th: str
    label_en: str
    href: str = Field(description="The portal page it leads to.")


class SuggestionsPublic(BaseModel):
    q: str
    data: list[Suggestion]
