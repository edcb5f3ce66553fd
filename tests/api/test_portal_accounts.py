"""People's accounts in the portal, as a city company's staff would use them: the admin
creates the organisation and invites its owner, the owner sets a password, signs in,
invites a colleague and makes a key; Thai on every step; forms keep what was typed."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

from tests.factories import World

PASSWORD = "long enough password"


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the form"
    return match.group(1)


def shown_link(html: str) -> str:
    found = re.search(r'value="(http://test/(?:invitations|password-reset)/[^"]+)"', html)
    assert found, "no link shown to pass on"
    return found.group(1).removeprefix("http://test")


async def post_form(
    client: httpx.AsyncClient, page: str, action: str, **fields: str
) -> httpx.Response:
    form = await client.get(page)
    assert form.status_code == 200, form.text
    return await client.post(action, data={"csrf_token": csrf(form.text), **fields})


async def sign_in_with_key(client: httpx.AsyncClient, key: str) -> None:
    response = await post_form(client, "/signin", "/signin", api_key=key)
    assert response.status_code == 303


async def sign_in(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD
) -> httpx.Response:
    return await post_form(client, "/signin", "/signin", email=email, password=password)


def browser(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def owner_of_new_company(client: httpx.AsyncClient, world: World) -> str:
    """The admin creates Khon Kaen Think City and invites its owner; returns the link."""
    await sign_in_with_key(client, world.admin_key)
    created = await post_form(
        client,
        "/admin/organisations",
        "/admin/organisations",
        name_th="บริษัท ขอนแก่นพัฒนาเมือง จำกัด",
        name_en="Khon Kaen Think City",
        kind="city-company",
        owner_email="owner@kktc.example",
        owner_name="Anan",
    )
    assert created.status_code == 200, created.text
    return shown_link(created.text)


async def test_a_city_company_joins_and_manages_its_people_and_keys(
    app: FastAPI, client: httpx.AsyncClient, world: World
) -> None:
    link = await owner_of_new_company(client, world)
    async with browser(app) as owner:
        page = await owner.get(link + "?lang=th")
        assert "ตั้งรหัสผ่านเพื่อเริ่มใช้งาน" in page.text
        assert "owner@kktc.example" in page.text
        differ = await owner.post(
            link,
            data={
                "csrf_token": csrf(page.text),
                "name": "อนันต์",
                "password": PASSWORD,
                "password_again": "something else",
            },
        )
        assert differ.status_code == 422
        assert "รหัสผ่านทั้งสองช่องไม่ตรงกัน" in differ.text  # beside its field, in Thai
        assert 'value="อนันต์"' in differ.text  # what was typed is kept
        done = await owner.post(
            link,
            data={
                "csrf_token": csrf(differ.text),
                "name": "อนันต์",
                "password": PASSWORD,
                "password_again": PASSWORD,
            },
        )
        assert done.status_code == 303
        assert (await owner.get(link)).status_code == 409  # the link worked once

        signed_in = await sign_in(owner, "OWNER@kktc.example")
        assert signed_in.status_code == 303
        assert signed_in.headers["location"] == "/dashboard"
        mine = await owner.get("/organisation")
        assert "Khon Kaen Think City" in mine.text or "ขอนแก่นพัฒนาเมือง" in mine.text
        assert "owner@kktc.example" in mine.text

        bad = await post_form(
            owner,
            "/organisation",
            "/organisation/invitations",
            email="not an address",
            name="Somsri",
        )
        assert bad.status_code == 422
        assert 'value="Somsri"' in bad.text
        invited = await post_form(
            owner,
            "/organisation",
            "/organisation/invitations",
            email="somsri@kktc.example",
            name="Somsri",
        )
        assert invited.status_code == 200
        assert "/invitations/" in shown_link(invited.text)
        taken = await post_form(
            owner, "/organisation", "/organisation/invitations", email="somsri@kktc.example"
        )
        assert taken.status_code == 409
        assert "อีเมลนี้มีบัญชีอยู่แล้ว" in taken.text  # the language chosen earlier stays

        made = await post_form(owner, "/organisation", "/organisation/keys", label="ERP sync")
        value = re.search(r'value="(cdk_[^"]+)"', made.text)
        assert value, "the new key is shown"
        assert (
            await client.get("/v1/me", headers={"Authorization": f"Bearer {value.group(1)}"})
        ).status_code == 200
        listing = await owner.get("/organisation")
        assert value.group(1) not in listing.text  # shown once
        key_id = re.search(r"/organisation/keys/(\d+)/revoke", listing.text)
        assert key_id
        revoked = await post_form(
            owner, "/organisation", f"/organisation/keys/{key_id.group(1)}/revoke"
        )
        assert revoked.status_code == 303
        assert (
            await client.get("/v1/me", headers={"Authorization": f"Bearer {value.group(1)}"})
        ).status_code == 401


async def test_signing_out_in_one_browser_ends_the_other(
    app: FastAPI, client: httpx.AsyncClient, world: World
) -> None:
    link = await owner_of_new_company(client, world)
    async with browser(app) as phone, browser(app) as laptop:
        page = await phone.get(link)
        await phone.post(
            link,
            data={"csrf_token": csrf(page.text), "password": PASSWORD, "password_again": PASSWORD},
        )
        assert (await sign_in(phone, "owner@kktc.example")).status_code == 303
        assert (await sign_in(laptop, "owner@kktc.example")).status_code == 303
        assert (await laptop.get("/organisation")).status_code == 200
        home = await phone.get("/organisation")
        assert (
            await phone.post("/signout", data={"csrf_token": csrf(home.text)})
        ).status_code == 303
        assert (await laptop.get("/organisation")).status_code == 401


async def test_wrong_passwords_are_throttled_with_a_thai_message(
    app: FastAPI, client: httpx.AsyncClient, world: World
) -> None:
    await owner_of_new_company(client, world)
    async with browser(app) as guesser:
        for _ in range(5):
            wrong = await sign_in(guesser, "owner@kktc.example", "not the password")
            assert wrong.status_code == 401
            assert 'value="owner@kktc.example"' in wrong.text
        locked = await post_form(
            guesser, "/signin?lang=th", "/signin", email="owner@kktc.example", password=PASSWORD
        )
        assert locked.status_code == 429
        assert int(locked.headers["Retry-After"]) > 0
        assert "เข้าสู่ระบบไม่สำเร็จหลายครั้งเกินไป" in locked.text


@pytest.mark.parametrize("notice", ["invitation_done", "no_such_notice", "{0}"])
async def test_the_sign_in_page_shows_only_known_notices(
    client: httpx.AsyncClient, notice: str
) -> None:
    page = await client.get("/signin", params={"notice": notice, "lang": "en"})
    assert page.status_code == 200
    assert ("Your password is set" in page.text) == (notice == "invitation_done")


async def test_only_admins_manage_organisations(client: httpx.AsyncClient, world: World) -> None:
    await sign_in_with_key(client, world.nakhon_sawan_key)
    assert (await client.get("/admin/organisations")).status_code == 403


async def test_a_reset_request_says_the_same_for_anyone(client: httpx.AsyncClient) -> None:
    answer = await post_form(
        client, "/password-reset?lang=th", "/password-reset", email="nobody@example.org"
    )
    assert answer.status_code == 200
    assert "หากอีเมลนี้มีบัญชีอยู่" in answer.text
