"""The publisher's workplace: checkpoints that read overdue after their date and are
reported with a note and evidence, and leads moved along in a table and exported."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
from sqlmodel import Session, select

from catalog import service
from catalog.models import Checkpoint, Listing
from catalog.schemas import ListingCreate
from tests.api.test_portal_conflicts import form_of
from tests.factories import (
    World,
    auth,
    create_and_publish,
    listing_payload,
    profile_payload,
    publisher_of,
)


def form_fields(html: str) -> dict[str, Any]:
    """What a browser would post: the page's form as it stands."""
    return form_of(html)


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


async def sign_in(client: httpx.AsyncClient, key: str) -> None:
    form = await client.get("/signin")
    done = await client.post("/signin", data={"api_key": key, "csrf_token": csrf(form.text)})
    assert done.status_code == 303


def published_last_year(session: Session) -> Listing:
    """A listing first published in early 2025: both its checkpoints are past due."""
    publisher = publisher_of(session)
    listing = service.create_listing(
        session, data=ListingCreate.model_validate(listing_payload()), principal=publisher
    )
    service.publish_listing(
        session,
        listing=listing,
        principal=publisher,
        expected_version=listing.version,
        at=datetime(2025, 3, 1, 9, tzinfo=UTC),
    )
    session.commit()
    return listing


async def test_an_unreported_checkpoint_reads_overdue_everywhere(
    client: httpx.AsyncClient, world: World, session: Session
) -> None:
    listing = published_last_year(session)
    api = (await client.get(f"/v1/listings/{listing.slug}")).json()
    assert [c["state"] for c in api["checkpoints"]] == ["overdue", "overdue"]
    assert [c["status"] for c in api["checkpoints"]] == ["pending", "pending"]
    pitch = await client.get(f"/listings/{listing.slug}", params={"lang": "th"})
    assert pitch.text.count("เลยกำหนดรายงาน") == 2
    city = await client.get("/cities/nakhon-sawan", params={"lang": "th"})
    assert "เลยกำหนดรายงาน: 2" in city.text
    assert "pending:" not in city.text  # no English enum value on a Thai page


async def test_the_dashboard_reports_a_checkpoint_with_evidence(
    client: httpx.AsyncClient, world: World, session: Session
) -> None:
    listing = published_last_year(session)
    await sign_in(client, world.nakhon_sawan_key)
    board = await client.get("/dashboard", params={"lang": "th"})
    assert board.text.count('data-testid="due-checkpoint"') == 2
    assert board.text.count('data-testid="overdue"') == 2
    action = f"/dashboard/listings/{listing.slug}/checkpoints/6"
    bad = await client.post(
        action,
        data={
            "csrf_token": csrf(board.text),
            "status": "on-track",
            "note": "เครื่องจักรติดตั้งแล้ว",
            "evidence_url": "javascript:alert(1)",
        },
    )
    assert bad.status_code == 422
    assert "ลิงก์ต้องขึ้นต้นด้วย http:// หรือ https://" in bad.text
    assert "เครื่องจักรติดตั้งแล้ว" in bad.text  # what was typed is kept
    stored = session.exec(
        select(Checkpoint).where(Checkpoint.listing_id == listing.id, Checkpoint.months == 6)
    ).one()
    session.refresh(stored)
    assert stored.status == "pending"  # nothing of the rejected report was kept

    good = await client.post(
        action,
        data={
            "csrf_token": csrf(bad.text),
            "status": "on-track",
            "note": "เครื่องจักรติดตั้งแล้ว",
            "evidence_url": "https://example.org/minutes.pdf",
        },
    )
    assert good.status_code == 303
    checkpoints = (await client.get(f"/v1/listings/{listing.slug}")).json()["checkpoints"]
    assert checkpoints[0]["state"] == "on-track"
    assert checkpoints[0]["evidence_url"] == "https://example.org/minutes.pdf"
    board = await client.get("/dashboard")
    assert board.text.count('data-testid="due-checkpoint"') == 1
    pitch = await client.get(f"/listings/{listing.slug}", params={"lang": "th"})
    assert "เป็นไปตามแผน" in pitch.text
    assert 'href="https://example.org/minutes.pdf"' in pitch.text


async def test_pending_is_not_something_to_report(
    client: httpx.AsyncClient, world: World, session: Session
) -> None:
    listing = published_last_year(session)
    response = await client.patch(
        f"/v1/listings/{listing.slug}/checkpoints/6",
        json={"status": "pending"},
        headers=auth(world.nakhon_sawan_key),
    )
    assert response.status_code == 422
    assert response.json()["field"].endswith("status")


async def test_leads_move_along_in_the_table_and_export_safely(
    client: httpx.AsyncClient, world: World
) -> None:
    await create_and_publish(client, world.nakhon_sawan_key)
    investor = auth(world.investor_key)
    await client.post("/v1/investors", json=profile_payload(), headers=investor)
    hostile = '=HYPERLINK("http://evil.example","click")'
    interest = await client.post(
        "/v1/listings/fish-ball-factory/interest", json={"message": hostile}, headers=investor
    )
    assert interest.status_code == 201
    lead_id = interest.json()["id"]

    await sign_in(client, world.nakhon_sawan_key)
    board = await client.get("/dashboard", params={"lang": "th"})
    assert '<th scope="col">โครงการ</th>' in board.text
    assert "ใหม่" in board.text  # the lead's status, in Thai
    saved = await client.post(
        f"/dashboard/leads/{lead_id}",
        data={"csrf_token": csrf(board.text), "status": "meeting", "notes": "นัด 12 ธ.ค."},
    )
    assert saved.status_code == 303
    leads = (await client.get("/v1/leads", headers=auth(world.nakhon_sawan_key))).json()
    assert leads["data"][0]["status"] == "meeting"
    assert leads["data"][0]["notes"] == "นัด 12 ธ.ค."

    refused = await client.post(
        f"/dashboard/leads/{lead_id}",
        data={"csrf_token": csrf(board.text), "status": "somewhere"},
    )
    assert refused.status_code == 422

    exported = await client.get("/dashboard/leads.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.text.startswith("\ufeff")  # Thai opens as Thai in a spreadsheet
    rows = list(csv.reader(io.StringIO(exported.text.removeprefix("\ufeff"))))
    assert rows[0][0] == "โครงการ"
    assert rows[1][6] == "นัดประชุม"
    assert rows[1][7] == "'" + hostile  # a formula in a cell is text, never run


async def test_another_organisation_cannot_move_a_lead(
    client: httpx.AsyncClient, world: World
) -> None:
    await create_and_publish(client, world.nakhon_sawan_key)
    investor = auth(world.investor_key)
    await client.post("/v1/investors", json=profile_payload(), headers=investor)
    lead_id = (
        await client.post("/v1/listings/fish-ball-factory/interest", json={}, headers=investor)
    ).json()["id"]
    await sign_in(client, world.rayong_key)
    board = await client.get("/dashboard")
    moved = await client.post(
        f"/dashboard/leads/{lead_id}", data={"csrf_token": csrf(board.text), "status": "won"}
    )
    assert moved.status_code == 404


async def test_the_publisher_sees_which_investors_fit_and_why(
    client: httpx.AsyncClient, world: World
) -> None:
    await create_and_publish(client, world.nakhon_sawan_key)
    profile = profile_payload(discoverable=True)
    created = await client.post("/v1/investors", json=profile, headers=auth(world.investor_key))
    assert created.status_code == 201, created.text
    await sign_in(client, world.nakhon_sawan_key)
    page = await client.get(
        "/dashboard/listings/fish-ball-factory/investors", params={"lang": "th"}
    )
    assert page.status_code == 200
    assert "นักลงทุนที่เหมาะกับโครงการ" in page.text
    api = (
        await client.get(
            "/v1/listings/fish-ball-factory/investors", headers=auth(world.nakhon_sawan_key)
        )
    ).json()
    assert page.text.count('data-testid="investor-fit"') == api["count"] > 0
    assert api["data"][0]["reasons"][0]["th"] in page.text  # the reasons, in Thai

    await sign_in(client, world.rayong_key)
    foreign = await client.get("/dashboard/listings/fish-ball-factory/investors")
    assert foreign.status_code in (403, 404)


async def test_publishing_shows_what_readers_would_miss_then_archive_and_again(
    client: httpx.AsyncClient, world: World
) -> None:
    key = auth(world.nakhon_sawan_key)
    bare = listing_payload(
        kind="infrastructure", title_en="", summary_en="", contacts=[], how_to_invest=[]
    )
    created = await client.post("/v1/listings", json=bare, headers=key)
    assert created.status_code == 201
    slug = created.json()["slug"]
    await sign_in(client, world.nakhon_sawan_key)
    checklist = await client.get(f"/dashboard/listings/{slug}/publish?lang=th")
    codes = re.findall(r'data-code="([a-z_]+)"', checklist.text)
    assert codes == ["missing_english", "no_contacts"]
    assert "ยังไม่มีผู้ติดต่อ" in checklist.text
    version = re.search(r'name="version" value="(\d+)"', checklist.text)
    assert version
    published = await client.post(
        f"/dashboard/listings/{slug}/publish",
        data={"csrf_token": csrf(checklist.text), "version": version.group(1)},
    )
    assert published.status_code == 303
    board = await client.get("/dashboard")
    current = re.search(r'archive".*?name="version" value="(\d+)"', board.text, re.S)
    assert current
    archived = await client.post(
        f"/dashboard/listings/{slug}/archive",
        data={"csrf_token": csrf(board.text), "version": current.group(1)},
    )
    assert archived.status_code == 303
    assert (await client.get(f"/v1/listings/{slug}")).status_code == 404
    stale = await client.post(
        f"/dashboard/listings/{slug}/archive",
        data={"csrf_token": csrf(board.text), "version": current.group(1)},
    )
    assert stale.status_code in (409, 412)  # a stale button never applies
    again = await client.get(f"/dashboard/listings/{slug}/publish")
    version = re.search(r'name="version" value="(\d+)"', again.text)
    assert version
    republished = await client.post(
        f"/dashboard/listings/{slug}/publish",
        data={"csrf_token": csrf(again.text), "version": version.group(1)},
    )
    assert republished.status_code == 303
    assert (await client.get(f"/v1/listings/{slug}")).status_code == 200


async def test_a_trade_listing_without_steps_cannot_be_published(
    client: httpx.AsyncClient, world: World
) -> None:
    key = auth(world.nakhon_sawan_key)
    assert (
        await client.post("/v1/listings", json=listing_payload(how_to_invest=[]), headers=key)
    ).status_code == 201
    await sign_in(client, world.nakhon_sawan_key)
    checklist = await client.get("/dashboard/listings/fish-ball-factory/publish?lang=th")
    assert 'data-code="trade_without_steps"' in checklist.text
    assert "ต้องมีขั้นตอนการลงทุนก่อนเผยแพร่" in checklist.text
    assert 'action="/dashboard/listings/fish-ball-factory/publish"' not in checklist.text


def full_form(token: str, **overrides: str) -> dict[str, str]:
    """A new trade listing as the portal form posts it: every part of it."""
    form = {
        "csrf_token": token,
        "kind": "trade",
        "sector": "agri-food-processing",
        "city": "nakhon-sawan",
        "smart_block": "nakhon-sawan-old-market",
        "stage": "ready-for-investment",
        "title_th": "โรงงานผลิตลูกชิ้นปลา",
        "title_en": "Fish-ball factory",
        "summary_th": "โรงงานลูกชิ้นปลาขนาดเล็ก",
        "summary_en": "A small fish-ball factory.",
        "description_th": "ใช้ปลาน้ำจืดจากบึงบอระเพ็ด",
        "description_en": "Freshwater fish from Bueng Boraphet.",
        "capital_min_thb": "5000000",
        "capital_max_thb": "12000000",
        "expected_irr_pct": "14.5",
        "payback_years": "4.5",
        "incentives-0-title_th": "สิทธิประโยชน์ BOI",
        "incentives-0-title_en": "BOI privileges",
        "documents-0-title": "Business plan",
        "documents-0-url": "https://docs.example/plan.pdf",
        "contacts-0-name": "นายสมชาย ใจดี",
        "contacts-0-name_latin": "Somchai Jaidee",
        "contacts-0-email": "somchai@ns.example",
        # steps typed in the wrong order, put right by their numbers
        "how_to_invest-0-title_th": "ขอใบอนุญาตประกอบกิจการโรงงาน",
        "how_to_invest-0-permit": "ร.ง.4",
        "how_to_invest-0-typical_days": "45",
        "how_to_invest-0-position": "2",
        "how_to_invest-1-title_th": "จดทะเบียนบริษัท",
        "how_to_invest-1-office": "กรมพัฒนาธุรกิจการค้า",
        "how_to_invest-1-last_verified": "2026-09-01",
        "how_to_invest-1-position": "1",
        "action": "save",
    }
    return form | overrides


async def post_listing(client: httpx.AsyncClient, form: dict[str, str]) -> httpx.Response:
    fields = list(form.items()) + [
        ("investment_models", "equity"),
        ("investment_models", "joint-venture"),
    ]
    return await client.post(
        "/dashboard/listings/new",
        content="&".join(f"{k}={quote(v)}" for k, v in fields),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


async def test_a_whole_listing_is_created_in_the_portal(
    client: httpx.AsyncClient, world: World
) -> None:
    await sign_in(client, world.nakhon_sawan_key)
    page = await client.get("/dashboard/listings/new", params={"lang": "th"})
    assert page.status_code == 200
    assert "ขั้นตอนการลงทุน" in page.text
    created = await post_listing(client, full_form(csrf(page.text)))
    assert created.status_code == 303, created.text
    assert created.headers["location"] == "/dashboard/listings/fish-ball-factory/publish"
    stored = (
        await client.get("/v1/listings/fish-ball-factory", headers=auth(world.nakhon_sawan_key))
    ).json()
    assert stored["status"] == "draft"
    assert [step["title_th"] for step in stored["how_to_invest"]] == [
        "จดทะเบียนบริษัท",
        "ขอใบอนุญาตประกอบกิจการโรงงาน",
    ]
    assert stored["how_to_invest"][1]["typical_days"] == 45
    assert stored["contacts"][0]["name_latin"] == "Somchai Jaidee"
    assert stored["documents"][0]["url"] == "https://docs.example/plan.pdf"
    assert sorted(stored["investment_models"]) == ["equity", "joint-venture"]
    assert stored["expected_irr_pct"] == 14.5


async def test_the_form_adds_rows_and_keeps_what_was_typed_without_javascript(
    client: httpx.AsyncClient, world: World
) -> None:
    await sign_in(client, world.nakhon_sawan_key)
    page = await client.get("/dashboard/listings/new")
    more = await post_listing(client, full_form(csrf(page.text), action="add-how_to_invest"))
    assert more.status_code == 200
    assert 'name="how_to_invest-2-title_th"' in more.text  # a third, empty step
    assert 'value="จดทะเบียนบริษัท"' in more.text  # now first, by its number
    removed = await post_listing(
        client, full_form(csrf(page.text), **{"how_to_invest-0-remove": "on"})
    )
    assert removed.status_code == 303
    stored = (
        await client.get("/v1/listings/fish-ball-factory", headers=auth(world.nakhon_sawan_key))
    ).json()
    assert [step["title_th"] for step in stored["how_to_invest"]] == ["จดทะเบียนบริษัท"]


async def test_every_error_shows_beside_its_field_in_thai(
    client: httpx.AsyncClient, world: World
) -> None:
    await sign_in(client, world.nakhon_sawan_key)
    page = await client.get("/dashboard/listings/new", params={"lang": "th"})
    bad = await post_listing(
        client,
        full_form(
            csrf(page.text),
            title_th="",
            **{"documents-0-url": "not a link", "how_to_invest-0-typical_days": "soon"},
        ),
    )
    assert bad.status_code == 422
    assert 'id="title_th-error"' in bad.text
    assert 'id="documents-0-url-error"' in bad.text
    assert 'id="how_to_invest-1-typical_days-error"' in bad.text  # second, by its number
    assert "ลิงก์ต้องขึ้นต้นด้วย http:// หรือ https://" in bad.text
    assert "ต้องเป็นตัวเลข" in bad.text
    assert 'value="Somchai Jaidee"' in bad.text  # nothing typed is lost
    assert "Field required" not in bad.text  # no pydantic English on a Thai page
    elsewhere = await post_listing(
        client, full_form(csrf(page.text), smart_block="rayong-riverfront")
    )
    assert elsewhere.status_code == 422
    assert "ย่านนี้ไม่อยู่ในเมืองที่เลือก" in elsewhere.text
    assert (
        await client.get("/v1/listings/fish-ball-factory", headers=auth(world.nakhon_sawan_key))
    ).status_code == 404  # nothing was saved


async def test_everything_is_edited_and_a_stale_list_is_never_overwritten(
    client: httpx.AsyncClient, world: World
) -> None:
    key = auth(world.nakhon_sawan_key)
    assert (
        await client.post("/v1/listings", json=listing_payload(contacts=[]), headers=key)
    ).status_code == 201
    await sign_in(client, world.nakhon_sawan_key)
    page = await client.get("/dashboard/listings/fish-ball-factory/edit")
    form = form_fields(page.text)
    assert form["how_to_invest-1-title_th"] == "ขอใบอนุญาตประกอบกิจการโรงงาน"
    # Someone else adds a contact through the API meanwhile.
    current = await client.get("/v1/listings/fish-ball-factory", headers=key)
    other = await client.patch(
        "/v1/listings/fish-ball-factory",
        json={"contacts": [{"name": "คุณวิภา"}]},
        headers=key | {"If-Match": current.headers["ETag"]},
    )
    assert other.status_code == 200
    # This editor adds another contact and a third step, from the older version.
    mine = form | {
        "contacts-0-name": "คุณสมชาย",
        "contacts-0-name_latin": "Somchai",
        "how_to_invest-2-title_th": "ขอใช้ที่ดิน",
        "how_to_invest-2-position": "3",
    }
    stale = await client.post("/dashboard/listings/fish-ball-factory/edit", data=mine)
    assert stale.status_code == 409
    assert 'data-field="contacts"' in stale.text
    assert "คุณวิภา" in stale.text  # theirs, shown beside mine
    assert 'data-field="how_to_invest"' not in stale.text  # only they changed nothing there
    stored = (await client.get("/v1/listings/fish-ball-factory", headers=key)).json()
    assert [c["name"] for c in stored["contacts"]] == ["คุณวิภา"]  # nothing overwritten

    resolved = form_fields(stale.text) | {"resolve_contacts": "mine"}
    saved = await client.post("/dashboard/listings/fish-ball-factory/edit", data=resolved)
    assert saved.status_code == 303, saved.text
    stored = (await client.get("/v1/listings/fish-ball-factory", headers=key)).json()
    assert [c["name_latin"] for c in stored["contacts"]] == ["Somchai"]
    assert [s["title_th"] for s in stored["how_to_invest"]][-1] == "ขอใช้ที่ดิน"
    assert sorted(stored["investment_models"]) == ["equity", "joint-venture"]  # untouched


async def test_a_checkpoint_is_reported_early_from_the_listings_page(
    client: httpx.AsyncClient, world: World
) -> None:
    await create_and_publish(client, world.nakhon_sawan_key)
    await sign_in(client, world.nakhon_sawan_key)
    page = await client.get("/dashboard/listings/fish-ball-factory/checkpoints?lang=th")
    assert page.status_code == 200
    assert page.text.count('data-testid="due-checkpoint"') == 2
    assert "รอรายงาน" in page.text  # pending, in Thai; not overdue
    action = "/dashboard/listings/fish-ball-factory/checkpoints/6"
    bad = await client.post(
        action,
        data={
            "csrf_token": csrf(page.text),
            "status": "done",
            "back": "listing",
            "evidence_url": "ftp://x",
        },
    )
    assert bad.status_code == 422
    assert "ลิงก์ต้องขึ้นต้นด้วย http:// หรือ https://" in bad.text
    assert "fish-ball-factory/checkpoints/12" in bad.text  # the listing's page, not the dashboard
    done = await client.post(
        action,
        data={
            "csrf_token": csrf(page.text),
            "status": "done",
            "note": "เปิดโรงงานแล้ว",
            "back": "listing",
        },
    )
    assert done.status_code == 303
    assert done.headers["location"].startswith("/dashboard/listings/fish-ball-factory/checkpoints")
    stored = (await client.get("/v1/listings/fish-ball-factory")).json()["checkpoints"]
    assert (stored[0]["status"], stored[0]["note"]) == ("done", "เปิดโรงงานแล้ว")
