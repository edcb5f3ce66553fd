"""Who may use the new workplace: every new page and endpoint refuses those it is not for,
and answers out-of-range input with a 4xx, never a 500."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.factories import World, auth, create_and_publish


async def portal_as(client: httpx.AsyncClient, key: str) -> str:
    """Sign the client in with ``key``; returns a CSRF token for its forms."""
    form = await client.get("/signin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    done = await client.post("/signin", data={"api_key": key, "csrf_token": token[1]})
    assert done.status_code == 303
    board = await client.get("/organisation")
    token = re.search(r'name="csrf_token" value="([^"]+)"', board.text)
    assert token
    return token[1]


PUBLISHER_PAGES = [
    "/dashboard/listings/fish-ball-factory/edit",
    "/dashboard/listings/fish-ball-factory/publish",
    "/dashboard/listings/fish-ball-factory/checkpoints",
    "/dashboard/listings/fish-ball-factory/analytics",
    "/dashboard/listings/fish-ball-factory/investors",
]


@pytest.mark.parametrize("path", PUBLISHER_PAGES)
async def test_another_city_cannot_open_a_listings_workplace(
    client: httpx.AsyncClient, world: World, path: str
) -> None:
    await create_and_publish(client, world.nakhon_sawan_key)
    assert (await client.get(path)).status_code == 401  # anonymous
    await portal_as(client, world.rayong_key)
    assert (await client.get(path)).status_code in (403, 404)


@pytest.mark.parametrize(
    "path", ["/dashboard/import", "/dashboard/listings/new", "/dashboard/export.csv"]
)
async def test_an_investor_has_no_publishers_workplace(
    client: httpx.AsyncClient, world: World, path: str
) -> None:
    await portal_as(client, world.investor_key)
    assert (await client.get(path)).status_code in (401, 403)


@pytest.mark.parametrize("path", ["/admin/organisations", "/admin/jobs"])
async def test_only_admins_see_the_admin_pages(
    client: httpx.AsyncClient, world: World, path: str
) -> None:
    assert (await client.get(path)).status_code == 401
    await portal_as(client, world.nakhon_sawan_key)
    assert (await client.get(path)).status_code == 403


async def test_spreadsheets_are_for_publishers(client: httpx.AsyncClient, world: World) -> None:
    files = {"file": ("l.csv", b"kind\n")}
    assert (await client.post("/v1/listings/import", files=files)).status_code == 401
    investor = auth(world.investor_key)
    assert (
        await client.post("/v1/listings/import", files=files, headers=investor)
    ).status_code == 403
    assert (await client.get("/v1/listings/export", headers=investor)).status_code == 403
    missing = await client.post("/v1/listings/import", headers=auth(world.nakhon_sawan_key))
    assert missing.status_code == 422  # no file
    assert missing.json()["field"].endswith("file")


async def test_keys_and_members_of_another_organisation_are_out_of_reach(
    client: httpx.AsyncClient, world: World
) -> None:
    rayong = auth(world.rayong_key)
    theirs = (await client.get("/v1/keys", headers=auth(world.nakhon_sawan_key))).json()
    assert (await client.delete(f"/v1/keys/{theirs[0]['id']}", headers=rayong)).status_code == 404
    assert (await client.get("/v1/organisations/ns-dev/members", headers=rayong)).status_code == 404
    assert (await client.get("/v1/me")).status_code == 401


@pytest.mark.parametrize(
    "action",
    [
        "/organisation/keys/99999999999999999999/revoke",
        "/organisation/members/99999999999999999999/reset-link",
        "/dashboard/leads/99999999999999999999",
        "/dashboard/listings/fish-ball-factory/checkpoints/99999999999999999999",
    ],
)
async def test_ids_out_of_range_are_a_4xx(
    client: httpx.AsyncClient, world: World, action: str
) -> None:
    await create_and_publish(client, world.nakhon_sawan_key)
    token = await portal_as(client, world.nakhon_sawan_key)
    answer = await client.post(action, data={"csrf_token": token, "status": "won"})
    assert 400 <= answer.status_code < 500
