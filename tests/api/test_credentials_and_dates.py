"""Credentials that do not fit are refused, never taken for something else: a key whose
role does not fit its organisation's kind, an ``Authorization`` header that is not a
bearer token. And a date is a date: a number is not read as seconds since 1970."""

from __future__ import annotations

import hashlib
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select

from api.migrate import upgrade
from catalog.models import ApiKey, FxRate, Organisation
from catalog.organisations import KEY_PREFIX, issue_key, misfit_keys, principal_for_key_id
from core.db import make_engine
from core.principal import OrganisationKind, Role
from matching.pitchday.models import PitchEvent
from tests.factories import (
    World,
    auth,
    create_and_publish,
    listing_payload,
    snapshot,
    with_version,
)

# --- a key acts in its organisation's role only -------------------------------------------


def _misfit_key(session: Session, organisation_slug: str, role: str) -> tuple[int, str]:
    """A key stored as one issued before roles had to fit (issue_key refuses to make it)."""
    organisation = session.exec(
        select(Organisation).where(Organisation.slug == organisation_slug)
    ).one()
    prefix = secrets.token_hex(4)
    key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(
        organisation_id=organisation.id or 0,
        role=role,
        prefix=prefix,
        digest=hashlib.sha256(key.encode()).hexdigest(),
    )
    session.add(row)
    session.commit()
    assert row.id is not None
    return row.id, key


async def test_an_old_key_whose_role_does_not_fit_its_organisation_is_refused(
    client: httpx.AsyncClient, world: World, session: Session
) -> None:
    key_id, key = _misfit_key(session, "pitch-org", "publisher")
    before = snapshot(session)
    created = await client.post(
        "/v1/listings", json=listing_payload(slug="not-my-city"), headers=auth(key)
    )
    assert created.status_code == 401, created.text
    assert created.json()["field"] == "authorization"
    assert "does not fit" in created.json()["detail"]
    me = await client.get("/v1/me", headers=auth(key))
    assert me.status_code == 401
    # Optional credentials too: not read as anonymous.
    assert (await client.get("/v1/listings/anything", headers=auth(key))).status_code == 401
    after = snapshot(session)
    # Nothing written, not even the key's last use.
    assert before == after
    # The portal's remembered keys are refused the same way.
    assert principal_for_key_id(session, key_id) is None
    # The organisation's proper keys still work.
    assert (await client.get("/v1/me", headers=auth(world.organiser_key))).status_code == 200


async def test_a_key_of_the_wrong_role_is_not_issued_over_http_either(
    client: httpx.AsyncClient, world: World, session: Session
) -> None:
    """Over HTTP a key takes its maker's role, which fits by construction: a request for
    another role is an unknown field, and the key made is the organisation's kind."""
    from catalog.accounts import service as accounts
    from catalog.accounts.models import Person
    from core.db import utcnow
    from core.settings import get_settings

    organisation = session.exec(select(Organisation).where(Organisation.slug == "pitch-org")).one()
    person = Person(
        email="owner@pitch.example",
        organisation_id=organisation.id or 0,
        role=accounts.role_of(organisation),
        is_owner=True,
        email_verified_at=utcnow(),
    )
    session.add(person)
    session.flush()
    token = accounts.start_session(
        session, person, address="127.0.0.1", settings=get_settings().accounts
    ).token
    session.commit()
    refused = await client.post("/v1/keys", json={"role": "publisher"}, headers=auth(token))
    assert refused.status_code == 422
    assert refused.json()["field"].endswith("role")
    made = await client.post("/v1/keys", json={"label": "ok"}, headers=auth(token))
    assert made.status_code == 201, made.text
    me = await client.get("/v1/me", headers=auth(made.json()["key"]))
    assert me.json()["role"] == "organiser"


# --- an Authorization header is a bearer token, or absent ---------------------------------

MALFORMED = [
    "Basic dXNlcjpwYXNz",
    "Bearer",
    "Bearer ",
    "Bearer    ",
    "bearer",
    "Token cdk_abc_def",
    "garbage",
    "cdk_only_the_key",
]


@pytest.mark.parametrize("header", MALFORMED)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/me"),  # credentials required
        ("GET", "/v1/listings/fish-balls"),  # optional: drafts for their organisation
        ("GET", "/v1/investors/1"),  # optional: hidden profiles for their organisation
        ("GET", "/v1/compare?listing=fish-balls&listing=cold-store"),  # optional
        ("GET", "/v1/events"),  # optional
        ("POST", "/v1/listings"),  # a write
    ],
)
async def test_a_malformed_authorization_header_is_a_401_naming_it(
    client: httpx.AsyncClient, world: World, method: str, path: str, header: str
) -> None:
    response = await client.request(method, path, headers={"Authorization": header}, json={})
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["error"] == "unauthorized"
    assert body["field"] == "authorization"


async def test_without_the_header_optional_credentials_stay_optional(
    client: httpx.AsyncClient, world: World
) -> None:
    slug = await create_and_publish(client, world.nakhon_sawan_key)
    assert (await client.get(f"/v1/listings/{slug}")).status_code == 200
    # The scheme's case is free, as HTTP says; surrounding spaces too.
    for header in (f"bearer {world.nakhon_sawan_key}", f"  Bearer   {world.nakhon_sawan_key} "):
        me = await client.get("/v1/me", headers={"Authorization": header})
        assert me.status_code == 200, (header, me.text)


# --- dates are ISO text -------------------------------------------------------------------

NOT_DATES: list[Any] = [0, 1, 1_700_000_000, 1.5, True, "0", "1700000000", "2027-13-01"]


def _event(**overrides: Any) -> dict[str, Any]:
    return {
        "slug": "strict-day",
        "city": "nakhon-sawan",
        "name_th": "วันนำเสนอ",
        "held_on": "2027-03-01",
    } | overrides


@pytest.mark.parametrize("value", NOT_DATES)
async def test_a_number_is_not_an_events_date(
    client: httpx.AsyncClient, world: World, session: Session, value: Any
) -> None:
    organiser = auth(world.organiser_key)
    for field_name in ("held_on", "registration_deadline"):
        refused = await client.post(
            "/v1/events", json=_event(**{field_name: value}), headers=organiser
        )
        assert refused.status_code == 422, (field_name, refused.text)
        assert refused.json()["field"].endswith(field_name)
    assert session.exec(select(PitchEvent)).first() is None


async def test_an_event_is_moved_by_iso_dates_only(
    client: httpx.AsyncClient, world: World, session: Session
) -> None:
    organiser = auth(world.organiser_key)
    created = await client.post("/v1/events", json=_event(), headers=organiser)
    assert created.status_code == 201, created.text
    assert created.json()["held_on"] == "2027-03-01"
    url = "/v1/events/strict-day"
    headers = await with_version(client, url, organiser)
    refused = await client.patch(url, json={"held_on": 0}, headers=headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"].endswith("held_on")
    moved = await client.patch(url, json={"held_on": "2027-03-08"}, headers=headers)
    assert moved.status_code == 200, moved.text
    assert moved.json()["held_on"] == "2027-03-08"


@pytest.mark.parametrize("value", [0, "0", 20270301])
async def test_a_number_is_not_an_exchange_rates_day(
    client: httpx.AsyncClient, world: World, session: Session, value: Any
) -> None:
    body = {"currency": "USD", "thb_per_unit": 35.5, "as_of": value}
    refused = await client.post("/v1/fx-rates", json=body, headers=auth(world.admin_key))
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"].endswith("as_of")
    assert session.exec(select(FxRate)).first() is None
    body["as_of"] = "2026-01-05"
    taken = await client.post("/v1/fx-rates", json=body, headers=auth(world.admin_key))
    assert taken.status_code == 201, taken.text
    assert taken.json()["as_of"] == "2026-01-05"


async def test_a_number_is_not_the_day_a_step_was_checked(
    client: httpx.AsyncClient, world: World
) -> None:
    step = {"title_th": "จดทะเบียนบริษัท", "last_verified": 0}
    refused = await client.post(
        "/v1/listings",
        json=listing_payload(how_to_invest=[step]),
        headers=auth(world.nakhon_sawan_key),
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"].endswith("last_verified")


async def test_a_number_is_not_a_moment_a_saved_search_was_seen(
    client: httpx.AsyncClient, world: World, session: Session
) -> None:
    from catalog.accounts import service as accounts
    from catalog.accounts.models import Person
    from core.db import utcnow
    from core.settings import get_settings

    organisation = session.exec(
        select(Organisation).where(Organisation.slug == "siam-infra-fund")
    ).one()
    person = Person(
        email="reader@siam.example",
        organisation_id=organisation.id or 0,
        role="investor",
        email_verified_at=utcnow(),
    )
    session.add(person)
    session.flush()
    token = accounts.start_session(
        session, person, address="127.0.0.1", settings=get_settings().accounts
    ).token
    session.commit()
    saved = await client.post("/v1/saved-searches", json={"name": "All"}, headers=auth(token))
    assert saved.status_code == 201, saved.text
    url = f"/v1/saved-searches/{saved.json()['id']}/seen"
    for value in (0, 1_700_000_000, "1700000000", "2026-01-01"):
        refused = await client.post(url, json={"at": value}, headers=auth(token))
        assert refused.status_code == 422, (value, refused.text)
        assert refused.json()["field"].endswith("at")
    seen = await client.post(url, json={"at": "2026-06-01T09:00:00+07:00"}, headers=auth(token))
    assert seen.status_code == 204, seen.text


@pytest.mark.slow
def test_the_command_line_finds_and_revokes_misfit_keys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        session.add(
            Organisation(
                slug="pitch-org", name_th="x", name_en="x", kind=OrganisationKind.organiser
            )
        )
        session.commit()
        _row, fitting = issue_key(session, organisation_slug="pitch-org", role=Role.organiser)
        session.commit()
        misfit_id, _ = _misfit_key(session, "pitch-org", "publisher")
    env = {**os.environ, "CITYDEAL_DATABASE_URL": url}

    def citydeal(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "api.cli", "keys", "misfits", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    listed = citydeal()
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[0].split("\t")[:4] == [
        str(misfit_id),
        "pitch-org",
        "organiser",
        "publisher",
    ]
    revoked = citydeal("--revoke")
    assert revoked.returncode == 0, revoked.stderr
    with Session(engine) as session:
        keys = {row.id: row for row in session.exec(select(ApiKey))}
        assert keys[misfit_id].revoked_at is not None
        assert [row.revoked_at for key_id, row in keys.items() if key_id != misfit_id] == [None]
        assert misfit_keys(session) == []
    assert "0 misfit key(s) found" in citydeal().stdout
    engine.dispose()
