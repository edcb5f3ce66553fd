"""The publisher's workplace in a real browser: a whole new listing, its steps added
and moved with JavaScript, saved as a draft, then the publish checklist."""

from __future__ import annotations

from typing import Any

import httpx

from tests.browser.conftest import BROWSER_TESTS, shot, sign_in

pytestmark = BROWSER_TESTS


def test_a_new_listing_with_steps_moved_in_place(live: dict[str, str], page: Any) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, live, lang="th")
    page.goto(live["base"] + "/dashboard/listings/new")
    page.select_option("#kind", "trade")
    page.select_option("#sector", "tourism")
    page.select_option("#city", "patong")
    page.select_option("#stage", "idea")
    page.fill("#title_th", "ร้านเช่าอุปกรณ์ดำน้ำป่าตอง")
    page.fill("#title_en", "Patong dive gear rental")
    page.fill("#summary_th", "ร้านเช่าอุปกรณ์ดำน้ำสำหรับนักท่องเที่ยว")
    page.fill("#description_th", "ใกล้ชายหาดป่าตอง")
    page.fill("#capital_min_thb", "800000")
    page.fill("#capital_max_thb", "2500000")
    page.check('input[name="investment_models"][value="equity"]')
    page.fill("#how_to_invest-0-title_th", "ขอใบอนุญาตประกอบธุรกิจท่องเที่ยว")
    steps = page.locator('fieldset[data-group="how_to_invest"]')
    steps.locator('button[value="add-how_to_invest"]').click()  # in place, no reload
    assert steps.locator("li[data-row]").count() == 2
    page.fill("#how_to_invest-1-title_th", "จดทะเบียนบริษัท")
    steps.locator("li[data-row]").nth(1).locator('button[data-move="up"]').click()
    assert page.input_value("#how_to_invest-0-title_th") == "จดทะเบียนบริษัท"
    assert page.input_value("#how_to_invest-0-position") == "1"
    shot(page, "new-listing-th")
    page.click('button[value="save"]')
    page.wait_for_url("**/publish")
    shot(page, "publish-checklist-new-th")
    assert errors == []
    slug = page.url.rsplit("/", 2)[-2]
    stored = httpx.get(
        f"{live['base']}/v1/listings/{slug}", headers={"Authorization": f"Bearer {live['key']}"}
    ).json()
    assert [s["title_th"] for s in stored["how_to_invest"]] == [
        "จดทะเบียนบริษัท",
        "ขอใบอนุญาตประกอบธุรกิจท่องเที่ยว",
    ]
