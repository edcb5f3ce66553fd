"""A person's shortlist, and listings compared side by side: the pages and the buttons
(on pitch pages and catalogue results) that add and remove."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import SessionDep, writes
from api.portal.rendering import (
    CSRF_FIELD,
    PortalPerson,
    PortalPrincipal,
    check_csrf,
    csrf_token,
    page,
    render,
)
from core.errors import InvalidInput, NotFound
from matching import shortlist
from matching.shortlist import MAX_COMPARED, MIN_COMPARED

router = APIRouter()
Csrf = Annotated[str, Form(max_length=100, alias=CSRF_FIELD)]
Slug = Annotated[str, Path(max_length=80, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]


def _back_to(next_url: str, fallback: str) -> str:
    """Where to go after a button: the page it was on, if that is a page of this site."""
    local = next_url.startswith("/") and not next_url.startswith(("//", "/\\"))
    return next_url if local and "\n" not in next_url and "\r" not in next_url else fallback


@router.get("/shortlist", response_class=HTMLResponse)
@page()
def shortlist_page(request: Request, session: SessionDep, principal: PortalPerson) -> HTMLResponse:
    """The person's shortlist, with boxes to tick for a comparison."""
    return render(
        request,
        "shortlist.html",
        {
            "entries": shortlist.entries(session, principal=principal),
            "csrf": csrf_token(request),
            "notice": request.query_params.get("notice"),
            "min_compared": MIN_COMPARED,
            "max_compared": MAX_COMPARED,
        },
        principal=principal,
    )


@router.post("/shortlist/{slug}", response_model=None)
@writes
def add_to_shortlist(
    slug: Slug,
    request: Request,
    session: SessionDep,
    principal: PortalPerson,
    csrf: Csrf,
    next_url: Annotated[str, Form(max_length=2000, alias="next")] = "",
) -> Response:
    """The "Add to shortlist" button: back to the page it was on."""
    check_csrf(request, csrf)
    shortlist.add(session, principal=principal, ref=slug)
    return RedirectResponse(_back_to(next_url, f"/listings/{slug}"), status_code=303)


@router.post("/shortlist/{slug}/remove", response_model=None)
@writes
def remove_from_shortlist(
    slug: Slug,
    request: Request,
    session: SessionDep,
    principal: PortalPerson,
    csrf: Csrf,
    next_url: Annotated[str, Form(max_length=2000, alias="next")] = "",
) -> Response:
    """The "Remove" button, on the shortlist, a pitch page or a result."""
    check_csrf(request, csrf)
    shortlist.remove(session, principal=principal, ref=slug)
    return RedirectResponse(
        _back_to(next_url, "/shortlist?notice=shortlist_removed"), status_code=303
    )


@router.get("/compare", response_class=HTMLResponse)
@page()
def compare_page(
    request: Request,
    session: SessionDep,
    principal: PortalPrincipal,
    listing: Annotated[list[str], Query()] = [],  # noqa: B006 - too few or many: explained
) -> HTMLResponse:
    """Two to four listings side by side; any other number, or a listing no longer
    published, is explained on the page (with the way back), never an error page."""
    problem: dict[str, object] | None = None
    compared: list[shortlist.ComparedListing] = []
    status_code = 200
    try:
        compared = shortlist.compare(session, refs=[ref[:80] for ref in listing], viewer=principal)
    except InvalidInput as exc:
        given = exc.extra.get("given", len(listing))
        problem, status_code = {"code": "compare_count", "given": given}, 422
    except NotFound as exc:
        missing = exc.extra.get("listing", "")
        problem, status_code = {"code": "compare_not_found", "listing": missing}, 404
    return render(
        request,
        "compare.html",
        {"compared": compared, "problem": problem},
        status_code=status_code,
        principal=principal,
    )
