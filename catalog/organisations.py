"""Organisations' API keys: issued once, stored as a SHA-256 digest, resolved to a
``Principal``."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from catalog.models import ApiKey, Organisation
from core.db import utcnow
from core.errors import InvalidInput, NotFound, Unauthorized
from core.principal import ROLE_OF_KIND, OrganisationKind, Principal, Role

KEY_PREFIX = "cdk"


def _digest(key: str) -> str:
    # Keys carry 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(key.encode()).hexdigest()


def fits(organisation: Organisation, role: Role | str) -> bool:
    """Whether ``role`` is the one its kind of organisation acts in."""
    return ROLE_OF_KIND[OrganisationKind(organisation.kind)] == role


def issue_key(
    session: Session,
    *,
    organisation_slug: str,
    role: Role,
    label: str = "",
    created_by: int | None = None,
) -> tuple[ApiKey, str]:
    """Create a key for the organisation; returns the row and the only copy of the key.
    The role must be the one its kind of organisation acts in (a publisher key for an
    organiser would let it publish in a city it does not belong to)."""
    organisation = session.exec(
        select(Organisation).where(Organisation.slug == organisation_slug)
    ).first()
    if organisation is None or organisation.id is None:
        raise NotFound(f"no organisation '{organisation_slug}'", field="org")
    if not fits(organisation, role):
        fitting = ROLE_OF_KIND[OrganisationKind(organisation.kind)]
        raise InvalidInput(
            f"a {organisation.kind} organisation's keys act as {fitting.value}", field="role"
        )
    prefix = secrets.token_hex(4)
    key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(
        organisation_id=organisation.id,
        role=role,
        prefix=prefix,
        digest=_digest(key),
        label=label,
        created_by=created_by,
    )
    session.add(row)
    session.flush()
    return row, key


def principal_for_key_id(session: Session, key_id: int) -> Principal | None:
    """The principal of a key remembered by id (a portal session), unless revoked since."""
    row = session.get(ApiKey, key_id)
    if row is None or row.revoked_at is not None or row.id is None:
        return None
    organisation = session.get(Organisation, row.organisation_id)
    assert organisation is not None
    if not fits(organisation, row.role):  # issued before roles had to fit: never honoured
        return None
    return Principal(row.organisation_id, organisation.slug, Role(row.role), row.id)


KEY_USE_PRECISION = timedelta(minutes=5)  # last use is recorded at most this often


def resolve_key(session: Session, key: str) -> Principal:
    """The principal a presented key stands for, or 401."""
    return authenticate_key(session, key)[0]


def authenticate_key(session: Session, key: str) -> tuple[Principal, bool]:
    """The principal a presented key stands for (or 401), and whether its last use is
    older than ``KEY_USE_PRECISION`` (the caller then records this use)."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        raise Unauthorized("malformed API key", field="authorization")
    row = session.exec(select(ApiKey).where(ApiKey.prefix == parts[1])).first()
    if (
        row is None
        or row.revoked_at is not None
        or not hmac.compare_digest(row.digest, _digest(key))
    ):
        raise Unauthorized("unknown or revoked API key", field="authorization")
    organisation = session.get(Organisation, row.organisation_id)
    assert organisation is not None
    assert row.id is not None
    if not fits(organisation, row.role):
        # A key issued before roles had to fit its organisation's kind (a publisher key of
        # an organiser once published in a city it does not belong to): refused, not used.
        raise Unauthorized(
            f"this key's role ({row.role}) does not fit its organisation "
            f"({organisation.kind}); revoke it and issue a new one",
            field="authorization",
        )
    principal = Principal(
        organisation_id=row.organisation_id,
        organisation_slug=organisation.slug,
        role=Role(row.role),
        api_key_id=row.id,
    )
    stale = row.last_used_at is None or row.last_used_at < utcnow() - KEY_USE_PRECISION
    return principal, stale


def record_key_use(session: Session, key_id: int) -> None:
    session.execute(
        update(ApiKey)
        .where(col(ApiKey.id) == key_id)
        .values(last_used_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def organisation_keys(session: Session, organisation_id: int) -> list[ApiKey]:
    """An organisation's keys, live ones first, newest first."""
    return list(
        session.exec(
            select(ApiKey)
            .where(ApiKey.organisation_id == organisation_id)
            .order_by(col(ApiKey.revoked_at).is_not(None), col(ApiKey.created_at).desc())
        )
    )


def misfit_keys(session: Session) -> list[tuple[ApiKey, Organisation]]:
    """Live keys whose role does not fit their organisation's kind: issued before roles
    had to fit (or before the organisation's kind changed). They are refused on use."""
    rows = session.exec(
        select(ApiKey, Organisation)
        .join(Organisation, col(Organisation.id) == ApiKey.organisation_id)
        .where(col(ApiKey.revoked_at).is_(None))
        .order_by(col(ApiKey.id))
    )
    return [(key, organisation) for key, organisation in rows if not fits(organisation, key.role)]


def revoke_key(session: Session, *, principal: Principal, key_id: int) -> ApiKey:
    """Revoke one of the principal's organisation's keys (any, for an admin): it fails on
    its next request in every process, as every request looks the key up."""
    row = session.get(ApiKey, key_id)
    if row is None or not principal.acts_for(row.organisation_id):
        raise NotFound("no such key", field="key")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
    return row
