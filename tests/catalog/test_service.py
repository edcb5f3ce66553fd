"""The listing workflow called directly, without HTTP: versions and the change log,
status transitions, checkpoints, who may see and change a listing; and the three-way
comparison of an edit made from a stale version (``catalog.merge``)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import func, update
from sqlmodel import Session, col, select

from catalog import service
from catalog.access import EVER_PUBLISHED
from catalog.merge import FieldChange, changes_since
from catalog.models import Checkpoint, HowToInvestStep, Listing, ListingChange, ListingModel
from catalog.models import Organisation as OrganisationRow
from catalog.schemas import CheckpointUpdate, ListingCreate, ListingUpdate
from catalog.taxonomy import CheckpointStatus, ListingStatus
from core.errors import Conflict, Forbidden, InvalidInput, NotFound, PreconditionFailed
from core.principal import Principal, Role
from tests.factories import World, listing_payload, publisher_of

FIRST_PUBLISHED = datetime(2026, 8, 31, 9, 30, tzinfo=UTC)


# --- helpers and principals --------------------------------------------------------------


def _principal(session: Session, slug: str, role: Role) -> Principal:
    organisation = session.exec(select(OrganisationRow).where(OrganisationRow.slug == slug)).one()
    assert organisation.id is not None
    return Principal(organisation.id, organisation.slug, role, 0)


@pytest.fixture
def owner(session: Session, world: World) -> Principal:
    """A publisher of ns-dev, the Nakhon Sawan city company."""
    return publisher_of(session, "ns-dev")


@pytest.fixture
def rival(session: Session, world: World) -> Principal:
    """A publisher of another city's company (Rayong)."""
    return publisher_of(session, "rayong-dev")


@pytest.fixture
def admin(session: Session, world: World) -> Principal:
    return _principal(session, "citydeal-ops", Role.admin)


@pytest.fixture
def investor(session: Session, world: World) -> Principal:
    return _principal(session, "siam-infra-fund", Role.investor)


def _create(session: Session, principal: Principal, **overrides: Any) -> Listing:
    data = ListingCreate.model_validate(listing_payload(**overrides))
    return service.create_listing(session, data=data, principal=principal)


def _reread(session: Session, listing_id: int | None) -> Listing:
    """The listing as the database holds it now, not as the session remembers it."""
    session.expire_all()
    listing = session.get(Listing, listing_id)
    assert listing is not None
    return listing


def _log(session: Session, listing_id: int | None) -> list[tuple[int, str]]:
    """The listing's change log: (version, action), oldest first."""
    rows = session.exec(
        select(ListingChange.version, ListingChange.action)
        .where(ListingChange.listing_id == listing_id)
        .order_by(col(ListingChange.id))
    )
    return [(version, action) for version, action in rows]


def _checkpoints(session: Session, listing_id: int | None) -> list[Checkpoint]:
    return list(
        session.exec(
            select(Checkpoint)
            .where(Checkpoint.listing_id == listing_id)
            .order_by(col(Checkpoint.months))
        )
    )


def _update(
    session: Session, listing: Listing, principal: Principal, version: int, **fields: Any
) -> Listing:
    return service.update_listing(
        session,
        listing=listing,
        data=ListingUpdate.model_validate(fields),
        expected_version=version,
        principal=principal,
    )


def _publish(
    session: Session, listing: Listing, principal: Principal, version: int, at: datetime
) -> Listing:
    return service.publish_listing(
        session, listing=listing, principal=principal, expected_version=version, at=at
    )


def _archive(
    session: Session, listing: Listing, principal: Principal, version: int, at: datetime
) -> Listing:
    return service.archive_listing(
        session, listing=listing, principal=principal, expected_version=version, at=at
    )


# --- creating ------------------------------------------------------------------------------


def test_create_makes_a_version_1_draft_of_the_publishers_organisation(
    session: Session, owner: Principal
) -> None:
    created = _create(session, owner)
    listing = _reread(session, created.id)
    assert listing.organisation_id == owner.organisation_id
    assert listing.status == ListingStatus.draft
    assert listing.version == 1
    assert listing.slug == "fish-ball-factory"  # from title_en
    assert listing.published_at is None
    assert listing.title_en == "Fish-ball factory"
    assert _log(session, listing.id) == [(1, "create")]
    models = session.exec(select(ListingModel.model).where(ListingModel.listing_id == listing.id))
    assert sorted(models) == ["equity", "joint-venture"]
    steps = session.exec(
        select(HowToInvestStep.position, HowToInvestStep.title_en)
        .where(HowToInvestStep.listing_id == listing.id)
        .order_by(col(HowToInvestStep.position))
    ).all()
    assert [tuple(step) for step in steps] == [
        (1, "Register the company"),
        (2, "Apply for the factory licence"),
    ]
    assert _checkpoints(session, listing.id) == []  # checkpoints wait for publication


def test_a_second_listing_with_the_same_title_gets_a_slug_of_its_own(
    session: Session, owner: Principal
) -> None:
    first = _create(session, owner)
    second = _create(session, owner)
    assert (first.slug, second.slug) == ("fish-ball-factory", "fish-ball-factory-2")
    with pytest.raises(Conflict) as taken:
        _create(session, owner, slug="fish-ball-factory")
    assert taken.value.field == "slug"


@pytest.mark.parametrize(
    ("who", "overrides", "error", "field"),
    [
        ("investor", {}, Forbidden, "authorization"),
        ("admin", {}, Forbidden, "authorization"),
        ("rival", {}, InvalidInput, "city"),  # Rayong's company, a Nakhon Sawan listing
        ("owner", {"smart_block": "rayong-riverfront"}, InvalidInput, "smart_block"),
        ("owner", {"capital_min_thb": 13_000_000}, InvalidInput, "capital_min_thb"),
    ],
)
def test_create_refuses(
    session: Session,
    request: pytest.FixtureRequest,
    who: str,
    overrides: dict[str, Any],
    error: type[Exception],
    field: str,
) -> None:
    principal: Principal = request.getfixturevalue(who)
    with pytest.raises(error) as caught, session.begin_nested():
        _create(session, principal, **overrides)
    assert getattr(caught.value, "field", None) == field
    assert session.exec(select(func.count()).select_from(Listing)).one() == 0


# --- editing -----------------------------------------------------------------------------


def test_update_from_the_current_version_bumps_it_and_writes_the_fields(
    session: Session, owner: Principal
) -> None:
    created = _create(session, owner)
    returned = _update(
        session,
        created,
        owner,
        1,
        title_en="Fish-ball plant",
        expected_irr_pct=None,
        how_to_invest=[{"title_th": "ยื่นคำขอ", "title_en": "Apply"}],
    )
    assert returned.version == 2
    listing = _reread(session, created.id)
    assert listing.version == 2
    assert listing.title_en == "Fish-ball plant"
    assert listing.expected_irr_pct is None  # a field that may be null is cleared by null
    assert listing.title_th == "โรงงานผลิตลูกชิ้นปลา"  # a field not sent is unchanged
    assert listing.payback_years == 4.5
    assert listing.updated_at >= listing.created_at
    steps = session.exec(
        select(HowToInvestStep.position, HowToInvestStep.title_en).where(
            HowToInvestStep.listing_id == listing.id
        )
    ).all()
    assert [tuple(step) for step in steps] == [(1, "Apply")]
    assert _log(session, listing.id) == [(1, "create"), (2, "update")]

    _update(session, listing, owner, 2, summary_en="Now with a cold room.")
    again = _reread(session, created.id)
    assert (again.version, again.summary_en) == (3, "Now with a cold room.")
    assert again.title_en == "Fish-ball plant"
    assert _log(session, listing.id)[-1] == (3, "update")


def test_a_stale_version_is_refused_and_changes_nothing(session: Session, owner: Principal) -> None:
    created = _create(session, owner)
    _update(session, created, owner, 1, title_en="Saved by the other editor")
    listing = _reread(session, created.id)
    with pytest.raises(PreconditionFailed) as caught:
        _update(session, listing, owner, 1, title_en="Typed from version 1")
    assert caught.value.extra["current_version"] == 2
    assert caught.value.field == "If-Match"
    after = _reread(session, created.id)
    assert (after.version, after.title_en) == (2, "Saved by the other editor")
    assert _log(session, created.id) == [(1, "create"), (2, "update")]


def test_a_write_that_lost_the_race_is_refused_and_changes_nothing(
    session: Session, owner: Principal
) -> None:
    """The session still holds version 1 when another writer moves the row to 2: the
    conditional UPDATE, not the in-memory check, refuses the stale write."""
    listing = _create(session, owner)
    session.execute(
        update(Listing)
        .where(col(Listing.id) == listing.id)
        .values(version=2, title_en="Saved meanwhile")
        .execution_options(synchronize_session=False)
    )
    assert listing.version == 1  # what this editor read
    with pytest.raises(PreconditionFailed, match="changed by someone else"):
        _update(session, listing, owner, 1, title_en="Typed from version 1")
    after = _reread(session, listing.id)
    assert (after.version, after.title_en) == (2, "Saved meanwhile")
    assert _log(session, listing.id) == [(1, "create")]


def test_an_update_checks_capital_and_place_against_what_is_stored(
    session: Session, owner: Principal
) -> None:
    listing = _create(session, owner)  # 5M to 12M
    with pytest.raises(InvalidInput) as capital, session.begin_nested():
        _update(session, listing, owner, 1, capital_min_thb=20_000_000)
    assert capital.value.field == "capital_min_thb"
    with pytest.raises(InvalidInput) as place, session.begin_nested():
        _update(session, _reread(session, listing.id), owner, 1, smart_block="rayong-riverfront")
    assert place.value.field == "smart_block"
    after = _reread(session, listing.id)
    assert (after.version, after.capital_min_thb) == (1, 5_000_000)


def test_another_organisations_publisher_may_change_nothing(
    session: Session, owner: Principal, rival: Principal, investor: Principal
) -> None:
    listing = _create(session, owner)
    for principal in (rival, investor):
        with pytest.raises(Forbidden):
            _update(session, listing, principal, 1, title_en="Hijacked")
        with pytest.raises(Forbidden):
            _publish(session, listing, principal, 1, FIRST_PUBLISHED)
        with pytest.raises(Forbidden):
            _archive(session, listing, principal, 1, FIRST_PUBLISHED)
    after = _reread(session, listing.id)
    assert (after.version, after.status, after.title_en) == (1, "draft", "Fish-ball factory")
    assert _log(session, listing.id) == [(1, "create")]


def test_an_admin_may_change_any_listing(
    session: Session, owner: Principal, admin: Principal
) -> None:
    listing = _create(session, owner)
    _update(session, listing, admin, 1, title_en="Corrected by the platform")
    after = _reread(session, listing.id)
    assert (after.version, after.title_en) == (2, "Corrected by the platform")
    assert after.organisation_id == owner.organisation_id  # still the publisher's


# --- publishing and archiving ------------------------------------------------------------


def test_publish_schedules_the_6_and_12_month_checkpoints(
    session: Session, owner: Principal
) -> None:
    listing = _create(session, owner)
    _publish(session, listing, owner, 1, FIRST_PUBLISHED)
    after = _reread(session, listing.id)
    assert (after.status, after.version) == (ListingStatus.published, 2)
    assert after.published_at == FIRST_PUBLISHED
    assert after.archived_at is None
    checkpoints = _checkpoints(session, listing.id)
    # 31 August + 6 months: the last day of February.
    assert [(c.months, c.due_on, c.status) for c in checkpoints] == [
        (6, date(2027, 2, 28), CheckpointStatus.pending),
        (12, date(2027, 8, 31), CheckpointStatus.pending),
    ]
    assert _log(session, listing.id) == [(1, "create"), (2, "publish")]


def test_republishing_after_archive_keeps_the_first_publication_and_its_checkpoints(
    session: Session, owner: Principal
) -> None:
    listing = _create(session, owner)
    _publish(session, listing, owner, 1, FIRST_PUBLISHED)
    service.update_checkpoint(
        session,
        listing=listing,
        months=6,
        data=CheckpointUpdate(status=CheckpointStatus.on_track),
        principal=owner,
    )
    before = [(c.id, c.months, c.due_on) for c in _checkpoints(session, listing.id)]

    archived_at = datetime(2027, 1, 10, tzinfo=UTC)
    _archive(session, listing, owner, 2, archived_at)
    archived = _reread(session, listing.id)
    assert (archived.status, archived.version) == (ListingStatus.archived, 3)
    assert archived.archived_at == archived_at

    _publish(session, archived, owner, 3, datetime(2027, 6, 1, tzinfo=UTC))
    after = _reread(session, listing.id)
    assert (after.status, after.version) == (ListingStatus.published, 4)
    assert after.published_at == FIRST_PUBLISHED  # checkpoints count from the first
    assert after.archived_at is None
    checkpoints = _checkpoints(session, listing.id)
    assert [(c.id, c.months, c.due_on) for c in checkpoints] == before
    assert checkpoints[0].status == CheckpointStatus.on_track  # progress is kept
    assert _log(session, listing.id) == [
        (1, "create"),
        (2, "publish"),
        (3, "archive"),
        (4, "publish"),
    ]


def test_a_draft_may_be_archived_without_being_published(
    session: Session, owner: Principal
) -> None:
    listing = _create(session, owner)
    _archive(session, listing, owner, 1, FIRST_PUBLISHED)
    after = _reread(session, listing.id)
    assert (after.status, after.published_at) == (ListingStatus.archived, None)
    assert _checkpoints(session, listing.id) == []


def test_invalid_transitions_are_conflicts(session: Session, owner: Principal) -> None:
    listing = _create(session, owner)
    _publish(session, listing, owner, 1, FIRST_PUBLISHED)
    with pytest.raises(Conflict) as twice, session.begin_nested():
        _publish(session, _reread(session, listing.id), owner, 2, FIRST_PUBLISHED)
    assert twice.value.field == "status"
    _archive(session, _reread(session, listing.id), owner, 2, FIRST_PUBLISHED)
    with pytest.raises(Conflict), session.begin_nested():
        _archive(session, _reread(session, listing.id), owner, 3, FIRST_PUBLISHED)
    after = _reread(session, listing.id)
    assert (after.status, after.version) == (ListingStatus.archived, 3)
    assert _log(session, listing.id) == [(1, "create"), (2, "publish"), (3, "archive")]


def test_a_trade_listing_without_how_to_invest_steps_cannot_be_published(
    session: Session, owner: Principal
) -> None:
    trade = _create(session, owner, how_to_invest=[])
    with pytest.raises(InvalidInput) as caught, session.begin_nested():
        _publish(session, trade, owner, 1, FIRST_PUBLISHED)
    assert caught.value.field == "how_to_invest"
    after = _reread(session, trade.id)
    assert (after.status, after.published_at) == (ListingStatus.draft, None)
    assert _checkpoints(session, trade.id) == []

    # An infrastructure listing needs no steps.
    infrastructure = _create(session, owner, kind="infrastructure", how_to_invest=[])
    _publish(session, infrastructure, owner, 1, FIRST_PUBLISHED)
    assert _reread(session, infrastructure.id).status == ListingStatus.published


# --- finding -----------------------------------------------------------------------------


def test_find_listing_hides_a_draft_from_all_but_its_organisation_and_admins(
    session: Session, owner: Principal, rival: Principal, investor: Principal, admin: Principal
) -> None:
    listing = _create(session, owner)
    refs = (listing.slug, str(listing.id))
    for ref in refs:
        for viewer in (None, rival, investor):
            with pytest.raises(NotFound) as caught:
                service.find_listing(session, ref=ref, viewer=viewer)
            assert caught.value.field == "listing"
        for viewer in (owner, admin):
            assert service.find_listing(session, ref=ref, viewer=viewer).id == listing.id

    _publish(session, listing, owner, 1, FIRST_PUBLISHED)
    for ref in refs:
        assert service.find_listing(session, ref=ref, viewer=None).id == listing.id

    _archive(session, _reread(session, listing.id), owner, 2, FIRST_PUBLISHED)
    with pytest.raises(NotFound):
        service.find_listing(session, ref=listing.slug, viewer=rival)
    assert service.find_listing(session, ref=listing.slug, viewer=owner).id == listing.id
    found = service.find_listing(
        session, ref=listing.slug, viewer=None, public_statuses=EVER_PUBLISHED
    )
    assert found.id == listing.id


def test_find_listing_reports_an_unknown_ref_as_missing(session: Session, owner: Principal) -> None:
    listing = _create(session, owner)
    for ref in ("no-such-listing", str((listing.id or 0) + 1000)):
        with pytest.raises(NotFound):
            service.find_listing(session, ref=ref, viewer=owner)


def test_find_listing_reports_an_out_of_range_numeric_ref_as_missing(
    session: Session, owner: Principal
) -> None:
    _create(session, owner)
    for ref in ("9" * 25, str(2**31), "๑"):  # beyond any id; a Thai digit is no id either
        with pytest.raises(NotFound):
            service.find_listing(session, ref=ref, viewer=owner)


# --- checkpoints -------------------------------------------------------------------------


def test_update_checkpoint_records_status_and_note(session: Session, owner: Principal) -> None:
    listing = _create(session, owner)
    _publish(session, listing, owner, 1, FIRST_PUBLISHED)
    service.update_checkpoint(
        session,
        listing=listing,
        months=6,
        data=CheckpointUpdate(status=CheckpointStatus.delayed, note="รอใบอนุญาต ร.ง.4"),
        principal=owner,
    )
    session.expire_all()
    six, twelve = _checkpoints(session, listing.id)
    assert (six.status, six.note) == (CheckpointStatus.delayed, "รอใบอนุญาต ร.ง.4")
    assert (twelve.status, twelve.note) == (CheckpointStatus.pending, "")

    # Only the fields sent change.
    service.update_checkpoint(
        session,
        listing=listing,
        months=6,
        data=CheckpointUpdate.model_validate({"note": "Licence granted"}),
        principal=owner,
    )
    session.expire_all()
    six = _checkpoints(session, listing.id)[0]
    assert (six.status, six.note) == (CheckpointStatus.delayed, "Licence granted")
    # Recording progress is not a new version of the listing.
    assert _reread(session, listing.id).version == 2


def test_update_checkpoint_needs_an_existing_checkpoint_and_the_owner(
    session: Session, owner: Principal, rival: Principal
) -> None:
    draft = _create(session, owner)
    with pytest.raises(NotFound) as caught:
        service.update_checkpoint(
            session,
            listing=draft,
            months=6,
            data=CheckpointUpdate(status=CheckpointStatus.done),
            principal=owner,
        )
    assert caught.value.field == "months"
    _publish(session, draft, owner, 1, FIRST_PUBLISHED)
    with pytest.raises(NotFound):
        service.update_checkpoint(
            session,
            listing=draft,
            months=3,
            data=CheckpointUpdate(status=CheckpointStatus.done),
            principal=owner,
        )
    with pytest.raises(Forbidden):
        service.update_checkpoint(
            session,
            listing=draft,
            months=6,
            data=CheckpointUpdate(status=CheckpointStatus.done),
            principal=rival,
        )
    session.expire_all()
    assert [c.status for c in _checkpoints(session, draft.id)] == ["pending", "pending"]


# --- the three-way comparison of a stale edit (pure) -------------------------------------

NAMES = ("title_th", "title_en", "summary_en")


def _compare(
    original: dict[str, str | None], mine: dict[str, str], theirs: dict[str, str]
) -> list[FieldChange]:
    return changes_since(NAMES, original=original, mine=mine, theirs=theirs)


def test_changes_since_reports_the_fields_the_other_editor_changed() -> None:
    original: dict[str, str | None] = {"title_th": "ก", "title_en": "A", "summary_en": "s"}
    theirs = {"title_th": "ข", "title_en": "A", "summary_en": "s2"}
    mine = {"title_th": "ก", "title_en": "A (mine)", "summary_en": "s"}
    assert _compare(original, mine, theirs) == [
        FieldChange("title_th", old="ก", theirs="ข", mine="ก"),
        FieldChange("summary_en", old="s", theirs="s2", mine="s"),
    ]  # in the order of the names; title_en changed by me only is not reported


def test_a_field_typed_the_same_as_the_other_editor_saved_is_not_reported() -> None:
    original: dict[str, str | None] = {"title_th": "ก", "title_en": "A", "summary_en": "s"}
    theirs = {"title_th": "ข", "title_en": "B", "summary_en": "s"}
    mine = {"title_th": "ข", "title_en": "C", "summary_en": "s"}
    changes = _compare(original, mine, theirs)
    assert [c.name for c in changes] == ["title_en"]


def test_both_changed_only_when_mine_differs_from_the_original_and_theirs() -> None:
    assert FieldChange("title_en", old="A", theirs="B", mine="C").both_changed
    assert not FieldChange("title_en", old="A", theirs="B", mine="A").both_changed
    assert not FieldChange("title_en", old="A", theirs="B", mine="B").both_changed
    original: dict[str, str | None] = {"title_th": "ก", "title_en": "A", "summary_en": "s"}
    theirs = {"title_th": "ข", "title_en": "B", "summary_en": "s"}
    mine = {"title_th": "ก", "title_en": "C", "summary_en": "s"}
    flags = {c.name: c.both_changed for c in _compare(original, mine, theirs)}
    assert flags == {"title_th": False, "title_en": True}


def test_an_unknown_original_counts_as_changed() -> None:
    theirs = {"title_th": "ก", "title_en": "A", "summary_en": "s"}
    mine = {"title_th": "ก", "title_en": "A (mine)", "summary_en": "s (mine)"}
    changes = _compare({"title_en": None}, mine, theirs)  # summary_en: not even a key
    assert changes == [
        FieldChange("title_en", old=None, theirs="A", mine="A (mine)"),
        FieldChange("summary_en", old=None, theirs="s", mine="s (mine)"),
    ]
    assert all(c.both_changed for c in changes)
    # Unknown, but typed as stored: nothing to choose (title_th above).
    assert _compare({}, theirs, theirs) == []
