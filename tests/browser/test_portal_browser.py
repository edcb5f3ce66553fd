"""The portal in a real browser: headless Chromium from Debian, driven by Playwright.

Needs ``/usr/bin/chromium`` and ``fonts-thai-tlwg-ttf`` (``.ci/run`` installs both);
without them these tests are skipped with that reason. Screenshots of the main pages go
to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.browser.conftest import BROWSER_TESTS, shot, sign_in

pytestmark = BROWSER_TESTS


def test_search_in_thai_narrow_and_open_a_pitch_page(live: dict[str, str], page: Any) -> None:
    page.goto(live["base"] + "/")
    shot(page, "catalogue-th")
    page.fill("#q", "ลูกชิ้นปลา")
    page.press("#q", "Enter")
    page.wait_for_url("**q=*")
    first = page.locator('[data-testid="hit"] h3 a').first
    assert "ลูกชิ้น" in first.inner_text()
    assert page.locator("mark").count() > 0

    page.goto(live["base"] + "/?q=")
    total = int(page.locator('[data-testid="result-count"]').inner_text())
    page.click('a[data-facet="kind"][data-value="trade"]')
    page.wait_for_url("**kind=trade*")
    narrowed = int(page.locator('[data-testid="result-count"]').inner_text())
    assert 0 < narrowed < total
    shot(page, "catalogue-trade-facet")
    page.go_back()
    page.wait_for_url(lambda url: "kind=trade" not in url)
    assert int(page.locator('[data-testid="result-count"]').inner_text()) == total

    page.goto(live["base"] + "/?q=ลูกชิ้นปลา")
    page.locator('[data-testid="hit"] h3 a').first.click()
    page.wait_for_url("**/listings/nakhon-sawan-fish-ball-factory")
    assert page.locator("h1").inner_text().startswith("โรงงานผลิตลูกชิ้นปลา")
    assert page.locator("ol.steps li").count() >= 4
    shot(page, "pitch-page-th")


def test_switch_language(live: dict[str, str], page: Any) -> None:
    page.goto(live["base"] + "/listings/nakhon-sawan-fish-ball-factory")
    assert page.locator("html").get_attribute("lang") == "th"
    page.click('[data-testid="switch-language"]')
    page.wait_for_url("**lang=en*")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "How to invest" in page.content()
    shot(page, "pitch-page-en")
    page.goto(live["base"] + "/cities/khon-kaen")  # the choice is remembered
    assert page.locator("html").get_attribute("lang") == "en"
    shot(page, "city-page-en")


def test_publisher_signs_in_and_publishes_a_draft(live: dict[str, str], page: Any) -> None:
    assert httpx.get(f"{live['base']}/v1/listings/patong-smart-beach-safety").status_code == 404
    sign_in(page, live)
    row = page.locator('tr[data-slug="patong-smart-beach-safety"]')
    shot(page, "dashboard")
    row.locator('a[href$="/publish"]').click()
    page.wait_for_url("**/patong-smart-beach-safety/publish")
    shot(page, "publish-checklist")
    page.locator("form button.primary").click()
    page.wait_for_url("**notice=published_now*")
    assert page.locator(".notice").is_visible()
    listing = httpx.get(f"{live['base']}/v1/listings/patong-smart-beach-safety").json()
    assert listing["status"] == "published"


def test_event_page_and_its_printable_booklet(live: dict[str, str], page: Any) -> None:
    page.goto(live["base"] + "/")
    page.click('header a[href="/events"]')
    page.wait_for_url("**/events")
    page.click('a[href="/events/nakhon-sawan-pitch-day-2027"]')
    page.wait_for_url("**/events/nakhon-sawan-pitch-day-2027")
    schedule = page.locator('[data-testid="schedule"]')
    assert "14:30" in schedule.inner_text()  # the first meeting round, after the pitches
    assert schedule.locator("tbody tr").count() == 6  # one row per round
    shot(page, "event-page-th")
    page.click('[data-testid="booklet-link"]')
    page.wait_for_url("**/booklet")
    assert page.locator('[data-testid="booklet-listing"]').count() == 6
    shot(page, "event-booklet-th")
    page.emulate_media(media="print")
    assert not page.locator("header.site").is_visible()  # print layout: no site chrome
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")
