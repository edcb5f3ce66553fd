"""Matching's workflows called directly, without HTTP: who may read a profile (and an
organiser only while it attends one of its events), versioned profile edits, and
expressions of interest becoming leads."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import Session, col, select

from catalog import service as catalog_service
from catalog.models import Listing, Organisation
from catalog.schemas import ListingCreate
from core.errors import Conflict, Forbidden, InvalidInput, NotFound, PreconditionFailed
from core.principal import OrganisationKind, Principal, Role
from matching import service
from matching.access import may_read_profile
from matching.models import Interest, InvestorProfile
from matching.pitchday import service as pitchday_service
from matching.pitchday.models import EventInvestor, PitchEvent
from matching.pitchday.schemas import EventCreate, EventUpdate
from matching.schemas import (
    InterestCreate,
    InvestorProfileCreate,
    InvestorProfileUpdate,
    LeadStatus,
    LeadUpdate,
)
from tests.factories import World, listing_payload, profile_payload, publisher_of

# --- principals ---------------------------------------------------------------------------


def _principal(session: Session, slug: str, role: Role) -> Principal:
    organisation = session.exec(select(Organisation).where(Organisation.slug == slug)).one()
    assert organisation.id is not None
    return Principal(organisation.id, organisation.slug, role, 0)


@pytest.fixture
def investor(session: Session, world: World) -> Principal:
    return _principal(session, "siam-infra-fund", Role.investor)


@pytest.fixture
def organiser(session: Session, world: World) -> Principal:
    """The world's organiser, pitch-org."""
    return _principal(session, "pitch-org", Role.organiser)


@pytest.fixture
def far_organiser(session: Session, world: World) -> Principal:
    """An organiser of an organisation with no part in anything yet."""
    session.add(
        Organisation(
            slug="far-away-events",
            name_th="ฟาร์อะเวย์ อีเวนต์",
            name_en="Far Away Events",
            kind=OrganisationKind.organiser,
        )
    )
    session.flush()
    return _principal(session, "far-away-events", Role.organiser)


@pytest.fixture
def admin(session: Session, world: World) -> Principal:
    return _principal(session, "citydeal-ops", Role.admin)


@pytest.fixture
def publisher(session: Session, world: World) -> Principal:
    return publisher_of(session, "ns-dev")


@pytest.fixture
def rival(session: Session, world: World) -> Principal:
    return publisher_of(session, "rayong-dev")


# --- helpers ----------------------------------------------------------------------------


def _profile(session: Session, principal: Principal, **overrides: Any) -> InvestorProfile:
    data = InvestorProfileCreate.model_validate(profile_payload(**overrides))
    return service.create_profile(session, data=data, principal=principal)


def _reread(session: Session, profile_id: int | None) -> InvestorProfile:
    session.expire_all()
    profile = session.get(InvestorProfile, profile_id)
    assert profile is not None
    return profile


def _id(row: InvestorProfile | Listing | PitchEvent) -> int:
    assert row.id is not None
    return row.id


def _readers(session: Session, profile: InvestorProfile, *viewers: Principal | None) -> list[bool]:
    """Whether each viewer may read the profile, by the rule and through get_profile."""
    answers = []
    for viewer in viewers:
        allowed = may_read_profile(session, profile, viewer)
        if allowed:
            found = service.get_profile(session, profile_id=_id(profile), viewer=viewer)
            assert found.id == profile.id
        else:
            with pytest.raises(NotFound) as caught:
                service.get_profile(session, profile_id=_id(profile), viewer=viewer)
            assert caught.value.field == "investor"
        answers.append(allowed)
    return answers


def _event(
    session: Session, organiser: Principal, slug: str, investors: list[int] | None = None
) -> PitchEvent:
    data = EventCreate(
        slug=slug,
        city="nakhon-sawan",
        name_th="วันนำเสนอโครงการนครสวรรค์",
        name_en="Nakhon Sawan pitch day",
        held_on=date(2027, 1, 15),
        investors=investors or [],
    )
    return pitchday_service.create_event(session, data=data, principal=organiser)


def _attend(session: Session, event: PitchEvent, profile: InvestorProfile) -> None:
    session.add(EventInvestor(event_id=_id(event), investor_profile_id=_id(profile), position=0))
    session.flush()


def _published_listing(session: Session, publisher: Principal, **overrides: Any) -> Listing:
    listing = catalog_service.create_listing(
        session,
        data=ListingCreate.model_validate(listing_payload(**overrides)),
        principal=publisher,
    )
    return catalog_service.publish_listing(
        session,
        listing=listing,
        principal=publisher,
        expected_version=1,
        at=datetime(2026, 10, 1, tzinfo=UTC),
    )


def _interest_count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Interest)).one()


# --- reading profiles -----------------------------------------------------------------------


def test_a_discoverable_profile_is_for_everyone(
    session: Session, investor: Principal, far_organiser: Principal, rival: Principal
) -> None:
    profile = _profile(session, investor, discoverable=True)
    assert _readers(session, profile, None, rival, far_organiser, investor) == [True] * 4


def test_a_hidden_profile_is_for_its_organisation_and_admins_only(
    session: Session,
    investor: Principal,
    organiser: Principal,
    far_organiser: Principal,
    publisher: Principal,
    admin: Principal,
) -> None:
    profile = _profile(session, investor, discoverable=False)
    other_investor = Principal(admin.organisation_id + 1000, "nobody", Role.investor, 0)
    assert _readers(session, profile, investor, admin) == [True, True]
    assert (
        _readers(session, profile, None, publisher, organiser, far_organiser, other_investor)
        == [False] * 5
    )
    with pytest.raises(NotFound):
        service.get_profile(session, profile_id=_id(profile) + 1000, viewer=admin)


def test_an_organiser_reads_a_hidden_profile_only_while_it_attends_its_own_event(
    session: Session, investor: Principal, organiser: Principal, far_organiser: Principal
) -> None:
    profile = _profile(session, investor, discoverable=False)
    assert _readers(session, profile, organiser, far_organiser) == [False, False]

    # Attending another organiser's event is no key to this one.
    _attend(session, _event(session, organiser, "pitch-org-day"), profile)
    assert _readers(session, profile, organiser, far_organiser) == [True, False]

    # An event of its own, with nobody attending yet: still hidden.
    own_event = _event(session, far_organiser, "far-away-day")
    assert _readers(session, profile, far_organiser) == [False]
    _attend(session, own_event, profile)
    assert _readers(session, profile, far_organiser) == [True]
    assert _readers(session, profile, None) == [False]  # the rest of the world still not

    # Once it no longer attends, the organiser loses sight of it again.
    pitchday_service.update_event(
        session,
        event=own_event,
        data=EventUpdate.model_validate({"investors": []}),
        expected_version=1,
        principal=far_organiser,
    )
    assert _readers(session, profile, far_organiser, organiser) == [False, True]


def test_a_profile_invited_while_discoverable_stays_readable_to_the_organiser_once_hidden(
    session: Session, investor: Principal, organiser: Principal, far_organiser: Principal
) -> None:
    profile = _profile(session, investor, discoverable=True)
    _event(session, far_organiser, "far-away-day", investors=[_id(profile)])
    service.update_profile(
        session,
        profile=profile,
        data=InvestorProfileUpdate.model_validate({"discoverable": False}),
        expected_version=1,
        principal=investor,
    )
    hidden = _reread(session, profile.id)
    assert hidden.discoverable is False
    assert _readers(session, hidden, far_organiser, organiser, None) == [True, False, False]


# --- editing profiles -------------------------------------------------------------------


def test_update_profile_from_the_current_version_bumps_it(
    session: Session, investor: Principal
) -> None:
    profile = _profile(session, investor)
    service.update_profile(
        session,
        profile=profile,
        data=InvestorProfileUpdate.model_validate({"horizon_years": 8, "min_irr_pct": None}),
        expected_version=1,
        principal=investor,
    )
    after = _reread(session, profile.id)
    assert (after.version, after.horizon_years, after.min_irr_pct) == (2, 8, None)
    assert after.name == "Lanna Food Ventures"  # not sent, not changed


def test_update_profile_from_a_stale_version_is_refused_and_changes_nothing(
    session: Session, investor: Principal
) -> None:
    profile = _profile(session, investor)
    service.update_profile(
        session,
        profile=profile,
        data=InvestorProfileUpdate.model_validate({"name": "Saved meanwhile"}),
        expected_version=1,
        principal=investor,
    )
    stale = _reread(session, profile.id)
    with pytest.raises(PreconditionFailed) as caught:
        service.update_profile(
            session,
            profile=stale,
            data=InvestorProfileUpdate.model_validate(
                {"name": "Typed from v1", "horizon_years": 9}
            ),
            expected_version=1,
            principal=investor,
        )
    assert caught.value.extra["current_version"] == 2
    after = _reread(session, profile.id)
    assert (after.version, after.name, after.horizon_years) == (2, "Saved meanwhile", 6)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ticket_max_thb": 1_000_000}, "ticket_max_thb"),  # below the stored minimum, 2M
        ({"ticket_min_thb": 30_000_000}, "ticket_max_thb"),  # above the stored maximum, 20M
    ],
)
def test_a_ticket_change_must_hold_together_with_the_stored_ticket(
    session: Session, investor: Principal, change: dict[str, int], field: str
) -> None:
    profile = _profile(session, investor)
    data = InvestorProfileUpdate.model_validate(change)  # valid alone
    with pytest.raises(InvalidInput) as caught, session.begin_nested():
        service.update_profile(
            session, profile=profile, data=data, expected_version=1, principal=investor
        )
    assert caught.value.field == field
    assert "ticket_max_thb must not be below ticket_min_thb" in caught.value.message
    after = _reread(session, profile.id)
    assert (after.ticket_min_thb, after.ticket_max_thb, after.version) == (
        2_000_000,
        20_000_000,
        1,
    )
    # Moving both ends together is fine.
    service.update_profile(
        session,
        profile=after,
        data=InvestorProfileUpdate.model_validate(
            {"ticket_min_thb": 30_000_000, "ticket_max_thb": 50_000_000}
        ),
        expected_version=1,
        principal=investor,
    )
    moved = _reread(session, profile.id)
    assert (moved.ticket_min_thb, moved.ticket_max_thb, moved.version) == (
        30_000_000,
        50_000_000,
        2,
    )


def test_only_the_owner_or_an_admin_updates_a_profile(
    session: Session, investor: Principal, organiser: Principal, admin: Principal
) -> None:
    profile = _profile(session, investor, discoverable=True)
    data = InvestorProfileUpdate.model_validate({"name": "Renamed"})
    with pytest.raises(Forbidden):
        service.update_profile(
            session, profile=profile, data=data, expected_version=1, principal=organiser
        )
    assert _reread(session, profile.id).version == 1
    service.update_profile(
        session,
        profile=_reread(session, profile.id),
        data=data,
        expected_version=1,
        principal=admin,
    )
    after = _reread(session, profile.id)
    assert (after.name, after.version, after.organisation_id) == (
        "Renamed",
        2,
        investor.organisation_id,
    )


# --- interest and leads -------------------------------------------------------------------


def test_express_interest_once_per_investor_and_listing(
    session: Session, investor: Principal, publisher: Principal, rival: Principal
) -> None:
    profile = _profile(session, investor)
    listing = _published_listing(session, publisher)
    first, created = service.express_interest(
        session,
        listing=listing,
        data=InterestCreate(message="  We would like the business plan.  "),
        principal=investor,
    )
    assert created is True
    assert (first.listing_id, first.investor_profile_id) == (listing.id, profile.id)
    assert first.status == LeadStatus.new
    assert first.message == "We would like the business plan."
    again, created_again = service.express_interest(
        session, listing=listing, data=InterestCreate(message="Second try"), principal=investor
    )
    assert created_again is False
    assert again.id == first.id
    assert again.message == "We would like the business plan."  # the first one stands
    assert _interest_count(session) == 1

    assert [lead.id for lead in service.list_leads(session, principal=publisher)] == [first.id]
    assert service.list_leads(session, principal=rival) == []


@pytest.mark.parametrize("status", ["draft", "archived"])
def test_express_interest_refuses_a_listing_that_is_not_published(
    session: Session, investor: Principal, publisher: Principal, status: str
) -> None:
    _profile(session, investor)
    listing = catalog_service.create_listing(
        session, data=ListingCreate.model_validate(listing_payload()), principal=publisher
    )
    if status == "archived":
        catalog_service.publish_listing(
            session, listing=listing, principal=publisher, expected_version=1
        )
        catalog_service.archive_listing(
            session, listing=listing, principal=publisher, expected_version=2
        )
    assert listing.status == status
    with pytest.raises(Conflict) as caught:
        service.express_interest(
            session, listing=listing, data=InterestCreate(), principal=investor
        )
    assert caught.value.field == "listing"
    assert _interest_count(session) == 0


def test_express_interest_needs_an_investor_with_one_profile_or_a_named_one(
    session: Session, investor: Principal, publisher: Principal
) -> None:
    listing = _published_listing(session, publisher)
    with pytest.raises(Forbidden):
        service.express_interest(
            session, listing=listing, data=InterestCreate(), principal=publisher
        )
    with pytest.raises(InvalidInput, match="create an investor profile first"):
        service.express_interest(
            session, listing=listing, data=InterestCreate(), principal=investor
        )
    _profile(session, investor, slug="lanna-food")
    second = _profile(session, investor, slug="lanna-logistics", name="Lanna Logistics")
    with pytest.raises(InvalidInput, match="several profiles"):
        service.express_interest(
            session, listing=listing, data=InterestCreate(), principal=investor
        )
    assert _interest_count(session) == 0
    interest, created = service.express_interest(
        session,
        listing=listing,
        data=InterestCreate(investor_profile="lanna-logistics"),
        principal=investor,
    )
    assert created
    assert interest.investor_profile_id == second.id


def test_the_listings_publisher_moves_its_leads_along(
    session: Session,
    investor: Principal,
    publisher: Principal,
    rival: Principal,
    admin: Principal,
) -> None:
    _profile(session, investor)
    listing = _published_listing(session, publisher)
    interest, _ = service.express_interest(
        session, listing=listing, data=InterestCreate(), principal=investor
    )
    lead_id = _id_of(interest)
    for outsider in (rival, investor):
        with pytest.raises(NotFound):
            service.update_lead(
                session,
                lead_id=lead_id,
                data=LeadUpdate(status=LeadStatus.lost),
                principal=outsider,
            )
    session.expire_all()
    assert session.get(Interest, lead_id) is not None
    assert _lead_status(session, lead_id) == LeadStatus.new

    service.update_lead(
        session, lead_id=lead_id, data=LeadUpdate(status=LeadStatus.contacted), principal=publisher
    )
    assert _lead_status(session, lead_id) == LeadStatus.contacted
    service.update_lead(
        session, lead_id=lead_id, data=LeadUpdate(status=LeadStatus.meeting), principal=admin
    )
    assert _lead_status(session, lead_id) == LeadStatus.meeting
    with pytest.raises(NotFound):
        service.update_lead(
            session,
            lead_id=lead_id + 1000,
            data=LeadUpdate(status=LeadStatus.won),
            principal=publisher,
        )


def test_leads_are_listed_newest_first(
    session: Session, investor: Principal, publisher: Principal
) -> None:
    _profile(session, investor)
    older = _published_listing(session, publisher, slug="fish-balls")
    newer = _published_listing(session, publisher, slug="fish-sauce", title_en="Fish sauce")
    first, _ = service.express_interest(
        session, listing=older, data=InterestCreate(), principal=investor
    )
    second, _ = service.express_interest(
        session, listing=newer, data=InterestCreate(), principal=investor
    )
    first.created_at = datetime(2026, 11, 1, tzinfo=UTC)
    second.created_at = datetime(2026, 11, 2, tzinfo=UTC)
    session.add_all([first, second])
    session.flush()
    leads = service.list_leads(session, principal=publisher)
    assert [lead.id for lead in leads] == [second.id, first.id]


def _id_of(interest: Interest) -> int:
    assert interest.id is not None
    return interest.id


def _lead_status(session: Session, lead_id: int) -> str:
    session.expire_all()
    return session.exec(select(Interest.status).where(col(Interest.id) == lead_id)).one()
