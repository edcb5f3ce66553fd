"""Listings from spreadsheets: the template, a report row by row in Thai and English, all
or nothing, hostile files, and an export that imports back into the same listings."""

from __future__ import annotations

import csv
import io

import httpx
import openpyxl
import pytest
from sqlmodel import Session

from catalog.importing import COLUMNS, headers
from catalog.models import Organisation
from core.principal import OrganisationKind, Role
from tests.factories import World, auth

ROW = {
    "kind": "trade",
    "sector": "agri-food-processing",
    "city": "nakhon-sawan",
    "smart_block": "nakhon-sawan-old-market",
    "stage": "idea",
    "title_th": "โรงงานน้ำพริก",
    "title_en": "Chilli paste workshop",
    "summary_th": "ผลิตน้ำพริกจากพริกในท้องถิ่น",
    "summary_en": "Chilli paste from local chillies.",
    "description_th": "ส่งตลาดในจังหวัด",
    "description_en": "",
    "capital_min_thb": "1,500,000",
    "capital_max_thb": "3000000",
    "investment_models": "equity, joint-venture",
    "expected_irr_pct": "12.5",
    "payback_years": "",
    "contact_name": "คุณมาลี",
    "contact_name_latin": "Malee",
    "contact_role": "",
    "contact_email": "malee@ns.example",
    "contact_phone": "",
}


def csv_of(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers())
    for row in rows:
        writer.writerow([row.get(key, "") for key in COLUMNS])
    return out.getvalue().encode()


def five_rows() -> list[dict[str, str]]:
    return [
        ROW | {"title_th": f"โรงงานน้ำพริก {n}", "title_en": f"Chilli paste workshop {n}"}
        for n in range(1, 6)
    ]


async def upload(
    client: httpx.AsyncClient, key: str, data: bytes, *, dry_run: bool = False, name: str = "l.csv"
) -> httpx.Response:
    return await client.post(
        "/v1/listings/import",
        params={"dry_run": str(dry_run).lower()},
        files={"file": (name, data)},
        headers=auth(key),
    )


async def own_count(client: httpx.AsyncClient, key: str) -> int:
    count: int = (await client.get("/v1/me/listings", headers=auth(key))).json()["count"]
    return count


async def test_five_rows_become_five_drafts(client: httpx.AsyncClient, world: World) -> None:
    checked = await upload(client, world.nakhon_sawan_key, csv_of(five_rows()), dry_run=True)
    assert checked.status_code == 200, checked.text
    assert checked.json()["problems"] == []
    assert await own_count(client, world.nakhon_sawan_key) == 0  # a dry run creates nothing
    done = await upload(client, world.nakhon_sawan_key, csv_of(five_rows()))
    assert done.status_code == 201, done.text
    assert len(done.json()["created"]) == 5
    first = (
        await client.get(
            f"/v1/listings/{done.json()['created'][0]}", headers=auth(world.nakhon_sawan_key)
        )
    ).json()
    assert first["status"] == "draft"
    assert first["capital_min_thb"] == 1_500_000
    assert first["contacts"][0]["name_latin"] == "Malee"
    assert sorted(first["investment_models"]) == ["equity", "joint-venture"]


async def test_every_problem_is_reported_and_nothing_is_imported(
    client: httpx.AsyncClient, world: World
) -> None:
    rows = five_rows()
    rows[1] |= {"title_th": "", "capital_min_thb": "lots"}
    rows[3] |= {"city": "atlantis", "investment_models": "equity, barter"}
    response = await upload(client, world.nakhon_sawan_key, csv_of(rows))
    assert response.status_code == 422
    problems = {(p["row"], p["column"], p["code"]) for p in response.json()["problems"]}
    assert (3, "title_th", "required") in problems  # row 3: the header is row 1
    assert (3, "capital_min_thb", "not_a_number") in problems
    assert (5, "investment_models", "choose_from_list") in problems
    thai = {p["th"] for p in response.json()["problems"]}
    assert "กรุณากรอกช่องนี้" in thai
    assert await own_count(client, world.nakhon_sawan_key) == 0  # all or nothing

    rows = five_rows()
    rows[2] |= {"city": "atlantis"}
    unknown = await upload(client, world.nakhon_sawan_key, csv_of(rows))
    assert unknown.status_code == 422
    assert [(p["row"], p["code"]) for p in unknown.json()["problems"]] == [(4, "unknown_city")]
    assert await own_count(client, world.nakhon_sawan_key) == 0


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ("kind,title_th\n".encode("utf-16"), "not_utf8"),
        (b"", "empty_file"),
        (b"PK\x03\x04 not really a workbook", "not_a_spreadsheet"),
        (b"hello,world\n1,2\n", "no_header"),
    ],
)
async def test_a_file_that_cannot_be_read_is_explained(
    client: httpx.AsyncClient, world: World, data: bytes, code: str
) -> None:
    response = await upload(client, world.nakhon_sawan_key, data)
    assert response.status_code == 422
    assert response.json()["problems"][0]["code"] == code


async def test_hostile_cells_and_sizes(client: httpx.AsyncClient, world: World) -> None:
    rows = five_rows()
    rows[0] |= {"title_en": '=HYPERLINK("http://evil.example")'}
    rows[1] |= {"description_th": "บรรทัดแรก\nบรรทัดที่สอง, มีจุลภาค"}  # a quoted line break
    response = await upload(client, world.nakhon_sawan_key, csv_of(rows))
    assert [(p["row"], p["code"]) for p in response.json()["problems"]] == [
        (2, "formula_not_allowed")
    ]
    many = await upload(client, world.nakhon_sawan_key, csv_of([ROW] * 10_000))
    assert many.status_code in (413, 422)  # too big a body, or too many rows: never a 500
    if many.status_code == 422:
        assert many.json()["problems"][0]["code"] == "too_many_rows"
    assert await own_count(client, world.nakhon_sawan_key) == 0


async def test_an_export_imports_into_an_empty_organisation_as_the_same_listings(
    client: httpx.AsyncClient, world: World, session: Session
) -> None:
    assert (await upload(client, world.nakhon_sawan_key, csv_of(five_rows()))).status_code == 201
    for fmt in ("csv", "xlsx"):
        exported = await client.get(
            "/v1/listings/export", params={"format": fmt}, headers=auth(world.nakhon_sawan_key)
        )
        assert exported.status_code == 200
        if fmt == "xlsx":
            book = openpyxl.load_workbook(io.BytesIO(exported.content), read_only=True)
            assert next(book.worksheets[0].iter_rows(values_only=True))[0] == headers()[0]
        slug = f"twin-{fmt}"
        session.add(
            Organisation(
                slug=slug,
                name_th=slug,
                name_en=slug,
                kind=OrganisationKind.city_company,
                city_id=None,
            )
        )
        session.commit()
        from catalog.organisations import issue_key

        _row, twin_key = issue_key(session, organisation_slug=slug, role=Role.publisher)
        session.commit()
        again = await upload(client, twin_key, exported.content, name=f"export.{fmt}")
        assert again.status_code == 201, again.text
        theirs = await client.get("/v1/listings/export", headers=auth(twin_key))
        mine = await client.get("/v1/listings/export", headers=auth(world.nakhon_sawan_key))
        assert sorted(theirs.text.splitlines()) == sorted(mine.text.splitlines())


async def test_the_template_has_thai_and_english_headers(client: httpx.AsyncClient) -> None:
    template = await client.get("/v1/listings/import-template")
    assert template.status_code == 200
    first_line = template.text.removeprefix("\ufeff").splitlines()[0]
    assert "ชื่อโครงการ (ไทย) / Title (Thai) [title_th]" in first_line


async def test_the_portal_checks_then_imports_and_reports_in_thai(
    client: httpx.AsyncClient, world: World
) -> None:
    form = await client.get("/signin")
    token = form.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    await client.post("/signin", data={"api_key": world.nakhon_sawan_key, "csrf_token": token})
    page = await client.get("/dashboard/import", params={"lang": "th"})
    assert page.status_code == 200
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    rows = five_rows()
    rows[1] |= {"title_th": ""}
    rows[4] |= {"capital_max_thb": "-5"}
    checked = await client.post(
        "/dashboard/import",
        data={"csrf_token": token, "action": "import"},
        files={"file": ("plans.csv", csv_of(rows))},
    )
    assert checked.status_code == 422
    assert checked.text.count('data-testid="problem"') == 2
    assert "ชื่อโครงการ (ไทย)" in checked.text  # the column, named in Thai
    assert "กรุณากรอกช่องนี้" in checked.text
    assert await own_count(client, world.nakhon_sawan_key) == 0
    fixed = await client.post(
        "/dashboard/import",
        data={"csrf_token": token, "action": "import"},
        files={"file": ("plans.csv", csv_of(five_rows()))},
    )
    assert fixed.status_code == 303
    assert await own_count(client, world.nakhon_sawan_key) == 5
    template = await client.get("/dashboard/import/template.xlsx")
    assert template.status_code == 200
    assert template.content.startswith(b"PK")
