"""Imports every table module so that ``SQLModel.metadata`` knows the whole schema."""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlmodel import SQLModel

import catalog.accounts.models  # noqa: F401 (imported for its tables)
import catalog.analytics  # noqa: F401
import catalog.models  # noqa: F401
import core.audit  # noqa: F401
import core.idempotency  # noqa: F401
import core.jobs  # noqa: F401
import matching.models  # noqa: F401
import matching.pitchday.models  # noqa: F401
from core.backup import BackupPolicy


def metadata() -> MetaData:
    return SQLModel.metadata


def ours(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Alembic's ``include_object``: procrastinate's tables (PostgreSQL) are its own,
    installed by a migration of ours, not declared by our models."""
    return not (type_ == "table" and name is not None and name.startswith("procrastinate_"))


# What `citydeal export` leaves out, and why (the reasons are written in the file's
# header). Every other table of the metadata is exported: a new table is backed up
# without a change here, and a table in the database the models do not declare stops
# the export (tests/api/test_backup.py holds both).
BACKUP = BackupPolicy(
    excluded={
        "province": "reference data: `citydeal db upgrade` loads it (catalog.geography)",
        "person_session": "sign-in sessions: bearer credentials; people sign in again",
        "account_link": "invitation and reset links: single-use credentials; issue new ones",
        "sign_in_attempt": "sign-in throttling: it counts only the last minutes",
        "idempotency_record": "answers kept a day for clients retrying a request; they may "
        "hold credentials just issued (an API key)",
        "job": "the embedded job queue's work in flight (procrastinate's queue on "
        "PostgreSQL is not ours either); its arguments may hold account links",
        "listing_vector": "derived: the semantic follower (or `citydeal reindex`) "
        "computes it again from the listings; `citydeal export --with-vectors` writes it",
        "derived_cursor": "derived: where the semantic follower stands; it starts over",
    },
    withheld={
        ("person", "password_hash"): "never leaves the database: people set a new "
        "password through a reset link",
    },
    foreign_prefixes=("procrastinate_",),
    optional=frozenset({"listing_vector"}),  # hours of embedding at 100,000 listings
)
