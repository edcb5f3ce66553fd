"""The portal in a real browser: headless Chromium from Debian, driven by Playwright.

Needs ``/usr/bin/chromium`` and ``fonts-thai-tlwg-ttf`` (``.ci/run`` installs both);
without them these tests are skipped with that reason. Screenshots of the main pages go
to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live import citydeal, environment, serve

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.live_server,
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() or shutil.which("chromium") is None,
        reason="browser tests need Debian's chromium "
        "(apt-get install chromium fonts-thai-tlwg-ttf)",
    ),
]


def _has_seed_results(base: str) -> bool:
    return bool(httpx.get(f"{base}/v1/search?q=ลูกชิ้น", timeout=2).json()["count"] > 0)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A seeded app served by uvicorn on a free port, and a publisher key for Patong."""
    root = tmp_path_factory.mktemp("live")
    env = environment(root, CITYDEAL_SEARCH_SYNC_SECONDS="0.5")
    citydeal(env, "db", "upgrade")
    citydeal(env, "seed")
    key = (
        citydeal(env, "keys", "create", "--org", "patong-municipality", "--role", "publisher")
        .strip()
        .splitlines()[-1]
    )
    with serve(env, root, ready=_has_seed_results) as base:
        yield {"base": base, "key": key}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="th-TH")
    page = context.new_page()
    yield page
    context.close()


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_search_in_thai_narrow_and_open_a_pitch_page(live: dict[str, str], page: Any) -> None:
    page.goto(live["base"] + "/")
    _shot(page, "catalogue-th")
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
    _shot(page, "catalogue-trade-facet")
    page.go_back()
    page.wait_for_url(lambda url: "kind=trade" not in url)
    assert int(page.locator('[data-testid="result-count"]').inner_text()) == total

    page.goto(live["base"] + "/?q=ลูกชิ้นปลา")
    page.locator('[data-testid="hit"] h3 a').first.click()
    page.wait_for_url("**/listings/nakhon-sawan-fish-ball-factory")
    assert page.locator("h1").inner_text().startswith("โรงงานผลิตลูกชิ้นปลา")
    assert page.locator("ol.steps li").count() >= 4
    _shot(page, "pitch-page-th")


def test_switch_language(live: dict[str, str], page: Any) -> None:
    page.goto(live["base"] + "/listings/nakhon-sawan-fish-ball-factory")
    assert page.locator("html").get_attribute("lang") == "th"
    page.click('[data-testid="switch-language"]')
    page.wait_for_url("**lang=en*")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "How to invest" in page.content()
    _shot(page, "pitch-page-en")
    page.goto(live["base"] + "/cities/khon-kaen")  # the choice is remembered
    assert page.locator("html").get_attribute("lang") == "en"
    _shot(page, "city-page-en")


def test_publisher_signs_in_and_publishes_a_draft(live: dict[str, str], page: Any) -> None:
    assert httpx.get(f"{live['base']}/v1/listings/patong-smart-beach-safety").status_code == 404
    page.goto(live["base"] + "/signin?lang=en")
    page.fill("#api_key", live["key"])
    page.click("button[type=submit]")
    page.wait_for_url("**/dashboard")
    row = page.locator('tr[data-slug="patong-smart-beach-safety"]')
    _shot(page, "dashboard")
    row.locator("button[type=submit]").click()
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
    assert "13:00" in schedule.inner_text()
    assert schedule.locator("tbody tr").count() == 6  # one row per slot
    _shot(page, "event-page-th")
    page.click('[data-testid="booklet-link"]')
    page.wait_for_url("**/booklet")
    assert page.locator('[data-testid="booklet-listing"]').count() == 6
    _shot(page, "event-booklet-th")
    page.emulate_media(media="print")
    assert not page.locator("header.site").is_visible()  # print layout: no site chrome
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")
