"""Who may read and change investor profiles and pitch days: every rule here, once.

A profile someone may not read is reported as missing, not forbidden: ids are
sequential, and a 403 would confirm that a hidden profile exists.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_
from sqlmodel import Session, col, select

from catalog.models import Organisation
from core.errors import Forbidden, NotFound
from core.principal import Principal, Role
from matching.models import InvestorProfile, SavedSearch
from matching.pitchday.models import EventInvestor, MeetingRequest, PitchEvent

PROFILE_KEEPERS = (Role.investor, Role.organiser)  # and admins
ORGANISERS = (Role.organiser,)  # and admins


def _attends_events_of(session: Session, profile_id: int, organisation_id: int) -> bool:
    """Whether the profile attends one of the organisation's pitch days."""
    return (
        session.exec(
            select(EventInvestor.event_id)
            .join(PitchEvent, col(PitchEvent.id) == EventInvestor.event_id)
            .where(
                EventInvestor.investor_profile_id == profile_id,
                PitchEvent.organisation_id == organisation_id,
            )
            .limit(1)
        ).first()
        is not None
    )


def shown_to_publishers() -> ColumnElement[bool]:
    """Profiles anyone may find: discoverable, of an organisation an admin verified (a
    self-registered investor is hidden until then)."""
    verified = select(Organisation.id).where(col(Organisation.verified_at).is_not(None))
    return and_(
        col(InvestorProfile.discoverable).is_(True),
        col(InvestorProfile.organisation_id).in_(verified),
    )


def is_shown(session: Session, profile: InvestorProfile) -> bool:
    organisation = session.get(Organisation, profile.organisation_id)
    return (
        profile.discoverable and organisation is not None and organisation.verified_at is not None
    )


def may_read_profile(session: Session, profile: InvestorProfile, viewer: Principal | None) -> bool:
    """Discoverable profiles of verified organisations are for everyone; others for their
    organisation, admins, and an organiser while the profile attends one of that
    organiser's events."""
    if is_shown(session, profile):
        return True
    if viewer is None:
        return False
    if viewer.acts_for(profile.organisation_id):
        return True
    return viewer.role is Role.organiser and _attends_events_of(
        session, profile.id or 0, viewer.organisation_id
    )


def ensure_may_read_profile(
    session: Session, profile: InvestorProfile | None, viewer: Principal | None, profile_id: int
) -> InvestorProfile:
    if profile is None or not may_read_profile(session, profile, viewer):
        raise NotFound(f"no investor profile {profile_id}", field="investor")
    return profile


def ensure_may_keep_profiles(principal: Principal) -> None:
    """Investors keep their own profiles; organisers keep some for their events."""
    if not principal.has_role(*PROFILE_KEEPERS):
        raise Forbidden("an investor, organiser or admin key is needed", field="authorization")


def ensure_may_edit_profile(principal: Principal, profile: InvestorProfile) -> None:
    if not principal.acts_for(profile.organisation_id):
        raise Forbidden("this profile belongs to another organisation", field="investor")


def may_invite_profile(session: Session, principal: Principal, profile: InvestorProfile) -> bool:
    """An organiser invites the profiles anyone may find, and its own."""
    return is_shown(session, profile) or principal.acts_for(profile.organisation_id)


def may_name_at_event(
    event: PitchEvent, profile: InvestorProfile, viewer: Principal | None
) -> bool:
    """Discoverable investors are named to all; others to the organiser and themselves."""
    return profile.discoverable or (
        viewer is not None
        and (viewer.acts_for(event.organisation_id) or viewer.acts_for(profile.organisation_id))
    )


def may_organise(event: PitchEvent, principal: Principal | None) -> bool:
    """Whether ``principal`` runs this event: its organiser, or an admin."""
    return principal is not None and (
        principal.is_admin
        or (principal.role is Role.organiser and principal.acts_for(event.organisation_id))
    )


def ensure_organiser(principal: Principal) -> None:
    if not principal.has_role(*ORGANISERS):
        raise Forbidden("this needs an organiser key", field="authorization")


def ensure_may_organise(event: PitchEvent, principal: Principal) -> None:
    ensure_organiser(principal)
    if not may_organise(event, principal):
        raise Forbidden("this event belongs to another organiser", field="event")


def ensure_may_see_investors_of(principal: Principal, listing_organisation_id: int) -> None:
    """A listing's fitting investors are for its publisher (and admins)."""
    if not principal.acts_for(listing_organisation_id):
        raise Forbidden("only the listing's publisher sees its investors", field="listing")


def ensure_investor(principal: Principal) -> None:
    if principal.role is not Role.investor:
        raise Forbidden("an investor key is needed to express interest", field="authorization")


def ensure_person(principal: Principal) -> int:
    """A shortlist is a person's own: an organisation's API key has none. Returns the
    person's id."""
    if principal.person_id is None:
        raise Forbidden(
            "a shortlist belongs to a person, not to an API key: sign in with e-mail and "
            "password (POST /v1/sessions) and send the session token (cds_…) instead",
            field="authorization",
        )
    return principal.person_id


def ensure_saver(principal: Principal) -> int:
    """Saved searches are a person's own: an organisation's API key keeps none. Returns
    the person's id."""
    if principal.person_id is None:
        raise Forbidden(
            "a saved search belongs to a person, not to an API key: sign in with e-mail and "
            "password (POST /v1/sessions) and send the session token (cds_…) instead",
            field="authorization",
        )
    return principal.person_id


def ensure_own_saved_search(
    saved: SavedSearch | None, principal: Principal, saved_id: int
) -> SavedSearch:
    """Only the person who saved a search reads or changes it; to anyone else it does not
    exist (ids are sequential: a 403 would confirm one)."""
    if saved is None or saved.person_id != ensure_saver(principal):
        raise NotFound(f"no saved search {saved_id}", field="saved_search")
    return saved


def may_follow_profile(principal: Principal, profile: InvestorProfile | None) -> bool:
    """A person follows the matches of their own organisation's profiles only."""
    return profile is not None and profile.organisation_id == principal.organisation_id


# --- the day of a pitch day: agendas, check-in, outcomes ----------------------------------


def names_investor_to(event: PitchEvent, profile: InvestorProfile, organisation_id: int) -> bool:
    """Whether a participant of ``organisation_id`` (a listing's city, in its agenda, feed
    and e-mail) sees the investor's name: as ``may_name_at_event`` names it."""
    return profile.discoverable or organisation_id in (
        event.organisation_id,
        profile.organisation_id,
    )


def may_see_agenda(event: PitchEvent, principal: Principal | None, owner_id: int) -> bool:
    """A participant's agenda is for its own organisation (the investor's, the listing's
    publisher) and for the event's organiser."""
    return principal is not None and (
        principal.acts_for(owner_id) or may_organise(event, principal)
    )


def may_keep_agenda_feed(principal: Principal, owner_id: int) -> bool:
    """The secret feed of an agenda is its participant's own (the organiser reads the
    agenda, but never holds a participant's calendar link)."""
    return principal.acts_for(owner_id)


def ensure_may_keep_agenda_feed(principal: Principal, owner_id: int) -> None:
    if not may_keep_agenda_feed(principal, owner_id):
        raise Forbidden("only the participant's own people hold its calendar link", field="feed")


def may_record_outcome(event: PitchEvent, principal: Principal | None, listing_owner: int) -> bool:
    """The outcome of a meeting is recorded by the organiser and by the listing's publisher."""
    return principal is not None and (
        may_organise(event, principal)
        or (principal.role is Role.publisher and principal.acts_for(listing_owner))
    )


def ensure_may_record_outcome(event: PitchEvent, principal: Principal, listing_owner: int) -> None:
    if not may_record_outcome(event, principal, listing_owner):
        raise Forbidden(
            "outcomes are recorded by the organiser and the listing's publisher", field="meeting"
        )


# --- meetings people ask for: availability, requests, proposals ---------------------------


def speaks_for(principal: Principal, owner_id: int) -> bool:
    """A side of a meeting (an attending investor profile, a listing at the event) is
    spoken for by its own organisation's people and keys only: not by an admin, who would
    otherwise speak for both sides of every request."""
    return principal.organisation_id == owner_id


def may_answer_request(
    principal: Principal, requested_by: str, *, investor_owner: int, listing_owner: int
) -> bool:
    """A request is accepted or declined by the side that did not send it; a pair the
    organiser proposed, by either side."""
    if requested_by == "investor":
        return speaks_for(principal, listing_owner)
    if requested_by == "listing":
        return speaks_for(principal, investor_owner)
    return speaks_for(principal, listing_owner) or speaks_for(principal, investor_owner)


def ensure_may_answer_request(
    principal: Principal,
    request: MeetingRequest,
    *,
    investor_owner: int,
    listing_owner: int,
) -> None:
    """The sender is told why not; anyone else learns nothing (ids are sequential)."""
    if may_answer_request(
        principal, request.requested_by, investor_owner=investor_owner, listing_owner=listing_owner
    ):
        return
    sender = investor_owner if request.requested_by == "investor" else listing_owner
    if request.requested_by != "proposal" and speaks_for(principal, sender):
        raise Forbidden(
            "you sent this request: only the other side accepts or declines it", field="request"
        )
    raise NotFound(f"no meeting request {request.id}", field="request")


def names_requester(
    event: PitchEvent, profile: InvestorProfile, principal: Principal, requested_by: str
) -> bool:
    """An investor who is not discoverable is named on a request it sent itself (asking
    is showing oneself), and as ``may_name_at_event`` says."""
    return requested_by == "investor" or may_name_at_event(event, profile, principal)
