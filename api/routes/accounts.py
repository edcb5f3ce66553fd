"""People's accounts over the API: sessions, organisations, members, links, keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlmodel import Session

from api.deps import (
    JobsDep,
    LimiterDep,
    PasswordsDep,
    PrincipalDep,
    SessionDep,
    SettingsDep,
    writes,
)
from api.errors import error_response, error_responses
from catalog import history, organisations
from catalog.accounts import mail as account_mail
from catalog.accounts import service
from catalog.accounts.models import Person
from catalog.accounts.schemas import (
    ApiKeyCreate,
    ApiKeyIssued,
    ApiKeyPublic,
    InvitationCreate,
    LinkPublic,
    MePublic,
    OrganisationCreate,
    OrganisationPublic,
    PasswordSet,
    PersonPublic,
    ResetRequest,
    SessionPublic,
    SignInRequest,
)
from catalog.history import HistoryFilters, HistoryPublic
from catalog.models import Organisation
from core.errors import NotFound
from core.jobs import JobQueue
from core.principal import Principal
from matching import service as matching
from matching.schemas import InvestorRegistration, RegistrationPublic

router = APIRouter(prefix="/v1", tags=["accounts"])

Token = Annotated[str, Path(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]
OrganisationSlug = Annotated[
    str, Path(max_length=80, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", description="Slug.")
]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def link_public(
    session: Session, request: Request, link: service.IssuedLink, jobs: JobQueue | None
) -> LinkPublic:
    """The link by e-mail when the app sends mail; else the link itself, to pass on."""
    delivery = account_mail.deliver(session, link, jobs=jobs, base_url=str(request.base_url))
    return LinkPublic(
        person=service.person_public(session, link.person),
        url=delivery.url,
        emailed=delivery.emailed,
        expires_at=link.expires_at,
    )


@router.post(
    "/sessions",
    status_code=201,
    responses=error_responses(401, 422, 429),
    response_model=SessionPublic,
)
@writes
def sign_in(
    request: Request,
    session: SessionDep,
    passwords: PasswordsDep,
    settings: SettingsDep,
    limiter: LimiterDep,
    data: SignInRequest,
) -> SessionPublic | JSONResponse:
    """Sign a person in: a session token to send as `Authorization: Bearer …`. Attempts
    are limited per account and per address, failed ones further (`429` with
    `Retry-After`)."""
    limiter.hit_sign_in(address=client_address(request), email=data.email)
    signed_in = service.sign_in(
        session,
        email=data.email,
        password=data.password,
        address=client_address(request),
        passwords=passwords,
        settings=settings.accounts,
    )
    if signed_in is None:
        # Answered, not raised: the failed attempt is committed, and counts.
        return error_response(401, "unauthorized", "wrong e-mail or password", "password")
    return SessionPublic(
        token=signed_in.token,
        expires_at=signed_in.expires_at,
        person=service.person_public(session, signed_in.person),
    )


@router.delete("/sessions", status_code=204, responses=error_responses(401, 403))
@writes
def sign_out_everywhere(session: SessionDep, principal: PrincipalDep) -> Response:
    """End every session of the signed-in person, on every device."""
    person = service.person_of(session, principal)
    assert person.id is not None
    service.end_sessions(session, person.id)
    return Response(status_code=204)


@router.get("/me", responses=error_responses(401))
def me(session: SessionDep, principal: PrincipalDep) -> MePublic:
    """Who the credentials stand for: the organisation, the role and, for a person's
    session, the person."""
    person = session.get(Person, principal.person_id) if principal.person_id else None
    return MePublic(
        organisation=principal.organisation_slug,
        role=principal.role,
        person=service.person_public(session, person) if person else None,
        api_key_id=principal.api_key_id,
    )


@router.post(
    "/organisations",
    status_code=201,
    responses=error_responses(401, 403, 422),
)
@writes
def create_organisation(
    session: SessionDep, principal: PrincipalDep, data: OrganisationCreate
) -> OrganisationPublic:
    """Create an organisation (admins); then invite its first member, its owner."""
    organisation = service.create_organisation(session, principal=principal, data=data)
    return OrganisationPublic.model_validate(organisation, from_attributes=True)


@router.put("/organisations/{slug}/verification", responses=error_responses(401, 403, 404))
@writes
def verify_organisation(
    session: SessionDep, principal: PrincipalDep, slug: OrganisationSlug
) -> OrganisationPublic:
    """Vouch for an organisation that signed itself up (admins): its investor profiles
    are shown to publishers from now on."""
    organisation = service.verify_organisation(
        session,
        principal=principal,
        organisation=service.organisation_by_slug(session, slug),
        verified=True,
    )
    return OrganisationPublic.model_validate(organisation, from_attributes=True)


@router.delete("/organisations/{slug}/verification", responses=error_responses(401, 403, 404))
@writes
def withdraw_verification(
    session: SessionDep, principal: PrincipalDep, slug: OrganisationSlug
) -> OrganisationPublic:
    """Withdraw an organisation's verification (admins): its profiles are hidden again."""
    organisation = service.verify_organisation(
        session,
        principal=principal,
        organisation=service.organisation_by_slug(session, slug),
        verified=False,
    )
    return OrganisationPublic.model_validate(organisation, from_attributes=True)


@router.post(
    "/registrations",
    status_code=201,
    tags=["investors"],
    responses=error_responses(409, 422),
)
@writes
def register_investor(
    request: Request,
    session: SessionDep,
    jobs: JobsDep,
    passwords: PasswordsDep,
    settings: SettingsDep,
    data: InvestorRegistration,
) -> RegistrationPublic:
    """An investor signs itself up: its organisation, its owner (signed in: the session
    token is in the answer) and a first profile that matches anything until filled in.
    When the service sends mail, a link confirming the address goes out."""
    person, profile = matching.register_investor(session, data=data, passwords=passwords)
    mailed = account_mail.confirm_by_mail(
        session, person, jobs=jobs, base_url=str(request.base_url), settings=settings.accounts
    )
    signed_in = service.start_session(
        session, person, address=client_address(request), settings=settings.accounts
    )
    public = matching.profile_public(session, profile)
    return RegistrationPublic(
        session=SessionPublic(
            token=signed_in.token,
            expires_at=signed_in.expires_at,
            person=service.person_public(session, person),
        ),
        organisation=public.organisation,
        profile=public,
        email_confirmation="sent" if mailed else "not-needed",
    )


@router.post("/email-confirmations/{token}", responses=error_responses(404, 409))
@writes
def confirm_email(session: SessionDep, token: Token) -> PersonPublic:
    """Follow the link mailed at registration (once): the address is confirmed."""
    return service.person_public(session, service.confirm_email(session, token=token))


def _organisation(session: Session, principal: Principal, slug: str) -> Organisation:
    organisation = service.organisation_by_slug(session, slug)
    assert organisation.id is not None
    if not principal.acts_for(organisation.id):
        raise NotFound(f"no organisation '{slug}'", field="organisation")
    return organisation


@router.get("/organisations/{slug}/members", responses=error_responses(401, 404))
def list_members(
    session: SessionDep, principal: PrincipalDep, slug: OrganisationSlug
) -> list[PersonPublic]:
    """The organisation's people (its members and admins)."""
    organisation = _organisation(session, principal, slug)
    return [
        service.person_public(session, person)
        for person in service.members(session, principal=principal, organisation=organisation)
    ]


@router.get("/organisations/{slug}/audit", responses=error_responses(401, 404, 422))
def organisation_audit(
    session: SessionDep,
    principal: PrincipalDep,
    slug: OrganisationSlug,
    filters: Annotated[HistoryFilters, Query()],
) -> HistoryPublic:
    """Every change to the organisation's listings, checkpoints, leads, profiles, events,
    meetings, members and keys, newest first: who (person or key), when, each field's
    old and new value, and from where. For its members and admins; append-only."""
    organisation = service.organisation_by_slug(session, slug)
    return history.organisation_history(
        session, organisation=organisation, viewer=principal, filters=filters
    )


@router.post(
    "/organisations/{slug}/invitations",
    status_code=201,
    responses=error_responses(401, 403, 404, 409, 422),
)
@writes
def invite(
    request: Request,
    session: SessionDep,
    jobs: JobsDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    slug: OrganisationSlug,
    data: InvitationCreate,
) -> LinkPublic:
    """Invite a member (the organisation's owner, or an admin): a single-use link to set
    a password, which expires."""
    organisation = _organisation(session, principal, slug)
    link = service.invite(
        session,
        principal=principal,
        organisation=organisation,
        data=data,
        settings=settings.accounts,
    )
    return link_public(session, request, link, jobs)


@router.post(
    "/organisations/{slug}/members/{person_id}/reset-link",
    status_code=201,
    responses=error_responses(401, 404),
)
@writes
def member_reset_link(
    request: Request,
    session: SessionDep,
    jobs: JobsDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    slug: OrganisationSlug,
    person_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
) -> LinkPublic:
    """A password-reset link for a member, to pass on (owner or admin)."""
    _organisation(session, principal, slug)
    link = service.reset_link(
        session, principal=principal, person_id=person_id, settings=settings.accounts
    )
    return link_public(session, request, link, jobs)


@router.post("/invitations/{token}", responses=error_responses(404, 409, 422))
@writes
def accept_invitation(
    session: SessionDep, passwords: PasswordsDep, token: Token, data: PasswordSet
) -> PersonPublic:
    """Set a first password through an invitation link (once)."""
    person = service.use_link(
        session, token=token, purpose=service.INVITATION, data=data, passwords=passwords
    )
    return service.person_public(session, person)


@router.post("/password-resets", status_code=202, responses=error_responses(422))
@writes
def request_password_reset(
    request: Request, session: SessionDep, jobs: JobsDep, settings: SettingsDep, data: ResetRequest
) -> dict[str, str]:
    """Ask for a reset link by e-mail (when the app sends mail; without it, ask the
    organisation's owner). The answer is the same whether or not the address has an
    account."""
    account_mail.mail_reset(
        session,
        email=data.email,
        jobs=jobs,
        base_url=str(request.base_url),
        settings=settings.accounts,
    )
    return {"detail": "if the address has an account, a reset link is on its way"}


@router.post("/password-resets/{token}", responses=error_responses(404, 409, 422))
@writes
def reset_password(
    session: SessionDep, passwords: PasswordsDep, token: Token, data: PasswordSet
) -> PersonPublic:
    """Set a new password through a reset link (once); every session of the person ends."""
    person = service.use_link(
        session, token=token, purpose=service.RESET, data=data, passwords=passwords
    )
    return service.person_public(session, person)


@router.get("/keys", responses=error_responses(401))
def list_keys(session: SessionDep, principal: PrincipalDep) -> list[ApiKeyPublic]:
    """The organisation's API keys, with when each was made and last used."""
    return [
        service.key_public(row)
        for row in organisations.organisation_keys(session, principal.organisation_id)
    ]


@router.post("/keys", status_code=201, responses=error_responses(401, 403, 422))
@writes
def create_key(session: SessionDep, principal: PrincipalDep, data: ApiKeyCreate) -> ApiKeyIssued:
    """A new key for the organisation, in its role; the key is shown this once."""
    service.person_of(session, principal)  # people make keys; keys do not make keys
    row, key = organisations.issue_key(
        session,
        organisation_slug=principal.organisation_slug,
        role=principal.role,
        label=data.label,
        created_by=principal.person_id,
    )
    return ApiKeyIssued(key=key, **service.key_public(row).model_dump())


@router.delete("/keys/{key_id}", status_code=204, responses=error_responses(401, 404))
@writes
def revoke_key(
    session: SessionDep,
    principal: PrincipalDep,
    key_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
) -> Response:
    """Revoke a key: its next request fails, in every process."""
    organisations.revoke_key(session, principal=principal, key_id=key_id)
    return Response(status_code=204)
