"""People's accounts: organisations and their members, invitations, passwords, sessions.

Passwords are hashed with argon2id (pwdlib). Session tokens, invitation and reset links
carry 256 random bits and are stored as SHA-256 digests, as API keys are. Sign-in
attempts are rows, counted per account and per address over a window, so throttling
holds across processes and hosts.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import func, update
from sqlmodel import Session, col, select

from catalog.accounts.models import AccountLink, Person, PersonSession, SignInAttempt
from catalog.accounts.schemas import (
    ApiKeyPublic,
    InvitationCreate,
    OrganisationCreate,
    PasswordSet,
    PersonPublic,
)
from catalog.models import ApiKey, City, Organisation
from core.db import unique_slug, utcnow
from core.errors import Conflict, Forbidden, InvalidInput, NotFound, TooManyRequests, Unauthorized
from core.principal import ROLE_OF_KIND, OrganisationKind, Principal, Role
from core.settings import AccountSettings

SESSION_PREFIX = "cds"
INVITATION = "invitation"
RESET = "reset"
VERIFY = "verify"  # confirms a self-registered person's e-mail address


def role_of(organisation: Organisation) -> Role:
    return ROLE_OF_KIND[OrganisationKind(organisation.kind)]


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


class Passwords:
    """argon2id through pwdlib, with the cost the settings give."""

    def __init__(self, settings: AccountSettings) -> None:
        self._hash = PasswordHash(
            (
                Argon2Hasher(
                    time_cost=settings.argon2_time_cost,
                    memory_cost=settings.argon2_memory_kib,
                ),
            )
        )

    def hash(self, password: str) -> str:
        return self._hash.hash(password)

    def verify(self, password: str, hashed: str) -> tuple[bool, str | None]:
        """Whether ``password`` matches, and a new hash when the cost has changed."""
        return self._hash.verify_and_update(password, hashed)


# --- organisations and members ------------------------------------------------------


def create_organisation(
    session: Session, *, principal: Principal, data: OrganisationCreate
) -> Organisation:
    """An admin creates an organisation; its members then come by invitation."""
    if not principal.is_admin:
        raise Forbidden("only an admin creates organisations", field="authorization")
    city_id = None
    if data.city is not None:
        city = session.exec(select(City).where(City.slug == data.city)).first()
        if city is None:
            raise InvalidInput(f"no city '{data.city}'", field="city")
        city_id = city.id
    organisation = Organisation(
        slug=unique_slug(session, Organisation.slug, data.name_en, fallback="organisation"),
        name_th=data.name_th,
        name_en=data.name_en,
        kind=data.kind,
        city_id=city_id,
        verified_at=utcnow(),  # an admin made it
    )
    session.add(organisation)
    session.flush()
    return organisation


def organisation_by_slug(session: Session, slug: str) -> Organisation:
    organisation = session.exec(select(Organisation).where(Organisation.slug == slug)).first()
    if organisation is None:
        raise NotFound(f"no organisation '{slug}'", field="organisation")
    return organisation


def may_manage_members(session: Session, principal: Principal, organisation_id: int) -> bool:
    """Admins manage every organisation's members; an owner manages its own."""
    if principal.is_admin:
        return True
    if principal.person_id is None or principal.organisation_id != organisation_id:
        return False
    person = session.get(Person, principal.person_id)
    return person is not None and person.is_owner


def members(session: Session, *, principal: Principal, organisation: Organisation) -> list[Person]:
    assert organisation.id is not None
    if not principal.acts_for(organisation.id):
        raise Forbidden("not a member of this organisation", field="organisation")
    return list(
        session.exec(
            select(Person)
            .where(Person.organisation_id == organisation.id)
            .order_by(col(Person.created_at), col(Person.id))
        )
    )


@dataclass(frozen=True)
class IssuedLink:
    person: Person
    token: str
    expires_at: datetime
    link_id: int
    purpose: str


def _issue_link(
    session: Session, person: Person, purpose: str, lifetime: timedelta, by: int | None
) -> IssuedLink:
    assert person.id is not None
    token = secrets.token_urlsafe(32)
    expires_at = utcnow() + lifetime
    link = AccountLink(
        purpose=purpose,
        digest=digest(token),
        person_id=person.id,
        created_by=by,
        expires_at=expires_at,
    )
    session.add(link)
    session.flush()
    assert link.id is not None
    return IssuedLink(person, token, expires_at, link.id, purpose)


def invite(
    session: Session,
    *,
    principal: Principal,
    organisation: Organisation,
    data: InvitationCreate,
    settings: AccountSettings,
) -> IssuedLink:
    """A new member of ``organisation`` and the single-use link to set a password."""
    assert organisation.id is not None
    if not may_manage_members(session, principal, organisation.id):
        raise Forbidden("only the organisation's owner or an admin invites", field="organisation")
    email = normalise_email(data.email)
    if session.exec(select(Person).where(Person.email == email)).first() is not None:
        raise Conflict("someone with this e-mail address already has an account", field="email")
    person = Person(
        email=email,
        name=data.name,
        organisation_id=organisation.id,
        role=role_of(organisation),
        is_owner=data.owner,
    )
    session.add(person)
    session.flush()
    return _issue_link(
        session,
        person,
        INVITATION,
        timedelta(days=settings.invitation_days),
        principal.person_id,
    )


def _valid_link(session: Session, token: str, purpose: str) -> tuple[AccountLink, Person]:
    link = session.exec(select(AccountLink).where(AccountLink.digest == digest(token))).first()
    if link is None or link.purpose != purpose:
        raise NotFound("this link is not valid", field="token")
    if link.used_at is not None:
        raise Conflict("this link has already been used", field="token")
    if link.expires_at <= utcnow():
        raise Conflict("this link has expired; ask for a new one", field="token")
    person = session.get(Person, link.person_id)
    if person is None or person.disabled_at is not None:
        raise NotFound("this link is not valid", field="token")
    return link, person


def check_link(session: Session, token: str, purpose: str) -> Person:
    """The person a still-valid link is for (for the form that uses it)."""
    return _valid_link(session, token, purpose)[1]


def use_link(
    session: Session, *, token: str, purpose: str, data: PasswordSet, passwords: Passwords
) -> Person:
    """Set the password through an invitation or reset link, once. Every session of the
    person ends: whoever knew the old password is signed out."""
    link, person = _valid_link(session, token, purpose)
    claimed = session.execute(
        update(AccountLink)
        .where(col(AccountLink.id) == link.id, col(AccountLink.used_at).is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("this link has already been used", field="token")
    person.password_hash = passwords.hash(data.password)
    person.email_verified_at = person.email_verified_at or utcnow()  # the link reached them
    if data.name:
        person.name = data.name
    session.add(person)
    assert person.id is not None
    end_sessions(session, person.id)
    return person


def reset_link(
    session: Session, *, principal: Principal, person_id: int, settings: AccountSettings
) -> IssuedLink:
    """A reset link for a member, made by its owner or an admin, to pass on."""
    person = session.get(Person, person_id)
    if person is None or not may_manage_members(session, principal, person.organisation_id):
        raise NotFound("no such member", field="person")
    return _issue_link(
        session, person, RESET, timedelta(hours=settings.reset_hours), principal.person_id
    )


def request_reset(session: Session, *, email: str, settings: AccountSettings) -> IssuedLink | None:
    """A reset link for whoever holds ``email``, or None (the caller says the same either
    way, so the form does not tell who has an account)."""
    person = session.exec(select(Person).where(Person.email == normalise_email(email))).first()
    if person is None or person.disabled_at is not None:
        return None
    return _issue_link(session, person, RESET, timedelta(hours=settings.reset_hours), None)


# --- what is shown of them --------------------------------------------------------


def person_public(session: Session, person: Person) -> PersonPublic:
    organisation = session.get(Organisation, person.organisation_id)
    assert organisation is not None
    assert person.id is not None
    return PersonPublic(
        id=person.id,
        email=person.email,
        name=person.name,
        organisation=organisation.slug,
        role=person.role,
        is_owner=person.is_owner,
        has_password=person.password_hash is not None,
        created_at=person.created_at,
    )


def key_public(row: ApiKey) -> ApiKeyPublic:
    assert row.id is not None
    return ApiKeyPublic(
        id=row.id,
        label=row.label,
        role=row.role,
        prefix=row.prefix,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


# --- sessions -----------------------------------------------------------------------


@dataclass(frozen=True)
class SignedIn:
    person: Person
    token: str
    expires_at: datetime


def _throttle(session: Session, *, email: str, address: str, settings: AccountSettings) -> None:
    """Refuse a sign-in while this account or this address has failed too often lately."""
    now = utcnow()
    since = now - timedelta(minutes=settings.sign_in_window_minutes)
    for column, value, limit, what in (
        (SignInAttempt.email, email, settings.sign_in_failures_per_account, "this account"),
        (SignInAttempt.address, address, settings.sign_in_failures_per_address, "this address"),
    ):
        failures = session.exec(
            select(func.count(), func.min(SignInAttempt.at)).where(
                column == value,
                col(SignInAttempt.succeeded).is_(False),
                col(SignInAttempt.at) > since,
            )
        ).one()
        count, oldest = failures
        if count >= limit:
            wait = int(
                (oldest + timedelta(minutes=settings.sign_in_window_minutes) - now).total_seconds()
            )
            wait = max(wait, 1)
            raise TooManyRequests(
                f"too many failed sign-ins for {what}; try again in {wait // 60 + 1} minutes",
                retry_after=wait,
                field="email",
            )


def sign_in(
    session: Session,
    *,
    email: str,
    password: str,
    address: str,
    passwords: Passwords,
    settings: AccountSettings,
) -> SignedIn | None:
    """A new session for the person, or None for a wrong e-mail or password (the attempt
    is recorded either way: the caller commits, then answers 401). Raises 429 while
    throttled."""
    email = normalise_email(email)
    _throttle(session, email=email, address=address, settings=settings)
    person = session.exec(select(Person).where(Person.email == email)).first()
    matched, rehashed = (False, None)
    if person is not None and person.password_hash and person.disabled_at is None:
        matched, rehashed = passwords.verify(password, person.password_hash)
    else:
        passwords.hash(password)  # the same time either way: no hint who has an account
    session.add(SignInAttempt(email=email, address=address, succeeded=matched))
    if not matched or person is None:
        session.flush()
        return None
    if rehashed:
        person.password_hash = rehashed
        session.add(person)
    return start_session(session, person, address=address, settings=settings)


def start_session(
    session: Session, person: Person, *, address: str, settings: AccountSettings
) -> SignedIn:
    """A new session for ``person``: the token is handed back once, its digest kept."""
    assert person.id is not None
    token = f"{SESSION_PREFIX}_{secrets.token_urlsafe(32)}"
    expires_at = utcnow() + timedelta(hours=settings.session_hours)
    session.add(
        PersonSession(
            digest=digest(token), person_id=person.id, address=address, expires_at=expires_at
        )
    )
    session.flush()
    return SignedIn(person, token, expires_at)


def principal_for_session(session: Session, token: str) -> Principal | None:
    """Who a session token stands for, while the session is live and its person active."""
    row = session.exec(select(PersonSession).where(PersonSession.digest == digest(token))).first()
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    person = session.get(Person, row.person_id)
    if person is None or person.disabled_at is not None or person.id is None:
        return None
    organisation = session.get(Organisation, person.organisation_id)
    assert organisation is not None
    return Principal(
        organisation_id=person.organisation_id,
        organisation_slug=organisation.slug,
        role=Role(person.role),
        person_id=person.id,
    )


def resolve_session(session: Session, token: str) -> Principal:
    principal = principal_for_session(session, token)
    if principal is None:
        raise Unauthorized("the session has ended; sign in again", field="authorization")
    return principal


def end_sessions(session: Session, person_id: int) -> int:
    """Sign the person out everywhere; returns how many sessions ended."""
    ended = session.execute(
        update(PersonSession)
        .where(col(PersonSession.person_id) == person_id, col(PersonSession.revoked_at).is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(ended.rowcount)  # type: ignore[attr-defined]


def person_of(session: Session, principal: Principal) -> Person:
    if principal.person_id is None:
        raise Forbidden("this needs a person's account, not an API key", field="authorization")
    person = session.get(Person, principal.person_id)
    if person is None:
        raise Unauthorized("the session has ended; sign in again", field="authorization")
    return person


def bootstrap_admin(
    session: Session, *, email: str, name: str, settings: AccountSettings
) -> IssuedLink:
    """The first admin, from the command line: the platform organisation (created if
    missing) gets an owner with an invitation link to set a password."""
    platform = session.exec(
        select(Organisation).where(Organisation.kind == OrganisationKind.platform)
    ).first()
    if platform is None:
        platform = Organisation(
            slug="citydeal-platform",
            name_th="ผู้ดูแลแพลตฟอร์ม citydeal",
            name_en="citydeal platform",
            kind=OrganisationKind.platform,
            verified_at=utcnow(),
        )
        session.add(platform)
        session.flush()
    email = normalise_email(email)
    person = session.exec(select(Person).where(Person.email == email)).first()
    if person is None:
        assert platform.id is not None
        person = Person(
            email=email, name=name, organisation_id=platform.id, role=Role.admin, is_owner=True
        )
        session.add(person)
        session.flush()
    elif person.role != Role.admin:
        raise Conflict("this e-mail address belongs to someone who is not an admin", field="email")
    return _issue_link(session, person, INVITATION, timedelta(days=settings.invitation_days), None)


# --- self-registration ---------------------------------------------------------------------


def sign_up(
    session: Session,
    *,
    organisation_name: str,
    kind: OrganisationKind,
    email: str,
    password: str,
    name: str,
    passwords: Passwords,
) -> Person:
    """A new organisation that signed itself up, and its owner. The organisation waits
    for an admin's verification; the e-mail address counts as confirmed only once the
    person follows a link sent to it."""
    email = normalise_email(email)
    if session.exec(select(Person.id).where(Person.email == email)).first() is not None:
        raise Conflict("someone with this e-mail address already has an account", field="email")
    organisation = Organisation(
        slug=unique_slug(session, Organisation.slug, organisation_name, fallback="organisation"),
        name_th=organisation_name,
        name_en=organisation_name,
        kind=kind,
    )
    session.add(organisation)
    session.flush()
    assert organisation.id is not None
    person = Person(
        email=email,
        name=name,
        organisation_id=organisation.id,
        role=role_of(organisation),
        is_owner=True,
        password_hash=passwords.hash(password),
    )
    session.add(person)
    session.flush()
    return person


def verification_link(session: Session, person: Person, settings: AccountSettings) -> IssuedLink:
    """A single-use link that confirms ``person``'s e-mail address."""
    return _issue_link(session, person, VERIFY, timedelta(days=settings.invitation_days), None)


def confirm_email(session: Session, *, token: str) -> Person:
    """Follow a confirmation link (once): the person's address is confirmed."""
    link, person = _valid_link(session, token, VERIFY)
    link.used_at = utcnow()
    person.email_verified_at = person.email_verified_at or utcnow()
    session.add_all([link, person])
    session.flush()
    return person


def verify_organisation(
    session: Session, *, principal: Principal, organisation: Organisation, verified: bool
) -> Organisation:
    """An admin vouches for an organisation that signed itself up (or withdraws it):
    until then its investor profiles are not shown to publishers."""
    if not principal.is_admin:
        raise Forbidden("only an admin verifies organisations", field="authorization")
    organisation.verified_at = (organisation.verified_at or utcnow()) if verified else None
    session.add(organisation)
    session.flush()
    return organisation
