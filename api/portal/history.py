"""The organisation's audit log in the portal: every change to its resources, who made
it, when and from where; for its members (and admins, from the API)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from api.deps import SessionDep
from api.messages import MESSAGES
from api.portal.rendering import PortalPrincipal, page, render
from catalog.history import HistoryFilters, organisation_history
from catalog.models import Organisation
from core.errors import InvalidInput, NotFound, Unauthorized
from core.formatting import bangkok_time
from core.principal import Principal

router = APIRouter()


def _signed_in(principal: Principal | None) -> Principal:
    if principal is None:
        raise Unauthorized("sign in first", field="session")
    return principal


def _field_code(name: str) -> str | None:
    """The code of a field's label, when the portal has words for it."""
    return name if name in MESSAGES else None


@router.get("/organisation/history", response_class=HTMLResponse)
@page()
def history_page(
    request: Request,
    session: SessionDep,
    principal: PortalPrincipal,
    resource_type: Annotated[str | None, Query(max_length=32)] = None,
    resource_id: Annotated[str | None, Query(max_length=80)] = None,
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> HTMLResponse:
    viewer = _signed_in(principal)
    try:
        filters = HistoryFilters(
            resource_type=resource_type, resource_id=resource_id, before=before
        )
    except ValidationError as error:
        field = str(error.errors()[0]["loc"][0])
        raise InvalidInput(f"{field} is not valid here", field=field) from error
    organisation = session.get(Organisation, viewer.organisation_id)
    if organisation is None:
        raise NotFound("no such organisation", field="organisation")
    log = organisation_history(session, organisation=organisation, viewer=viewer, filters=filters)
    return render(
        request,
        "history.html",
        {
            "organisation": organisation,
            "entries": log.data,
            "next_before": log.next_before,
            "filters": filters,
            "field_code": _field_code,
            "clock": bangkok_time,
        },
        principal=viewer,
    )
