"""A new city company, tried as a new user would, in Thai, in Chromium: the admin creates
it and invites its owner; the owner sets a password, invites a colleague, imports five
listings from a spreadsheet, fixes the two rows the report flags, adds a step and a
contact to one, publishes it, sees an investor's interest arrive as a lead, moves it to
"meeting", reports the 6-month checkpoint and sees the week's views on the chart.
Screenshots of each step go to ``test-artifacts/screenshots/journey-*.png``."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Any

import httpx

from catalog.importing import COLUMNS, headers
from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, BROWSER_TESTS, shot
from tests.live import environment, key_of

pytestmark = BROWSER_TESTS
OWNER = "owner@kktc.example"
PASSWORD = "khon kaen think city"


def spreadsheet(path: Path, *, broken: bool) -> Path:
    rows = []
    for n in range(1, 6):
        rows.append(
            {
                "kind": "trade",
                "sector": "agri-food-processing",
                "city": "khon-kaen",
                "stage": "idea",
                "title_th": f"ร้านข้าวจี่ขอนแก่น สาขา {n}",
                "title_en": f"Khon Kaen grilled sticky rice, branch {n}",
                "summary_th": "ร้านข้าวจี่ใกล้ตลาดต้นตาล",
                "description_th": "ขายข้าวจี่และน้ำพริก",
                "capital_min_thb": "300000",
                "capital_max_thb": "900000",
                "investment_models": "equity",
            }
        )
    if broken:
        rows[1]["title_th"] = ""  # row 3 of the sheet
        rows[3]["capital_min_thb"] = "สามแสน"  # row 5: words, not a number
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers())
    for row in rows:
        writer.writerow([row.get(key, "") for key in COLUMNS])
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def sign_in(page: Any, base: str, email: str, password: str) -> None:
    page.goto(base + "/signin?lang=th")
    page.fill("#email", email)
    page.fill("#password", password)
    page.locator("#password").press("Enter")
    page.wait_for_load_state()


def test_a_city_company_from_invitation_to_its_first_lead(
    live: dict[str, str], browser: Any, tmp_path: Path
) -> None:
    base = live["base"]
    admin = browser.new_context(viewport={"width": 1280, "height": 900}, locale="th-TH").new_page()
    sign_in(admin, base, ADMIN_EMAIL, ADMIN_PASSWORD)
    admin.goto(base + "/admin/organisations")
    admin.fill("#name_th", "บริษัท ขอนแก่นพัฒนาเมือง จำกัด")
    admin.fill("#name_en", "Khon Kaen Think City")
    admin.select_option("#kind", "city-company")
    admin.select_option("#city", "khon-kaen")
    admin.fill("#owner_email", OWNER)
    admin.click("form button.primary")
    link = admin.input_value('[data-testid="link-url"]')
    shot(admin, "journey-1-admin-invites-owner")

    owner_context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="th-TH")
    owner = owner_context.new_page()
    owner.goto(link + "?lang=th")
    owner.fill("#name", "อนันต์")
    owner.fill("#password", PASSWORD)
    owner.fill("#password_again", PASSWORD)
    shot(owner, "journey-2-owner-sets-password")
    owner.click("form button.primary")
    owner.wait_for_url("**/signin?notice=invitation_done")
    sign_in(owner, base, OWNER, PASSWORD)
    owner.wait_for_url("**/dashboard")

    owner.goto(base + "/organisation")
    owner.fill("#email", "staff@kktc.example")
    owner.fill("#name", "สมศรี")
    owner.click('form[action="/organisation/invitations"] button.primary')
    assert "/invitations/" in owner.input_value('[data-testid="link-url"]')
    shot(owner, "journey-3-owner-invites-colleague")

    owner.goto(base + "/dashboard/import")
    owner.set_input_files("#file", str(spreadsheet(tmp_path / "plans.csv", broken=True)))
    owner.click('button[value="import"]')
    problems = owner.locator('[data-testid="problem"]')
    assert problems.count() == 2
    assert "กรุณากรอกช่องนี้" in owner.locator('[data-testid="import-report"]').inner_text()
    shot(owner, "journey-4-import-report")
    owner.set_input_files("#file", str(spreadsheet(tmp_path / "fixed.csv", broken=False)))
    owner.click('button[value="import"]')
    owner.wait_for_url("**/dashboard?notice=imported*")
    assert owner.locator('tr[data-testid="own-listing"]').count() == 5
    shot(owner, "journey-5-five-drafts")

    slug = owner.locator('tr[data-testid="own-listing"]').first.get_attribute("data-slug")
    owner.goto(f"{base}/dashboard/listings/{slug}/edit")
    owner.fill("#how_to_invest-0-title_th", "ขออนุญาตจำหน่ายอาหาร")
    owner.fill("#how_to_invest-0-office", "สำนักงานเทศบาลนครขอนแก่น")
    owner.fill("#contacts-0-name", "คุณสมศรี")
    owner.fill("#contacts-0-name_latin", "Somsri")
    owner.fill("#contacts-0-email", "staff@kktc.example")
    shot(owner, "journey-6-steps-and-contact")
    owner.click('button[value="save"]')
    owner.wait_for_url("**/dashboard?notice=saved")
    owner.goto(f"{base}/dashboard/listings/{slug}/publish")
    shot(owner, "journey-7-publish-checklist")
    owner.click("form button.primary")
    owner.wait_for_url("**notice=published_now*")

    env = environment(Path(live["root"]))
    investor_key = key_of(env, "siam-infrastructure-fund-co", "investor")
    interest = httpx.post(
        f"{base}/v1/listings/{slug}/interest",
        json={"message": "สนใจลงทุนสาขาแรก"},
        headers={"Authorization": f"Bearer {investor_key}"},
        timeout=10,
    )
    assert interest.status_code in (200, 201), interest.text
    for _ in range(3):
        httpx.get(f"{base}/listings/{slug}", timeout=10)  # the week's views

    owner.goto(base + "/dashboard")
    lead = owner.locator('tr[data-testid="lead"]').first
    assert "สนใจลงทุนสาขาแรก" in lead.inner_text()
    lead.locator("select").select_option("meeting")
    lead.locator("button").click()
    owner.wait_for_url("**notice=lead_saved*")
    assert owner.locator('tr[data-testid="lead"] select').first.input_value() == "meeting"
    shot(owner, "journey-8-lead-meeting")

    owner.goto(f"{base}/dashboard/listings/{slug}/checkpoints")
    first = owner.locator('form[data-testid="due-checkpoint"]').first
    first.locator("select").select_option("on-track")
    first.locator("textarea").fill("ร้านแรกเปิดแล้ว")
    first.locator('input[type="url"]').fill("https://kktc.example/report-6m.pdf")
    first.locator("button.primary").click()
    owner.wait_for_url("**notice=checkpoint_reported*")
    shot(owner, "journey-9-checkpoint-reported")

    # The counts of views are appended every few seconds: read the page again until they are.
    cells = owner.locator('tr[data-testid="week"]').last.locator("td")
    deadline = time.monotonic() + 30
    while True:
        owner.goto(f"{base}/dashboard/listings/{slug}/analytics")
        if cells.nth(1).text_content() == "3" or time.monotonic() > deadline:
            break
        owner.wait_for_timeout(250)
    assert cells.nth(1).text_content() == "3"  # this week's views (the table under the chart)
    assert cells.nth(3).text_content() == "1"  # and the interest
    shot(owner, "journey-10-views-chart")
    owner_context.close()
