"""Reading the audit log: an organisation's members and the platform's admins see every
change made to the organisation's resources, newest first, with who made it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlmodel import Session, col

from catalog.accounts.models import Person
from catalog.models import ApiKey, Organisation
from core.audit import AuditEvent
from core.errors import NotFound
from core.principal import Principal
from core.schemas import StrictModel


class HistoryFilters(StrictModel):
    resource_type: Annotated[str, Field(pattern=r"^[a-z_]{1,32}$")] | None = Field(
        default=None,
        description="Only changes to this kind of resource: listing, checkpoint, lead, "
        "investor_profile, event, meeting, membership, api_key…",
    )
    resource_id: Annotated[str, Field(max_length=80, pattern=r"^[0-9/]+$")] | None = Field(
        default=None, description="Only changes to this resource (its id)."
    )
    before: Annotated[int, Field(ge=1, le=2**62)] | None = Field(
        default=None, description="Entries older than this one (`next_before` of a page)."
    )
    limit: Annotated[int, Field(ge=1, le=200)] = 50


class FieldChange(BaseModel):
    old: Any = None
    new: Any = None


class ActorPublic(BaseModel):
    kind: str = Field(description="`person`, `api_key` or `system`.")
    person_id: int | None = None
    person_name: str | None = None
    person_email: str | None = None
    api_key_id: int | None = None
    api_key_label: str | None = None
    api_key_prefix: str | None = None


class AuditEventPublic(BaseModel):
    id: int
    at: datetime
    resource_type: str
    resource_id: str
    action: str = Field(description="`created`, `changed` or `deleted`.")
    changes: dict[str, FieldChange]
    version: int | None = Field(description="The resource's version after the change.")
    actor: ActorPublic
    source: str = Field(description="`api`, `portal`, `cli`, `job` or `system`.")
    address: str | None = Field(description="The address the request came from.")
    request_id: str | None


class HistoryPublic(BaseModel):
    organisation: str
    data: list[AuditEventPublic]
    next_before: int | None = Field(description="Pass as `before` for the next, older page.")


def organisation_history(
    session: Session, *, organisation: Organisation, viewer: Principal, filters: HistoryFilters
) -> HistoryPublic:
    """The organisation's audit log, newest first; members and admins only (to anyone
    else the organisation's log does not exist)."""
    if organisation.id is None or not viewer.acts_for(organisation.id):
        raise NotFound(f"no organisation '{organisation.slug}'", field="organisation")
    query = select(AuditEvent).where(col(AuditEvent.organisation_id) == organisation.id)
    if filters.resource_type is not None:
        query = query.where(col(AuditEvent.resource_type) == filters.resource_type)
    if filters.resource_id is not None:
        query = query.where(col(AuditEvent.resource_id) == filters.resource_id)
    if filters.before is not None:
        query = query.where(col(AuditEvent.id) < filters.before)
    events = list(
        session.scalars(query.order_by(col(AuditEvent.id).desc()).limit(filters.limit + 1))
    )
    more = len(events) > filters.limit
    events = events[: filters.limit]
    actors = _actors(session, events)
    return HistoryPublic(
        organisation=organisation.slug,
        data=[_public(event, actors) for event in events],
        next_before=events[-1].id if more and events else None,
    )


def _actors(session: Session, events: list[AuditEvent]) -> dict[tuple[str, int], Any]:
    people = {e.person_id for e in events if e.person_id is not None}
    keys = {e.api_key_id for e in events if e.api_key_id is not None}
    found: dict[tuple[str, int], Any] = {}
    if people:
        for person in session.scalars(select(Person).where(col(Person.id).in_(people))):
            found[("person", person.id or 0)] = person
    if keys:
        for key in session.scalars(select(ApiKey).where(col(ApiKey.id).in_(keys))):
            found[("key", key.id or 0)] = key
    return found


def _public(event: AuditEvent, actors: dict[tuple[str, int], Any]) -> AuditEventPublic:
    person = actors.get(("person", event.person_id or 0))
    key = actors.get(("key", event.api_key_id or 0))
    kind = "person" if event.person_id else "api_key" if event.api_key_id else "system"
    return AuditEventPublic(
        id=event.id or 0,
        at=event.at,
        resource_type=event.resource_type,
        resource_id=event.resource_id,
        action=event.action,
        changes={name: FieldChange(**change) for name, change in event.changes.items()},
        version=event.version,
        actor=ActorPublic(
            kind=kind,
            person_id=event.person_id,
            person_name=person.name if person else None,
            person_email=person.email if person else None,
            api_key_id=event.api_key_id,
            api_key_label=key.label if key else None,
            api_key_prefix=key.prefix if key else None,
        ),
        source=event.source,
        address=event.address,
        request_id=event.request_id,
    )
