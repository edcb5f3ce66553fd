"""The investor's workplace in the portal, over HTTP: joining, the profile with its live
count, matches with what would widen them, interest in one click, followed and withdrawn."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sqlmodel import Session

from api.i18n import Lang, translations
from tests.api.test_portal_accounts import csrf, post_form
from tests.api.test_thai_all_the_way import english_values_in, visible
from tests.factories import World

PASSWORD = "a password long enough"
THAI = translations(Lang.th)
FISH = "nakhon-sawan-fish-ball-factory"


async def join(client: httpx.AsyncClient, **overrides: str) -> httpx.Response:
    fields = {
        "organisation_name": "Isan Smart Mobility SME",
        "investor_type": "sme",
        "home_country": "TH",
        "name": "Somsri",
        "email": "somsri@isan-sme.example",
        "password": PASSWORD,
        "password_again": PASSWORD,
    } | overrides
    return await post_form(client, "/register", "/register", **fields)


@pytest.fixture
async def investor(client: httpx.AsyncClient, seeded: None) -> httpx.AsyncClient:
    joined = await join(client)
    assert joined.status_code == 303, joined.text
    assert joined.headers["location"] == "/investor/profile?notice=welcome"
    return client


def profile_fields(page: str, **changes: Any) -> dict[str, Any]:
    """The profile form as the page shows it, with ``changes``."""
    fields: dict[str, Any] = {
        "csrf_token": csrf(page),
        "version": re.search(r'name="version" value="(\d+)"', page).group(1),  # type: ignore[union-attr]
        "name": "Isan Smart Mobility SME",
        "investor_type": "sme",
        "home_country": "TH",
        "discoverable": "on",
    }
    return fields | changes


async def test_joining_lands_on_the_profile_with_a_live_count(
    investor: httpx.AsyncClient,
) -> None:
    page = await investor.get("/investor/profile?notice=welcome&lang=th")
    assert page.status_code == 200, page.text
    text = visible(page.text)
    assert THAI.gettext("Your profile") in text
    assert "ยังไม่ได้ยืนยันองค์กรของคุณ" in text  # not verified yet, said plainly
    assert english_values_in(text) == set()
    count = re.search(r"โครงการที่เผยแพร่ (\d+) โครงการผ่านเงื่อนไขของคุณ", text)
    assert count
    assert int(count.group(1)) > 0


async def test_amounts_as_people_type_them(investor: httpx.AsyncClient) -> None:
    page = (await investor.get("/investor/profile")).text
    saved = await investor.post(
        "/investor/profile",
        data=profile_fields(
            page,
            ticket_min_thb="10 ล้าน",
            ticket_max_thb="THB 250M",
            sectors=["public-transport"],
            regions=["northeast"],
            models=["ppp", "concession"],
            action="save",
        ),
    )
    assert saved.status_code == 303, saved.text
    again = (await investor.get("/investor/profile")).text
    assert 'value="10,000,000"' in again
    assert 'value="250,000,000"' in again
    assert 'value="northeast" checked' in again


async def test_a_bad_profile_is_shown_again_with_every_error_beside_its_field(
    investor: httpx.AsyncClient, session: Session
) -> None:
    page = (await investor.get("/investor/profile?lang=th")).text
    refused = await investor.post(
        "/investor/profile",
        data=profile_fields(
            page,
            ticket_min_thb="ten million",
            horizon_years="500",
            thesis="<script>alert(1)</script>",
            action="save",
        ),
    )
    assert refused.status_code == 422
    html = refused.text
    assert 'id="ticket_min_thb-error"' in html
    assert 'id="horizon_years-error"' in html
    assert 'value="ten million"' in html  # what was typed stays
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html
    assert "กรุณาพิมพ์จำนวนเงิน" in visible(html)
    min_above = await investor.post(
        "/investor/profile",
        data=profile_fields(page, ticket_min_thb="20M", ticket_max_thb="5M", action="save"),
    )
    assert min_above.status_code == 422
    assert 'id="ticket_max_thb-error"' in min_above.text


async def test_counting_saves_nothing(investor: httpx.AsyncClient) -> None:
    page = (await investor.get("/investor/profile")).text
    counted = await investor.post(
        "/investor/profile",
        data=profile_fields(page, sectors=["agri-food"], action="count"),
    )
    assert counted.status_code == 200
    live = await investor.get("/investor/profile/count", params={"sectors": "agri-food"})
    assert live.status_code == 200
    body = live.json()
    assert 0 < body["passing"]
    assert body["matching"] <= body["passing"]
    narrower = await investor.get(
        "/investor/profile/count", params={"stages": "operating", "excluded_sectors": "agri-food"}
    )
    assert narrower.json()["passing"] < body["passing"]
    bad = await investor.get("/investor/profile/count", params={"ticket_min_thb": "lots"})
    assert bad.status_code == 422
    assert bad.json()["errors"] == {"ticket_min_thb": "not_an_amount"}
    again = (await investor.get("/investor/profile")).text
    assert 'value="agri-food" checked' not in again


async def test_a_stale_save_keeps_what_was_typed_and_says_so(
    investor: httpx.AsyncClient,
) -> None:
    page = (await investor.get("/investor/profile")).text
    first = await investor.post(
        "/investor/profile", data=profile_fields(page, thesis="first", action="save")
    )
    assert first.status_code == 303
    stale = await investor.post(
        "/investor/profile", data=profile_fields(page, thesis="second", action="save")
    )
    assert stale.status_code == 412
    assert 'data-testid="conflict"' in stale.text
    assert ">second</textarea>" in stale.text
    assert "first" in (await investor.get("/investor/profile")).text  # nothing overwritten


async def test_matches_with_reasons_and_what_would_widen_them(
    investor: httpx.AsyncClient,
) -> None:
    page = (await investor.get("/investor/profile")).text
    await investor.post(
        "/investor/profile",
        data=profile_fields(page, models=["equity"], stages=["operating"], action="save"),
    )
    matches = await investor.get("/investor/matches", params={"lang": "en", "min_score": "30"})
    assert matches.status_code == 200, matches.text
    assert 'data-testid="widenings"' in matches.text
    assert re.search(r"accept [a-z -]+: <strong>\+\d+ listings?</strong>", matches.text)
    bad = await investor.get("/investor/matches", params={"min_score": "900"})
    assert bad.status_code == 200  # the list stays, the problem is said beside the field
    assert 'id="min_score-error"' in bad.text
    thai = await investor.get("/investor/matches", params={"lang": "th", "min_score": "0"})
    text = visible(thai.text)
    assert english_values_in(text) == set()
    assert "คะแนน" in text


async def test_interest_in_one_click_followed_and_withdrawn(
    investor: httpx.AsyncClient,
) -> None:
    pitch = await investor.get(f"/listings/{FISH}")
    assert 'data-testid="express-interest"' in pitch.text
    assert 'value="somsri@isan-sme.example"' in pitch.text  # how to reach them, pre-filled
    sent = await investor.post(
        f"/listings/{FISH}/interest",
        data={"csrf_token": csrf(pitch.text), "message": "ขอข้อมูลเพิ่ม", "contact": "081 234 5678"},
    )
    assert sent.status_code == 303
    pitch = await investor.get(f"/listings/{FISH}?lang=th")
    assert 'data-testid="interest-status"' in pitch.text
    assert "ใหม่" in visible(pitch.text)

    mine = await investor.get("/investor/interests?lang=th")
    assert "ขอข้อมูลเพิ่ม" in mine.text
    interest_id = re.search(r"/investor/interests/(\d+)/withdraw", mine.text).group(1)  # type: ignore[union-attr]
    withdrawn = await investor.post(
        f"/investor/interests/{interest_id}/withdraw", data={"csrf_token": csrf(mine.text)}
    )
    assert withdrawn.status_code == 303
    mine = await investor.get("/investor/interests?lang=th")
    assert THAI.gettext("withdrawn") in visible(mine.text)


async def test_the_workplace_is_for_investors(client: httpx.AsyncClient, world: World) -> None:
    for path in ("/investor", "/investor/profile", "/investor/matches", "/investor/interests"):
        anonymous = await client.get(path)
        assert anonymous.status_code == 401, path
    response = await post_form(client, "/signin", "/signin", api_key=world.nakhon_sawan_key)
    assert response.status_code == 303
    for path in ("/investor", "/investor/profile"):
        assert (await client.get(path)).status_code == 401, path
    assert (await client.get("/register")).status_code == 200


async def test_a_refused_registration_keeps_what_was_typed(client: httpx.AsyncClient) -> None:
    refused = await join(client, email="not an address", password_again="different one!!")
    assert refused.status_code == 422
    assert 'value="Isan Smart Mobility SME"' in refused.text
    assert 'id="email-error"' in refused.text
    assert 'id="password_again-error"' in refused.text
    assert (await join(client)).status_code == 303
    client.cookies.clear()
    taken = await join(client)
    assert taken.status_code == 409
    assert 'id="email-error"' in taken.text


async def test_home_shows_matches_and_interests(investor: httpx.AsyncClient) -> None:
    home = await investor.get("/investor?lang=th")
    assert home.status_code == 200, home.text
    text = visible(home.text)
    assert THAI.gettext("Your best matches") in text
    assert english_values_in(text) == set()
    assert 'data-testid="match"' in home.text


async def test_an_admin_verifies_a_new_investor_in_the_portal(
    client: httpx.AsyncClient, app: Any, world: World
) -> None:
    assert (await join(client)).status_code == 303
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as admin:
        signed_in = await post_form(admin, "/signin", "/signin", api_key=world.admin_key)
        assert signed_in.status_code == 303
        page = await admin.get("/admin/organisations?lang=th")
        assert 'data-testid="unverified"' in page.text
        assert "Isan Smart Mobility SME" in page.text
        slug = re.search(r"/admin/organisations/([a-z0-9-]+)/verification", page.text).group(1)  # type: ignore[union-attr]
        verified = await admin.post(
            f"/admin/organisations/{slug}/verification",
            data={"csrf_token": csrf(page.text), "verified": "yes"},
        )
        assert verified.status_code == 303
        page = await admin.get("/admin/organisations")
        assert 'data-testid="unverified"' not in page.text
    home = await client.get("/investor")
    assert 'data-testid="not-verified"' not in home.text
    refused = await client.post(
        f"/admin/organisations/{slug}/verification",
        data={"csrf_token": csrf(home.text), "verified": "no"},
    )
    assert refused.status_code in (401, 403)
