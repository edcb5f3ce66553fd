"""HTTP routes of saved searches: a person's own (a session token, never an API key: a
key is no person), their listings with what is new, and each one's secret Atom feed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response, status

from api.deps import (
    IfMatchDep,
    PrincipalDep,
    Services,
    SessionDep,
    SettingsDep,
    etag,
    services_of,
    writes,
)
from api.errors import error_responses
from core.db import utcnow
from core.settings import Settings
from matching import alerts
from matching.schemas import (
    SavedSearchCreate,
    SavedSearchesPublic,
    SavedSearchListings,
    SavedSearchPublic,
    SavedSearchUpdate,
    SeenMark,
)

router = APIRouter()

SavedSearchId = Annotated[int, Path(ge=1, le=2**31 - 1)]
FeedToken = Annotated[str, Path(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]
ATOM = "application/atom+xml; charset=utf-8"


def sources_for(services: Services) -> alerts.Sources:
    """This process's search index and matching matrix, as saved searches read them."""
    embedder = services.embedder
    return alerts.Sources(
        search=services.search,
        matrices=services.matrices,
        scoring=services.settings.match,
        embed=embedder.query if embedder is not None else None,
    )


async def get_sources(request: Request) -> alerts.Sources:
    return sources_for(services_of(request))


SourcesDep = Annotated[alerts.Sources, Depends(get_sources)]


def public_base(request: Request, settings: Settings) -> str:
    """Where people reach the app: the public-URL setting when one is set, else the base
    of the request (a feed's links must work wherever the feed is read)."""
    if "public_url" in settings.model_fields_set:
        return settings.public_url.rstrip("/")
    return str(request.base_url).rstrip("/")


@router.get("/v1/saved-searches", tags=["saved-searches"], responses=error_responses(401, 403))
def list_saved_searches(
    request: Request, session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> SavedSearchesPublic:
    """Your saved searches (a person's session token; an API key has none), newest first."""
    found = alerts.list_saved_searches(session, principal=principal)
    base = public_base(request, settings)
    return SavedSearchesPublic(
        data=[alerts.saved_search_public(saved, base_url=base) for saved in found],
        count=len(found),
    )


@router.post(
    "/v1/saved-searches",
    tags=["saved-searches"],
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 403, 409, 422),
)
@writes
def create_saved_search(
    data: SavedSearchCreate,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    response: Response,
) -> SavedSearchPublic:
    """Save a catalogue query (kind `search`) or your organisation's profile's matches
    from a score up (kind `matches`), with a secret feed and, if asked, an e-mail digest."""
    saved = alerts.create_saved_search(
        session, principal=principal, data=data, threshold=settings.match.match_threshold
    )
    response.headers["Location"] = f"/v1/saved-searches/{saved.id}"
    response.headers["ETag"] = etag(saved.version)
    return alerts.saved_search_public(saved, base_url=public_base(request, settings))


@router.get(
    "/v1/saved-searches/{saved_id}",
    tags=["saved-searches"],
    responses=error_responses(401, 403, 404),
)
def get_saved_search(
    saved_id: SavedSearchId,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    response: Response,
) -> SavedSearchPublic:
    """One of your saved searches (anyone else's is not found)."""
    saved = alerts.get_saved_search(session, saved_id=saved_id, principal=principal)
    response.headers["ETag"] = etag(saved.version)
    return alerts.saved_search_public(saved, base_url=public_base(request, settings))


@router.patch(
    "/v1/saved-searches/{saved_id}",
    tags=["saved-searches"],
    responses=error_responses(401, 403, 404, 412, 422, 428),
)
@writes
def update_saved_search(
    saved_id: SavedSearchId,
    data: SavedSearchUpdate,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    expected_version: IfMatchDep,
    response: Response,
) -> SavedSearchPublic:
    """Rename it, change its digest or (kind `matches`) its minimum score. Requires
    `If-Match` with the ETag you read (412 if stale)."""
    saved = alerts.get_saved_search(session, saved_id=saved_id, principal=principal)
    saved = alerts.update_saved_search(
        session,
        saved=saved,
        data=data,
        expected_version=expected_version,
        threshold=settings.match.match_threshold,
    )
    response.headers["ETag"] = etag(saved.version)
    return alerts.saved_search_public(saved, base_url=public_base(request, settings))


@router.delete(
    "/v1/saved-searches/{saved_id}",
    tags=["saved-searches"],
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 403, 404, 412, 428),
)
@writes
def delete_saved_search(
    saved_id: SavedSearchId,
    session: SessionDep,
    principal: PrincipalDep,
    expected_version: IfMatchDep,
) -> Response:
    """Delete it, with its feed and digest. Requires `If-Match` (412 if stale)."""
    saved = alerts.get_saved_search(session, saved_id=saved_id, principal=principal)
    alerts.delete_saved_search(session, saved=saved, expected_version=expected_version)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/v1/saved-searches/{saved_id}/listings",
    tags=["saved-searches"],
    responses=error_responses(401, 403, 404, 503),
)
def saved_search_listings(
    saved_id: SavedSearchId, session: SessionDep, principal: PrincipalDep, sources: SourcesDep
) -> SavedSearchListings:
    """What the search finds now, newest published first, each flagged `new` when
    published since you last marked the search seen (`POST …/seen`)."""
    saved = alerts.get_saved_search(session, saved_id=saved_id, principal=principal)
    as_of = utcnow()
    found = alerts.listings_of(session, saved, sources)
    return alerts.listings_public(found, since=saved.last_seen_at, as_of=as_of)


@router.post(
    "/v1/saved-searches/{saved_id}/seen",
    tags=["saved-searches"],
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 403, 404, 422),
)
@writes
def mark_saved_search_seen(
    saved_id: SavedSearchId,
    session: SessionDep,
    principal: PrincipalDep,
    data: SeenMark | None = None,
) -> Response:
    """Listings published up to `at` (default: now) are no longer new. Send the `as_of`
    of the listings you showed, so that one published meanwhile stays new."""
    alerts.get_saved_search(session, saved_id=saved_id, principal=principal)
    alerts.mark_seen(session, saved_id=saved_id, at=data.at if data is not None else None)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/v1/saved-searches/{saved_id}/feed-token",
    tags=["saved-searches"],
    responses=error_responses(401, 403, 404, 412, 428),
)
@writes
def rotate_feed_token(
    saved_id: SavedSearchId,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    expected_version: IfMatchDep,
    response: Response,
) -> SavedSearchPublic:
    """A new secret feed URL; the old one stops working at once. Requires `If-Match`."""
    saved = alerts.get_saved_search(session, saved_id=saved_id, principal=principal)
    alerts.rotate_feed_token(session, saved=saved, expected_version=expected_version)
    response.headers["ETag"] = etag(saved.version)
    return alerts.saved_search_public(saved, base_url=public_base(request, settings))


@router.get(
    "/feeds/{token}.atom",
    tags=["feeds"],
    response_class=Response,
    responses={
        200: {"content": {"application/atom+xml": {}}, "description": "An Atom 1.0 feed"},
        404: {"description": "No feed has this token (never made, or replaced)"},
    },
)
def saved_search_feed(
    token: FeedToken,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    sources: SourcesDep,
) -> Response:
    """A saved search as an Atom feed, newest published first. The token in the URL is
    the only key: whoever has the URL reads the feed."""
    saved = alerts.find_by_feed_token(session, token=token)
    found = alerts.listings_of(session, saved, sources)
    body = alerts.atom_feed(saved, found, base_url=public_base(request, settings))
    return Response(
        content=body,
        media_type=ATOM,
        headers={
            # A secret URL: kept out of shared caches, search engines and referrers.
            "Cache-Control": "private, max-age=300",
            "X-Robots-Tag": "noindex",
            "Referrer-Policy": "no-referrer",
        },
    )
