"""Money for foreign readers over HTTP: rates are public to read and set by admins
(refusals name the field), the admin's page keeps what was typed, and a reader who
picks a currency sees an indicative amount beside every baht amount, labelled with its
rate and date, in Thai or English; without a rate, the selector says so."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from sqlmodel import Session, select

from catalog.models import FxRate
from core.db import utcnow
from core.formatting import bangkok_date
from tests.api.test_shortlist import csrf, latin_words, person, portal_sign_in
from tests.api.test_thai_all_the_way import visible
from tests.factories import World, auth, create_and_publish, snapshot

USD = {"currency": "USD", "thb_per_unit": 35.5, "as_of": "2026-12-01"}


async def test_rates_are_public_and_the_latest_one_wins(
    client: httpx.AsyncClient, world: World
) -> None:
    assert (await client.get("/v1/fx-rates")).json() == {"data": [], "count": 0}
    admin = auth(world.admin_key)
    first = await client.post("/v1/fx-rates", json=USD | {"thb_per_unit": 36.2}, headers=admin)
    assert first.status_code == 201, first.text
    later = await client.post("/v1/fx-rates", json=USD | {"as_of": "2026-11-28"}, headers=admin)
    assert later.status_code == 201
    yen = {"currency": "JPY", "thb_per_unit": 0.2415, "as_of": "2026-12-01"}
    assert (await client.post("/v1/fx-rates", json=yen, headers=admin)).status_code == 201
    rates = (await client.get("/v1/fx-rates")).json()
    assert rates["count"] == 2
    assert [(r["currency"], r["thb_per_unit"], r["as_of"]) for r in rates["data"]] == [
        ("USD", 35.5, "2026-11-28"),
        ("JPY", 0.2415, "2026-12-01"),
    ]
    assert "set_by" not in rates["data"][0]  # who set it is the admins' business


async def test_only_admins_set_rates(
    client: httpx.AsyncClient, world: World, session: Session
) -> None:
    before = snapshot(session)
    assert (await client.post("/v1/fx-rates", json=USD)).status_code == 401
    for key in (world.investor_key, world.nakhon_sawan_key, world.organiser_key):
        refused = await client.post("/v1/fx-rates", json=USD, headers=auth(key))
        assert refused.status_code == 403
        assert refused.json()["field"] == "authorization"
    investor_person = await person(client, world, "fund@siam.example")
    assert (await client.post("/v1/fx-rates", json=USD, headers=investor_person)).status_code == 403
    assert snapshot(session)["fx_rate"] == before["fx_rate"] == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"thb_per_unit": 0.028}, "thb_per_unit"),
        ({"thb_per_unit": -1}, "thb_per_unit"),
        ({"thb_per_unit": "lots"}, "thb_per_unit"),
        ({"currency": "GBP"}, "currency"),
        ({"as_of": "2026-02-30"}, "as_of"),
        ({"as_of": "tomorrow"}, "as_of"),
        ({"extra": 1}, "extra"),
    ],
)
async def test_a_bad_rate_is_refused_naming_the_field(
    client: httpx.AsyncClient, world: World, change: dict[str, object], field: str
) -> None:
    refused = await client.post("/v1/fx-rates", json=USD | change, headers=auth(world.admin_key))
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == field


async def test_a_rate_dated_tomorrow_is_refused(client: httpx.AsyncClient, world: World) -> None:
    tomorrow = (bangkok_date(utcnow()) + timedelta(days=1)).isoformat()
    refused = await client.post(
        "/v1/fx-rates", json=USD | {"as_of": tomorrow}, headers=auth(world.admin_key)
    )
    assert refused.status_code == 422
    assert refused.json()["field"] == "as_of"
    assert "future" in refused.json()["detail"]


async def sign_in_admin(client: httpx.AsyncClient, world: World) -> None:
    form = await client.get("/signin")
    done = await client.post(
        "/signin", data={"api_key": world.admin_key, "csrf_token": csrf(form.text)}
    )
    assert done.status_code == 303


@pytest.mark.parametrize("lang", ["th", "en"])
async def test_the_admin_sets_a_rate_on_its_page(
    client: httpx.AsyncClient, world: World, session: Session, lang: str
) -> None:
    await sign_in_admin(client, world)
    page = await client.get("/admin/fx-rates", params={"lang": lang})
    assert page.status_code == 200
    refused = await client.post(
        "/admin/fx-rates",
        data={
            "csrf_token": csrf(page.text),
            "currency": "JPY",
            "thb_per_unit": "24.15",
            "as_of": "2026-12-01",
        },
    )
    assert refused.status_code == 422
    assert 'value="24.15"' in refused.text  # what was typed stays
    error = re.search(r'id="thb_per_unit-error"[^>]*>([^<]+)<', refused.text)
    assert error
    if lang == "th":
        assert "บาทต่อ 1 หน่วย" in error.group(1)
        assert latin_words(refused.text) == set(), latin_words(refused.text)
    else:
        assert "baht for one unit" in error.group(1)
    assert 'value="JPY" selected' in refused.text
    assert session.exec(select(FxRate)).all() == []

    future = (bangkok_date(utcnow()) + timedelta(days=3)).isoformat()
    refused = await client.post(
        "/admin/fx-rates",
        data={
            "csrf_token": csrf(page.text),
            "currency": "JPY",
            "thb_per_unit": "abc",
            "as_of": future,
        },
    )
    assert 'id="thb_per_unit-error"' in refused.text
    assert 'id="as_of-error"' in refused.text

    saved = await client.post(
        "/admin/fx-rates",
        data={
            "csrf_token": csrf(page.text),
            "currency": "JPY",
            "thb_per_unit": "0.2415",
            "as_of": "2026-12-01",
        },
    )
    assert saved.status_code == 303
    page = await client.get(saved.headers["location"])
    assert 'role="status"' in page.text
    history = page.text.split('data-testid="rate-history"', 1)[1]
    assert "0.2415" in history
    assert ("1 ธันวาคม พ.ศ. 2569" if lang == "th" else "1 December 2026") in history
    stored = session.exec(select(FxRate)).one()
    assert stored.thb_per_unit == 0.2415
    assert stored.set_by is None  # set with the admin's key, not as a person


async def test_the_rates_page_is_for_admins(client: httpx.AsyncClient, world: World) -> None:
    assert (await client.get("/admin/fx-rates")).status_code == 401
    form = await client.get("/signin")
    await client.post(
        "/signin", data={"api_key": world.investor_key, "csrf_token": csrf(form.text)}
    )
    assert (await client.get("/admin/fx-rates")).status_code == 403
    refused = await client.post(
        "/admin/fx-rates",
        data={
            "csrf_token": csrf(form.text),
            "currency": "USD",
            "thb_per_unit": "35.5",
            "as_of": "2026-12-01",
        },
    )
    assert refused.status_code == 403


async def test_a_reader_who_picks_a_currency_sees_indicative_amounts(
    client: httpx.AsyncClient, world: World
) -> None:
    slug = await create_and_publish(client, world.nakhon_sawan_key)  # 5M–12M baht
    await client.post("/v1/fx-rates", json=USD, headers=auth(world.admin_key))

    plain = await client.get(f"/listings/{slug}", params={"lang": "en"})
    assert 'data-testid="indicative"' not in plain.text  # baht only until asked

    chosen = await client.get(f"/listings/{slug}", params={"lang": "en", "cur": "USD"})
    assert chosen.cookies.get("cur") == "USD"
    capital = chosen.text.split('data-testid="capital"', 1)[1].split("</dd>", 1)[0]
    assert "THB 5M–12M" in capital
    assert "≈ US$140.8K–US$338K (indicative, at 35.50 THB per USD on 1 December 2026)" in capital
    # Remembered: the catalogue shows it too, in Thai with a Thai date.
    results = await client.get("/", params={"lang": "th"})
    hit = results.text.split('data-testid="hit"', 1)[1].split("</article>", 1)[0]
    assert "5–12 ล้านบาท" in hit
    assert (
        "≈ 1.4 แสน – 3.4 แสนดอลลาร์สหรัฐ (ตัวเลขประมาณการ ที่อัตรา 35.50 บาทต่อ 1 "
        "ดอลลาร์สหรัฐ ณ วันที่ 1 ธันวาคม พ.ศ. 2569)" in visible(hit)
    )
    assert latin_words('<span class="fx"' + hit.split('class="fx"', 1)[1]) == set()

    # Baht only again: the cookie goes.
    back = await client.get("/", params={"cur": "THB"})
    assert 'data-testid="indicative"' not in back.text
    assert "cur" not in client.cookies


async def test_without_a_rate_the_selector_says_so(client: httpx.AsyncClient, world: World) -> None:
    slug = await create_and_publish(client, world.nakhon_sawan_key)
    page = await client.get(f"/listings/{slug}", params={"lang": "en", "cur": "EUR"})
    assert 'data-testid="indicative"' not in page.text
    assert "No rate for Euro (EUR) has been set yet" in page.text
    page = await client.get(f"/listings/{slug}", params={"lang": "th"})
    assert "ยังไม่ได้กำหนดอัตราแลกเปลี่ยนสำหรับ ยูโร จึงแสดงจำนวนเงินเป็นบาทเท่านั้น" in page.text
    assert 'value="EUR" selected' in page.text
    # An unknown currency means baht only, quietly.
    page = await client.get(f"/listings/{slug}", params={"cur": "XYZ"})
    assert page.status_code == 200
    assert 'data-testid="no-rate"' not in page.text


async def test_the_shortlist_and_comparison_show_indicative_amounts(
    client: httpx.AsyncClient, world: World
) -> None:
    slugs = [
        await create_and_publish(client, world.nakhon_sawan_key, slug="fish-balls"),
        await create_and_publish(
            client, world.rayong_key, slug="ev", city="rayong", smart_block=None
        ),
    ]
    await client.post(
        "/v1/fx-rates",
        json={"currency": "CNY", "thb_per_unit": 4.9, "as_of": "2026-11-30"},
        headers=auth(world.admin_key),
    )
    me = await person(client, world, "fund@siam.example")
    for slug in slugs:
        await client.put(f"/v1/shortlist/{slug}", headers=me)
    await portal_sign_in(client, "fund@siam.example")
    shortlist = await client.get("/shortlist", params={"lang": "en", "cur": "CNY"})
    assert shortlist.text.count('data-testid="indicative"') == 2
    assert "CN¥1M–CN¥2.4M (indicative, at 4.90 THB per CNY on 30 November 2026)" in shortlist.text
    compared = await client.get("/compare", params={"listing": slugs})
    assert compared.text.count('data-testid="indicative"') == 2
