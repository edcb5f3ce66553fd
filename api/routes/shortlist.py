"""HTTP routes of a person's shortlist, and of listings compared side by side."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from pydantic import StringConstraints

from api.deps import OptionalPrincipalDep, PrincipalDep, SessionDep, writes
from api.errors import error_responses
from api.routes.catalog import ListingRef
from matching import shortlist
from matching.shortlist import (
    MAX_COMPARED,
    ComparisonPublic,
    ShortlistEntry,
    ShortlistPublic,
)

router = APIRouter(prefix="/v1", tags=["shortlist"])

CompareRef = Annotated[str, StringConstraints(max_length=80, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]
PERSONS_ONLY = (
    "A person's own list: send a person's session token (`cds_…`, from `POST /v1/sessions`); "
    "an organisation's API key gets 403."
)


@router.get("/shortlist", responses=error_responses(401, 403), description=PERSONS_ONLY)
def get_shortlist(session: SessionDep, principal: PrincipalDep) -> ShortlistPublic:
    """Your shortlist, newest first; a listing archived since stays, with its status."""
    entries = shortlist.entries(session, principal=principal)
    return ShortlistPublic(data=entries, count=len(entries))


@router.put(
    "/shortlist/{ref}",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "Already on the shortlist: nothing changed"},
        **error_responses(401, 403, 404, 409, 422),
    },
    description=PERSONS_ONLY,
)
@writes
def add_to_shortlist(
    ref: ListingRef, session: SessionDep, principal: PrincipalDep, response: Response
) -> ShortlistEntry:
    """Put a published listing on your shortlist (201); again, it changes nothing (200).
    An archived listing cannot be added (409)."""
    entry, created = shortlist.add(session, principal=principal, ref=ref)
    if not created:
        response.status_code = status.HTTP_200_OK
    return entry


@router.delete(
    "/shortlist/{ref}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 403, 404),
    description=PERSONS_ONLY,
)
@writes
def remove_from_shortlist(
    ref: ListingRef, session: SessionDep, principal: PrincipalDep
) -> Response:
    """Take a listing off your shortlist (204 whether or not it was on it)."""
    shortlist.remove(session, principal=principal, ref=ref)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/compare", responses=error_responses(404, 422))
def compare_listings(
    session: SessionDep,
    viewer: OptionalPrincipalDep,
    listing: Annotated[
        list[CompareRef],
        Query(
            max_length=20,
            description=f"Slugs (or ids) of 2 to {MAX_COMPARED} listings, e.g. "
            "`?listing=a&listing=b`.",
        ),
    ] = [],  # noqa: B006 - FastAPI copies a default; an empty list is explained, not refused
) -> ComparisonPublic:
    """Two to four listings side by side: capital, models, stage, IRR, payback, the steps
    to invest and the checkpoints. Public for published listings; an archived one only
    for whoever has it on their shortlist (with a session token)."""
    compared = shortlist.compare(session, refs=listing, viewer=viewer)
    return ComparisonPublic(data=compared, count=len(compared))
