"""The organisation's audit log in the portal: every change to its resources, who made
it, when and from where; for its members (and admins, from the API)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from api.deps import SessionDep
from api.i18n import Lang, choose_language, pick, say
from api.messages import MESSAGES
from api.portal.rendering import PortalPrincipal, page, render, require_sign_in
from catalog.history import HistoryFilters, organisation_history
from catalog.models import Organisation
from catalog.taxonomy import (
    CHECKPOINT_LABELS,
    KIND_LABELS,
    MODEL_LABELS,
    SECTOR_LABELS,
    STAGE_LABELS,
    Label,
)
from core.errors import InvalidInput, NotFound
from core.formatting import bangkok_time
from matching.schemas import LEAD_LABELS

router = APIRouter()


_FIELD_LABELS: dict[str, Mapping[Any, Label]] = {
    **dict.fromkeys(("sector", "sectors", "excluded_sectors"), SECTOR_LABELS),
    **dict.fromkeys(("stage", "stages"), STAGE_LABELS),
    **dict.fromkeys(("model", "models", "excluded_models"), MODEL_LABELS),
}
_STATUS_LABELS: dict[str, Mapping[Any, Label]] = {
    "checkpoint": CHECKPOINT_LABELS,
    "lead": LEAD_LABELS,
}


def _value_shown(lang: Lang) -> Callable[[str, str, Any], Any]:
    """A stored value as the reader reads it: the catalogue's codes (a sector, a stage,
    a status) in the reader's language; anything else as it was stored."""

    def shown(resource_type: str, name: str, value: Any) -> Any:
        if isinstance(value, list):
            return ", ".join(str(shown(resource_type, name, item)) for item in value)
        labels = _FIELD_LABELS.get(name)
        if name == "kind" and resource_type == "listing":
            labels = KIND_LABELS
        if name == "status":
            if resource_type == "listing" and f"status_{value}" in MESSAGES:
                return say(f"status_{value}", lang)
            labels = _STATUS_LABELS.get(resource_type)
        label = labels.get(value) if labels is not None and isinstance(value, str) else None
        return pick(label, lang) if label is not None else value

    return shown


def _id_shown(lang: Lang) -> Callable[[str], str]:
    """A resource's id as the reader reads it: the parts of a composite id that are
    catalogue codes (``12/equity``, a listing's model) in the reader's words."""
    tables: tuple[Mapping[Any, Label], ...] = (MODEL_LABELS, SECTOR_LABELS, STAGE_LABELS)

    def shown(resource_id: str) -> str:
        parts = []
        for part in resource_id.split("/"):
            label = next((table[part] for table in tables if part in table), None)
            parts.append(pick(label, lang) if label is not None else part)
        return " / ".join(parts)

    return shown


def _fields_shown(lang: Lang) -> Callable[[str, Mapping[str, Any]], list[tuple[str, Any]]]:
    """The fields of an entry to list: all of a change; of a creation or deletion (every
    stored field), those the portal has words for, and text only in the reader's
    language where both are stored."""
    other = "_en" if lang == "th" else "_th"
    own = "_th" if lang == "th" else "_en"

    def shown(action: str, changes: Mapping[str, Any]) -> list[tuple[str, Any]]:
        if action not in ("created", "deleted"):
            return list(changes.items())
        return [
            (name, change)
            for name, change in changes.items()
            if _field_code(name) is not None
            and not (name.endswith(other) and name.removesuffix(other) + own in changes)
        ]

    return shown


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
    viewer = require_sign_in(principal)
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
    lang = choose_language(request)
    return render(
        request,
        "history.html",
        {
            "organisation": organisation,
            "entries": log.data,
            "next_before": log.next_before,
            "filters": filters,
            "field_code": _field_code,
            "shown": _value_shown(lang),
            "id_shown": _id_shown(lang),
            "fields_shown": _fields_shown(lang),
            "clock": bangkok_time,
        },
        principal=viewer,
    )
