"""People's accounts over HTTP: an admin creates an organisation and invites its owner,
who sets a password, signs in, invites a colleague and manages the organisation's keys;
throttling, single-use links and signing out everywhere."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlmodel import Session, select

from catalog.accounts.models import AccountLink
from core.db import utcnow
from tests.factories import World, auth

PASSWORD = "correct horse battery"


async def invite(
    client: httpx.AsyncClient, headers: dict[str, str], org: str, email: str, **extra: object
) -> str:
    response = await client.post(
        f"/v1/organisations/{org}/invitations", json={"email": email, **extra}, headers=headers
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["emailed"] is False  # no SMTP configured: the inviter passes the link on
    url: str = body["url"]
    return url.rsplit("/", 1)[1]


async def sign_in(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD
) -> httpx.Response:
    return await client.post("/v1/sessions", json={"email": email, "password": password})


async def person_with_session(
    client: httpx.AsyncClient, world: World, email: str, org: str = "ns-dev", **extra: object
) -> dict[str, str]:
    token = await invite(client, auth(world.admin_key), org, email, **extra)
    accepted = await client.post(f"/v1/invitations/{token}", json={"password": PASSWORD})
    assert accepted.status_code == 200, accepted.text
    signed_in = await sign_in(client, email)
    assert signed_in.status_code == 201, signed_in.text
    return auth(signed_in.json()["token"])


async def test_an_organisation_from_creation_to_a_colleagues_key(
    client: httpx.AsyncClient, world: World
) -> None:
    created = await client.post(
        "/v1/organisations",
        json={
            "name_th": "บริษัท ขอนแก่นพัฒนาเมือง จำกัด",
            "name_en": "Khon Kaen Think City",
            "kind": "city-company",
        },
        headers=auth(world.admin_key),
    )
    assert created.status_code == 201, created.text
    org = created.json()["slug"]
    owner = await person_with_session(client, world, "Owner@KKTC.example", org, owner=True)
    me = (await client.get("/v1/me", headers=owner)).json()
    assert me["person"]["email"] == "owner@kktc.example"  # addresses are kept lower-cased
    assert me["role"] == "publisher"  # a city company's people publish
    assert me["person"]["is_owner"]

    colleague_token = await invite(client, owner, org, "staff@kktc.example", name="Somsri")
    assert (
        await client.post(f"/v1/invitations/{colleague_token}", json={"password": PASSWORD})
    ).status_code == 200
    colleague = auth((await sign_in(client, "staff@kktc.example")).json()["token"])
    members = (await client.get(f"/v1/organisations/{org}/members", headers=colleague)).json()
    assert [m["email"] for m in members] == ["owner@kktc.example", "staff@kktc.example"]
    refused = await client.post(
        f"/v1/organisations/{org}/invitations", json={"email": "x@kktc.example"}, headers=colleague
    )
    assert refused.status_code == 403  # only the owner (or an admin) invites

    issued = await client.post("/v1/keys", json={"label": "ERP sync"}, headers=colleague)
    assert issued.status_code == 201, issued.text
    key = issued.json()["key"]
    assert issued.json()["last_used_at"] is None
    assert (await client.get("/v1/me", headers=auth(key))).json()["person"] is None
    listed = (await client.get("/v1/keys", headers=owner)).json()
    assert listed[0]["label"] == "ERP sync"
    assert listed[0]["last_used_at"] is not None  # the request above used it
    assert "key" not in listed[0]  # shown once, at creation only

    revoked = await client.delete(f"/v1/keys/{listed[0]['id']}", headers=owner)
    assert revoked.status_code == 204
    assert (await client.get("/v1/me", headers=auth(key))).status_code == 401


async def test_an_invitation_link_works_once_and_expires(
    client: httpx.AsyncClient, world: World, session: Session
) -> None:
    token = await invite(client, auth(world.admin_key), "ns-dev", "one@ns.example")
    first = await client.post(f"/v1/invitations/{token}", json={"password": PASSWORD})
    assert first.status_code == 200
    again = await client.post(f"/v1/invitations/{token}", json={"password": "another password"})
    assert again.status_code == 409
    assert (await sign_in(client, "one@ns.example", "another password")).status_code == 401

    late = await invite(client, auth(world.admin_key), "ns-dev", "two@ns.example")
    for link in session.exec(select(AccountLink).where(AccountLink.used_at == None)):  # noqa: E711
        link.expires_at = utcnow() - timedelta(minutes=1)
        session.add(link)
    session.commit()
    expired = await client.post(f"/v1/invitations/{late}", json={"password": PASSWORD})
    assert expired.status_code == 409
    assert "expired" in expired.json()["detail"]


async def test_failed_sign_ins_are_throttled_per_account(
    client: httpx.AsyncClient, world: World
) -> None:
    await person_with_session(client, world, "target@ns.example")
    for _ in range(5):
        assert (await sign_in(client, "target@ns.example", "guess guess")).status_code == 401
    throttled = await sign_in(client, "target@ns.example")  # even the right password
    assert throttled.status_code == 429
    assert 0 < int(throttled.headers["Retry-After"]) <= 15 * 60
    assert throttled.json()["field"] == "email"
    # Another account from the same address is not locked out by these five.
    await person_with_session(client, world, "other@ns.example")


async def test_signing_out_ends_every_session(client: httpx.AsyncClient, world: World) -> None:
    phone = await person_with_session(client, world, "both@ns.example")
    laptop = auth((await sign_in(client, "both@ns.example")).json()["token"])
    assert (await client.get("/v1/me", headers=laptop)).status_code == 200
    assert (await client.delete("/v1/sessions", headers=phone)).status_code == 204
    assert (await client.get("/v1/me", headers=laptop)).status_code == 401
    assert (await client.get("/v1/me", headers=phone)).status_code == 401


async def test_a_reset_link_sets_a_new_password_and_ends_old_sessions(
    client: httpx.AsyncClient, world: World
) -> None:
    owner = await person_with_session(client, world, "boss@ns.example", owner=True)
    staff = await person_with_session(client, world, "forgetful@ns.example")
    staff_id = (await client.get("/v1/me", headers=staff)).json()["person"]["id"]
    made = await client.post(
        f"/v1/organisations/ns-dev/members/{staff_id}/reset-link", headers=owner
    )
    assert made.status_code == 201, made.text
    token = made.json()["url"].rsplit("/", 1)[1]
    done = await client.post(f"/v1/password-resets/{token}", json={"password": "a brand new one"})
    assert done.status_code == 200
    assert (await client.get("/v1/me", headers=staff)).status_code == 401
    assert (await sign_in(client, "forgetful@ns.example")).status_code == 401
    assert (await sign_in(client, "forgetful@ns.example", "a brand new one")).status_code == 201
    # Another organisation's owner cannot make one.
    rayong_owner = await person_with_session(
        client, world, "r@rayong.example", "rayong-dev", owner=True
    )
    foreign = await client.post(
        f"/v1/organisations/ns-dev/members/{staff_id}/reset-link", headers=rayong_owner
    )
    assert foreign.status_code == 404


async def test_asking_for_a_reset_says_the_same_for_unknown_addresses(
    client: httpx.AsyncClient, world: World
) -> None:
    await person_with_session(client, world, "known@ns.example")
    known = await client.post("/v1/password-resets", json={"email": "known@ns.example"})
    unknown = await client.post("/v1/password-resets", json={"email": "nobody@ns.example"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-address"}, "email"),
        ({"email": "ok@ns.example", "owner": "yes please"}, "owner"),
        ({"email": "ok@ns.example", "role": "admin"}, "role"),  # the role follows the kind
    ],
)
async def test_bad_invitations_name_the_field(
    client: httpx.AsyncClient, world: World, body: dict[str, object], field: str
) -> None:
    response = await client.post(
        "/v1/organisations/ns-dev/invitations", json=body, headers=auth(world.admin_key)
    )
    assert response.status_code == 422
    assert response.json()["field"].endswith(field)


async def test_a_short_password_is_refused_beside_its_field(
    client: httpx.AsyncClient, world: World
) -> None:
    token = await invite(client, auth(world.admin_key), "ns-dev", "short@ns.example")
    response = await client.post(f"/v1/invitations/{token}", json={"password": "short"})
    assert response.status_code == 422
    assert response.json()["field"].endswith("password")
    assert (
        await client.post(f"/v1/invitations/{token}", json={"password": PASSWORD})
    ).status_code == 200


async def test_a_key_acts_in_its_organisations_role_only(session: Session, world: World) -> None:
    from catalog.organisations import issue_key
    from core.errors import InvalidInput
    from core.principal import Role

    with pytest.raises(InvalidInput) as refused:
        issue_key(session, organisation_slug="pitch-org", role=Role.publisher)
    assert refused.value.field == "role"
