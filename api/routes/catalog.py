"""HTTP routes of the catalogue: thin wrappers around its services."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from api.deps import (
    IfMatchDep,
    OptionalPrincipalDep,
    PublisherDep,
    QueryEmbedderDep,
    SearchDep,
    SessionDep,
    etag,
    run_search,
    writes,
)
from api.errors import error_responses
from catalog import browse, geography, readmodel, service
from catalog.access import EVER_PUBLISHED
from catalog.models import Listing
from catalog.schemas import (
    CheckpointPublic,
    CheckpointUpdate,
    CitiesPublic,
    CityPublic,
    ListingCreate,
    ListingFilters,
    ListingPublic,
    ListingsPublic,
    ListingUpdate,
    OwnListingFilters,
    ProvincesPublic,
    SearchParams,
    SearchResponse,
    SectorPublic,
    SuggestionsPublic,
    SuggestParams,
    TaxonomyPublic,
)
from catalog.taxonomy import (
    SECTOR_LABELS,
    SECTOR_PARENT,
    InvestmentModel,
    ListingKind,
    Stage,
)

router = APIRouter(prefix="/v1")

ListingRef = Annotated[
    str,
    Path(
        description="Numeric id or slug of the listing.",
        pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
        max_length=80,
    ),
]


def get_visible_listing(
    ref: ListingRef, session: SessionDep, viewer: OptionalPrincipalDep
) -> Listing:
    """The listing named in the path, if the caller may see it (else 404)."""
    return service.find_listing(session, ref=ref, viewer=viewer)


ListingDep = Annotated[Listing, Depends(get_visible_listing)]


def get_listing_once_public(
    ref: ListingRef, session: SessionDep, viewer: OptionalPrincipalDep
) -> Listing:
    """Like ``get_visible_listing``, but an archived listing is found (to be refused with
    a clear 409 rather than a 404) while drafts stay hidden."""
    return service.find_listing(session, ref=ref, viewer=viewer, public_statuses=EVER_PUBLISHED)


EverPublicListingDep = Annotated[Listing, Depends(get_listing_once_public)]


def _listing_response(session: SessionDep, listing: Listing, response: Response) -> ListingPublic:
    response.headers["ETag"] = etag(listing.version)
    return readmodel.listing_public(session, listing.id or 0)


@router.get("/taxonomy", tags=["geography"])
async def get_taxonomy() -> TaxonomyPublic:
    """The controlled vocabularies: sectors (with parents), stages, models, kinds."""
    # On the event loop: constants need no worker thread, and answer while every worker
    # thread waits on an unavailable database.
    return TaxonomyPublic(
        sectors=[
            SectorPublic(slug=s, parent=SECTOR_PARENT.get(s), name_th=label.th, name_en=label.en)
            for s, label in SECTOR_LABELS.items()
        ],
        stages=list(Stage),
        investment_models=list(InvestmentModel),
        kinds=list(ListingKind),
    )


@router.get("/provinces", tags=["geography"])
def list_provinces(session: SessionDep) -> ProvincesPublic:
    """All 77 provinces with official codes, Thai and English names and region."""
    provinces = geography.list_provinces(session)
    return ProvincesPublic(data=provinces, count=len(provinces))


@router.get("/cities", tags=["geography"])
def list_cities(session: SessionDep) -> CitiesPublic:
    """The programme's cities with their smart blocks."""
    cities = geography.list_cities(session)
    return CitiesPublic(data=cities, count=len(cities))


@router.get("/cities/{slug}", tags=["geography"], responses=error_responses(404))
def get_city(
    slug: Annotated[str, Path(max_length=80, pattern=r"^[a-z0-9-]+$")], session: SessionDep
) -> CityPublic:
    """One city's profile and smart blocks."""
    return geography.city_public(session, slug=slug)


@router.get("/listings", tags=["listings"], responses=error_responses(422))
def list_listings(
    session: SessionDep, filters: Annotated[ListingFilters, Query()]
) -> ListingsPublic:
    """Published listings, filtered and paginated, with the total count."""
    page, total = browse.search_published(session, filters=filters)
    return ListingsPublic(
        data=readmodel.listings_public(session, page),
        count=total,
        limit=filters.limit,
        offset=filters.offset,
    )


@router.get("/search", tags=["search"], responses=error_responses(422, 503))
async def search(
    session: SessionDep,
    index: SearchDep,
    embed: QueryEmbedderDep,
    params: Annotated[SearchParams, Query()],
) -> SearchResponse:
    """Search published listings in Thai or English, with filters, facets and highlights.
    When the words alone find nothing, or not every word, or the query is in one language
    and a listing only in the other, listings close in meaning join (``semantic``)."""
    # As the portal's catalogue page: no worker-thread hop where nothing waits on a network.
    return await run_search(
        session, index, browse.search_catalogue, session, index=index, params=params, embed=embed
    )


@router.get("/suggest", tags=["search"], responses=error_responses(422))
async def suggest(
    session: SessionDep, index: SearchDep, params: Annotated[SuggestParams, Query()]
) -> SuggestionsPublic:
    """Suggestions for the search box as someone types, in Thai or English: a few listing
    titles, then matching sectors and cities, each with the page it leads to."""
    return await run_search(session, index, browse.suggest, session, index=index, params=params)


@router.get("/me/listings", tags=["listings"], responses=error_responses(401, 403, 422))
def list_my_listings(
    session: SessionDep,
    principal: PublisherDep,
    filters: Annotated[OwnListingFilters, Query()],
) -> ListingsPublic:
    """The caller's organisation's listings in every status (drafts included)."""
    page, total = browse.list_own(session, principal=principal, filters=filters)
    return ListingsPublic(
        data=readmodel.listings_public(session, page),
        count=total,
        limit=filters.limit,
        offset=filters.offset,
    )


@router.post(
    "/listings",
    tags=["listings"],
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(400, 401, 403, 409, 413, 422),
)
@writes
def create_listing(
    data: ListingCreate, session: SessionDep, principal: PublisherDep, response: Response
) -> ListingPublic:
    """Create a draft listing for the caller's organisation."""
    listing = service.create_listing(session, data=data, principal=principal)
    response.headers["Location"] = f"/v1/listings/{listing.slug}"
    return _listing_response(session, listing, response)


@router.get("/listings/{ref}", tags=["listings"], responses=error_responses(404))
def get_listing(
    ref: ListingRef, session: SessionDep, viewer: OptionalPrincipalDep, response: Response
) -> ListingPublic:
    """One listing by id or slug; drafts only for the organisation that owns them."""
    listing = readmodel.find_public_listing(session, ref=ref, viewer=viewer)
    response.headers["ETag"] = etag(listing.version)
    return listing


@router.patch(
    "/listings/{ref}",
    tags=["listings"],
    responses=error_responses(400, 401, 403, 404, 412, 413, 422, 428),
)
@writes
def update_listing(
    listing: ListingDep,
    data: ListingUpdate,
    session: SessionDep,
    principal: PublisherDep,
    expected_version: IfMatchDep,
    response: Response,
) -> ListingPublic:
    """Change the fields sent. Requires `If-Match` with the ETag you read (412 if stale)."""
    listing = service.update_listing(
        session,
        listing=listing,
        data=data,
        expected_version=expected_version,
        principal=principal,
    )
    return _listing_response(session, listing, response)


@router.post(
    "/listings/{ref}/publish",
    tags=["listings"],
    responses=error_responses(401, 403, 404, 409, 412, 422, 428),
)
@writes
def publish_listing(
    listing: ListingDep,
    session: SessionDep,
    principal: PublisherDep,
    expected_version: IfMatchDep,
    response: Response,
) -> ListingPublic:
    """Publish a draft: it becomes public and its 6- and 12-month checkpoints are set."""
    listing = service.publish_listing(
        session, listing=listing, principal=principal, expected_version=expected_version
    )
    return _listing_response(session, listing, response)


@router.post(
    "/listings/{ref}/archive",
    tags=["listings"],
    responses=error_responses(401, 403, 404, 409, 412, 428),
)
@writes
def archive_listing(
    listing: ListingDep,
    session: SessionDep,
    principal: PublisherDep,
    expected_version: IfMatchDep,
    response: Response,
) -> ListingPublic:
    """Withdraw a listing from the public catalogue."""
    listing = service.archive_listing(
        session, listing=listing, principal=principal, expected_version=expected_version
    )
    return _listing_response(session, listing, response)


@router.patch(
    "/listings/{ref}/checkpoints/{months}",
    tags=["listings"],
    responses=error_responses(401, 403, 404, 422),
)
@writes
def update_checkpoint(
    listing: ListingDep,
    months: Annotated[int, Path(ge=6, le=12)],
    data: CheckpointUpdate,
    session: SessionDep,
    principal: PublisherDep,
) -> CheckpointPublic:
    """Record progress at the 6- or 12-month follow-up of a published listing."""
    checkpoint = service.update_checkpoint(
        session, listing=listing, months=months, data=data, principal=principal
    )
    return CheckpointPublic.model_validate(checkpoint, from_attributes=True)
