"""The listing workflow: create and edit drafts, move them through draft -> published
-> archived, and record checkpoint progress. Every change claims the next version (a
stale one is refused) and writes a change-log row in the same transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import bindparam, delete
from sqlmodel import Session, col, select

from catalog.access import PUBLISHED, ensure_can_edit_listing, listing_ref, may_read_listing
from catalog.geography import get_city, get_smart_block
from catalog.models import (
    Checkpoint,
    City,
    HowToInvestStep,
    Listing,
    ListingChange,
    ListingModel,
    Organisation,
    SmartBlock,
)
from catalog.schemas import CheckpointUpdate, ListingCreate, ListingUpdate
from catalog.taxonomy import CheckpointStatus, ListingKind, ListingStatus
from core.db import claim_version, unique_slug, utcnow
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.formatting import bangkok_date
from core.principal import Principal, Role

CHECKPOINT_MONTHS = (6, 12)
_CHILD_FIELDS = {"investment_models", "how_to_invest", "city", "smart_block"}
# Set on a session whose unit of work changed listings: search replicas catch up once it
# commits (the composition root registers that hook for every unit of work that writes).
LISTINGS_CHANGED = "citydeal_listings_changed"


# --- finding a listing to change -------------------------------------------------------


_LISTING_BY_ID = select(Listing).where(Listing.id == bindparam("ref"))
_LISTING_BY_SLUG = select(Listing).where(Listing.slug == bindparam("ref"))


def find_listing(
    session: Session,
    *,
    ref: str,
    viewer: Principal | None,
    public_statuses: frozenset[str] = PUBLISHED,
) -> Listing:
    """A listing by numeric id or slug; in other statuses than ``public_statuses`` only
    for its organisation (else 404, so that its existence does not leak)."""
    key = listing_ref(ref)
    statement = _LISTING_BY_ID if isinstance(key, int) else _LISTING_BY_SLUG
    listing = session.exec(statement, params={"ref": key}).first() if key is not None else None
    if listing is None or not may_read_listing(
        viewer,
        status=listing.status,
        organisation_id=listing.organisation_id,
        public_statuses=public_statuses,
    ):
        raise NotFound(f"no listing '{ref}'", field="listing")
    return listing


def ensure_can_edit(listing: Listing, principal: Principal) -> None:
    ensure_can_edit_listing(principal, organisation_id=listing.organisation_id)


# --- changing listings -----------------------------------------------------------------


def _id(row: City | SmartBlock | Organisation | Listing) -> int:
    assert row.id is not None, "row must be flushed before its id is used"
    return row.id


def _place(
    session: Session, *, city_slug: str, block_slug: str | None, principal: Principal
) -> tuple[City, SmartBlock | None]:
    city = get_city(session, slug=city_slug)
    organisation = session.get(Organisation, principal.organisation_id)
    if (
        not principal.is_admin
        and organisation is not None
        and organisation.city_id is not None
        and organisation.city_id != city.id
    ):
        raise InvalidInput(
            f"organisation '{organisation.slug}' publishes for its own city only", field="city"
        )
    if block_slug is None:
        return city, None
    block = get_smart_block(session, slug=block_slug)
    if block.city_id != city.id:
        raise InvalidInput(
            f"smart block '{block_slug}' is not in city '{city_slug}'", field="smart_block"
        )
    return city, block


def _check_capital(listing: Listing) -> None:
    if listing.capital_min_thb > listing.capital_max_thb:
        raise InvalidInput(
            "capital_min_thb must not be above capital_max_thb", field="capital_min_thb"
        )


def _replace_models(session: Session, listing_id: int, models: Sequence[str]) -> None:
    session.execute(delete(ListingModel).where(col(ListingModel.listing_id) == listing_id))
    session.add_all(ListingModel(listing_id=listing_id, model=m) for m in models)


def _replace_steps(session: Session, listing_id: int, steps: Sequence[dict[str, Any]]) -> None:
    session.execute(delete(HowToInvestStep).where(col(HowToInvestStep.listing_id) == listing_id))
    session.flush()
    session.add_all(
        HowToInvestStep(listing_id=listing_id, position=i, **step)
        for i, step in enumerate(steps, start=1)
    )


def _log_change(session: Session, listing: Listing, action: str) -> None:
    assert listing.id is not None
    session.add(ListingChange(listing_id=listing.id, version=listing.version, action=action))
    session.info[LISTINGS_CHANGED] = True


def _save_change(session: Session, listing: Listing, action: str) -> Listing:
    """Write the listing's new state and its change-log entry, in the same transaction."""
    session.add(listing)
    session.flush()
    session.refresh(listing)
    _log_change(session, listing, action)
    session.flush()
    return listing


def _begin_transition(
    session: Session,
    listing: Listing,
    principal: Principal,
    target: ListingStatus,
    expected_version: int,
) -> None:
    ensure_can_edit(listing, principal)
    _check_transition(listing, target)
    if target is ListingStatus.published:
        _check_publishable(session, listing)
    _claim_version(session, listing, expected_version)


def _claim_version(session: Session, listing: Listing, expected_version: int) -> None:
    claim_version(session, listing, expected_version, what="listing")


def create_listing(session: Session, *, data: ListingCreate, principal: Principal) -> Listing:
    """A new draft listing owned by the principal's organisation."""
    if principal.role is not Role.publisher:
        raise Forbidden("only a publisher key can create listings", field="authorization")
    city, block = _place(
        session, city_slug=data.city, block_slug=data.smart_block, principal=principal
    )
    if data.slug and session.exec(select(Listing.id).where(Listing.slug == data.slug)).first():
        raise Conflict(f"slug '{data.slug}' is taken", field="slug")
    listing = Listing(
        **data.model_dump(exclude=_CHILD_FIELDS | {"slug"}, mode="json"),
        slug=data.slug
        or unique_slug(
            session, col(Listing.slug), data.title_en, fallback=f"{city.slug}-{data.kind}"
        ),
        organisation_id=principal.organisation_id,
        status=ListingStatus.draft,
        city_id=_id(city),
        smart_block_id=_id(block) if block else None,
    )
    _check_capital(listing)
    session.add(listing)
    session.flush()
    assert listing.id is not None
    _replace_models(session, listing.id, data.investment_models)
    _replace_steps(session, listing.id, data.model_dump()["how_to_invest"])
    _log_change(session, listing, "create")
    session.flush()
    return listing


def update_listing(
    session: Session,
    *,
    listing: Listing,
    data: ListingUpdate,
    expected_version: int,
    principal: Principal,
) -> Listing:
    """Apply the fields sent; fails with 412 if ``expected_version`` is stale."""
    ensure_can_edit(listing, principal)
    changes = data.model_dump(exclude_unset=True, mode="json")
    _claim_version(session, listing, expected_version)
    if "city" in changes or "smart_block" in changes:
        current_city = session.get(City, listing.city_id)
        current_block = (
            session.get(SmartBlock, listing.smart_block_id) if listing.smart_block_id else None
        )
        city, block = _place(
            session,
            city_slug=changes.get("city") or (current_city.slug if current_city else ""),
            block_slug=changes["smart_block"]
            if "smart_block" in changes
            else (current_block.slug if current_block else None),
            principal=principal,
        )
        listing.city_id, listing.smart_block_id = _id(city), _id(block) if block else None
    for name, value in changes.items():
        if name not in _CHILD_FIELDS:
            setattr(listing, name, value)
    _check_capital(listing)
    assert listing.id is not None
    if "investment_models" in changes:
        _replace_models(session, listing.id, changes["investment_models"])
    if "how_to_invest" in changes:
        _replace_steps(
            session, listing.id, data.model_dump(include={"how_to_invest"})["how_to_invest"]
        )
    return _save_change(session, listing, "update")


_TRANSITIONS: dict[str, set[str]] = {
    ListingStatus.draft: {ListingStatus.published, ListingStatus.archived},
    ListingStatus.published: {ListingStatus.archived},
    ListingStatus.archived: {ListingStatus.published},
}


def _check_transition(listing: Listing, target: ListingStatus) -> None:
    if target not in _TRANSITIONS[listing.status]:
        raise Conflict(f"a {listing.status} listing cannot become {target}", field="status")


def _check_publishable(session: Session, listing: Listing) -> None:
    if listing.kind == ListingKind.trade:
        has_steps = session.exec(
            select(HowToInvestStep.id).where(HowToInvestStep.listing_id == listing.id)
        ).first()
        if not has_steps:
            raise InvalidInput(
                "a trade listing needs its how-to-invest steps before it is published",
                field="how_to_invest",
            )


def _ensure_checkpoints(session: Session, listing: Listing, published_on: date) -> None:
    existing = set(
        session.exec(select(Checkpoint.months).where(Checkpoint.listing_id == listing.id))
    )
    assert listing.id is not None
    for months in CHECKPOINT_MONTHS:
        if months not in existing:
            session.add(
                Checkpoint(
                    listing_id=listing.id,
                    months=months,
                    due_on=published_on + relativedelta(months=months),
                    status=CheckpointStatus.pending,
                )
            )


def publish_listing(
    session: Session,
    *,
    listing: Listing,
    principal: Principal,
    expected_version: int,
    at: datetime | None = None,
) -> Listing:
    """Make a draft (or archived) listing public and schedule its 6- and 12-month checkpoints.

    Checkpoints count from the first publication; republishing keeps them.
    """
    _begin_transition(session, listing, principal, ListingStatus.published, expected_version)
    now = at or utcnow()
    listing.status = ListingStatus.published
    listing.published_at = listing.published_at or now
    listing.archived_at = None
    _ensure_checkpoints(session, listing, bangkok_date(listing.published_at))
    return _save_change(session, listing, "publish")


def archive_listing(
    session: Session,
    *,
    listing: Listing,
    principal: Principal,
    expected_version: int,
    at: datetime | None = None,
) -> Listing:
    """Withdraw a listing from the public catalogue; it stays readable to its owner."""
    _begin_transition(session, listing, principal, ListingStatus.archived, expected_version)
    listing.status = ListingStatus.archived
    listing.archived_at = at or utcnow()
    return _save_change(session, listing, "archive")


def update_checkpoint(
    session: Session,
    *,
    listing: Listing,
    months: int,
    data: CheckpointUpdate,
    principal: Principal,
) -> Checkpoint:
    """Record progress at the 6- or 12-month follow-up."""
    ensure_can_edit(listing, principal)
    checkpoint = session.exec(
        select(Checkpoint).where(Checkpoint.listing_id == listing.id, Checkpoint.months == months)
    ).first()
    if checkpoint is None:
        raise NotFound(
            f"no {months}-month checkpoint: checkpoints start when the listing is published",
            field="months",
        )
    for name, value in data.model_dump(exclude_unset=True, exclude_none=True, mode="json").items():
        setattr(checkpoint, name, value)
    checkpoint.updated_at = utcnow()
    session.add(checkpoint)
    session.flush()
    return checkpoint
