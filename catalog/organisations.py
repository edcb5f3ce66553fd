"""Organisations' API keys: issued once, stored as a SHA-256 digest, resolved to a
``Principal``."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlmodel import Session, select

from catalog.models import ApiKey, Organisation
from core.errors import NotFound, Unauthorized
from core.principal import Principal, Role

KEY_PREFIX = "cdk"


def _digest(key: str) -> str:
    # Keys carry 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(key.encode()).hexdigest()


def issue_key(
    session: Session, *, organisation_slug: str, role: Role, label: str = ""
) -> tuple[ApiKey, str]:
    """Create a key for the organisation; returns the row and the only copy of the key."""
    organisation = session.exec(
        select(Organisation).where(Organisation.slug == organisation_slug)
    ).first()
    if organisation is None or organisation.id is None:
        raise NotFound(f"no organisation '{organisation_slug}'", field="org")
    prefix = secrets.token_hex(4)
    key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(
        organisation_id=organisation.id,
        role=role,
        prefix=prefix,
        digest=_digest(key),
        label=label,
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
    return Principal(row.organisation_id, organisation.slug, Role(row.role), row.id)


def resolve_key(session: Session, key: str) -> Principal:
    """The principal a presented key stands for, or 401."""
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
    return Principal(
        organisation_id=row.organisation_id,
        organisation_slug=organisation.slug,
        role=Role(row.role),
        api_key_id=row.id,
    )
