"""The publisher's pages: the dashboard, editing a listing (a stale save is never
applied: the editor sees what changed meanwhile and chooses per field), publishing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from sqlmodel import Session

from api.deps import SessionDep, writes
from api.errors import Rejected
from api.portal.rendering import PortalPublisher, check_csrf, csrf_token, page, render
from catalog import browse, readmodel
from catalog import service as catalog_service
from catalog.merge import FieldChange, changes_since
from catalog.models import Listing
from catalog.schemas import ListingPublic, ListingUpdate, OwnListingFilters
from catalog.taxonomy import Stage
from core.errors import AppError
from core.principal import Principal
from matching import service as matching_service

router = APIRouter()

EDITABLE = (
    "title_th",
    "title_en",
    "summary_th",
    "summary_en",
    "description_th",
    "description_en",
    "stage",
    "capital_min_thb",
    "capital_max_thb",
)
Choice = Literal["theirs", "mine"]
_Original = Annotated[str, Field(max_length=25_000)] | None


class _ListingFormBase(BaseModel):
    model_config = ConfigDict(extra="ignore")

    csrf_token: Annotated[str, Field(max_length=100)] = ""
    version: Annotated[int, Field(ge=0)] = 0


# The edit form as posted: raw strings (validated by ``ListingUpdate`` afterwards, so that
# a bad value is shown next to its field rather than as an error page); for each field the
# value the editor started from (``original_…``) and, after a conflict, their choice
# (``resolve_…``).
_FORM_FIELDS: dict[str, Any] = {
    **{name: (Annotated[str, Field(max_length=25_000)], "") for name in EDITABLE},
    **{f"original_{name}": (_Original, None) for name in EDITABLE},
    **{f"resolve_{name}": (Choice | None, None) for name in EDITABLE},
}
if TYPE_CHECKING:
    ListingForm = _ListingFormBase
else:
    ListingForm = create_model("ListingForm", __base__=_ListingFormBase, **_FORM_FIELDS)


@router.get("/dashboard", response_class=HTMLResponse)
@page()
def dashboard(request: Request, session: SessionDep, principal: PortalPublisher) -> HTMLResponse:
    ids, _ = browse.list_own(session, principal=principal, filters=OwnListingFilters(limit=100))
    leads = [
        matching_service.lead_public(session, lead)
        for lead in matching_service.list_leads(session, principal=principal)
    ]
    return render(
        request,
        "dashboard.html",
        {
            "listings": readmodel.listings_public(session, ids),
            "leads": leads,
            "csrf": csrf_token(request),
            "notice": request.query_params.get("notice"),
        },
        principal=principal,
    )


def _own_listing(session: Session, slug: str, principal: Principal) -> Listing:
    listing = catalog_service.find_listing(session, ref=slug, viewer=principal)
    catalog_service.ensure_can_edit(listing, principal)
    return listing


def _sent_or(sent: str | None, fallback: str | None) -> str | None:
    return sent if sent is not None else fallback


def _form_values(listing: ListingPublic) -> dict[str, str]:
    """The stored listing as the form writes it."""
    return {name: str(getattr(listing, name)) for name in EDITABLE}


@router.get("/dashboard/listings/{slug}/edit", response_class=HTMLResponse)
@page()
def edit_form(
    slug: str, request: Request, session: SessionDep, principal: PortalPublisher
) -> HTMLResponse:
    listing = _own_listing(session, slug, principal)
    return _edit_page(request, readmodel.listing_public(session, listing.id or 0), principal)


def _edit_page(
    request: Request,
    listing: ListingPublic,
    principal: Principal,
    *,
    values: dict[str, str] | None = None,
    original: dict[str, str | None] | None = None,
    errors: dict[str, str] | None = None,
    changes: list[FieldChange] | None = None,
    choices: dict[str, str] | None = None,
    stale: bool = False,
) -> HTMLResponse:
    """The edit form: the stored listing; or the values just sent with their errors; or,
    after a save from an older version, what the other editor changed, field by field,
    with a choice for each. The form's version is always the stored one."""
    status_code = 409 if stale else 422 if errors else 200
    return render(
        request,
        "edit_listing.html",
        {
            "listing": listing,
            "original": original or _form_values(listing),
            "values": values or _form_values(listing),
            "errors": errors or {},
            "changes": changes or [],
            "choices": choices or {},
            "stale": stale,
            "csrf": csrf_token(request),
            "stages": list(Stage),
        },
        status_code=status_code,
        principal=principal,
    )


@router.post("/dashboard/listings/{slug}/edit", response_class=HTMLResponse, response_model=None)
@writes
def edit_listing(
    slug: str,
    request: Request,
    session: SessionDep,
    principal: PortalPublisher,
    form: Annotated[ListingForm, Form()],
) -> Response:
    """Save the form, unless the listing changed since the version it was made from: then
    nothing is saved, and the page shows each field changed meanwhile (old and new) beside
    what was typed, to take theirs or keep mine. Only a save with every such field
    resolved, against the version stored now, goes through."""
    check_csrf(request, form.csrf_token)
    listing = _own_listing(session, slug, principal)
    stored = readmodel.listing_public(session, listing.id or 0)
    theirs = _form_values(stored)
    typed = {name: getattr(form, name) for name in EDITABLE}
    same_version = form.version == stored.version
    original: dict[str, str | None] = {
        name: _sent_or(getattr(form, f"original_{name}"), theirs[name] if same_version else None)
        for name in EDITABLE
    }
    changes = changes_since(EDITABLE, original=original, mine=typed, theirs=theirs)
    choices = {c.name: getattr(form, f"resolve_{c.name}") for c in changes}
    if not same_version or None in choices.values():
        pending = {c.name: "choose" for c in changes if choices[c.name] is None and same_version}
        preselected = {
            c.name: choices[c.name] or ("" if c.both_changed else "theirs") for c in changes
        }
        return _edit_page(
            request,
            stored,
            principal,
            values=typed,
            original=original,
            errors=pending,
            changes=changes,
            choices=preselected,
            stale=True,
        )
    values = typed | {name: theirs[name] for name, choice in choices.items() if choice == "theirs"}
    errors: dict[str, str] = {}
    try:
        catalog_service.update_listing(
            session,
            listing=listing,
            data=ListingUpdate.model_validate(values),
            expected_version=form.version,
            principal=principal,
        )
    except ValidationError as exc:
        errors = {str(e["loc"][0]): e["msg"] for e in exc.errors()}
    except AppError as exc:
        errors = {exc.field or "form": exc.message}
    if errors:  # nothing of a rejected edit may be committed: raising rolls it back
        raise Rejected(_edit_page(request, stored, principal, values=values, errors=errors))
    return RedirectResponse("/dashboard?notice=saved", status_code=303)


@router.post("/dashboard/listings/{slug}/publish", response_model=None)
@writes
def publish(
    slug: str,
    request: Request,
    session: SessionDep,
    principal: PortalPublisher,
    csrf_token: Annotated[str, Form(max_length=100)],
    version: Annotated[int, Form(ge=1)],
) -> Response:
    check_csrf(request, csrf_token)
    listing = _own_listing(session, slug, principal)
    catalog_service.publish_listing(
        session, listing=listing, principal=principal, expected_version=version
    )
    return RedirectResponse("/dashboard?notice=published_now", status_code=303)
