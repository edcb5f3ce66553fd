"""Shortlist and compare, and indicative money, in Chromium at 1280 and 390 px, in Thai
and English: the admin sets a rate on its page; a foreign fund's person shortlists from
pitch pages and results, ticks three listings and compares them; the comparison scrolls
sideways inside its own box on a phone with the first column held in place, and amounts
carry their indicative dollars once the reader picks them. axe-core finds nothing on
these pages. Screenshots: ``test-artifacts/screenshots/compare-*.png``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from core.db import utcnow
from core.formatting import bangkok_date
from tests.browser.axe import assert_no_axe_violations
from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, BROWSER_TESTS, shot

pytestmark = BROWSER_TESTS

WIDTHS = [1280, 390]
INVESTOR_EMAIL = "partner@apac-urban.example"
INVESTOR_PASSWORD = "harbour bridge capital"
# Published seed listings: two from their pitch pages, one from the results.
FROM_PITCH_PAGES = ["nakhon-sawan-fish-ball-factory", "patong-electric-beach-shuttle"]
FROM_RESULTS = "khon-kaen-ev-fast-charging"


def _session(base: str, email: str, password: str) -> dict[str, str]:
    signed_in = httpx.post(f"{base}/v1/sessions", json={"email": email, "password": password})
    assert signed_in.status_code == 201, signed_in.text
    return {"Authorization": f"Bearer {signed_in.json()['token']}"}


@pytest.fixture(scope="module")
def investor(live: dict[str, str]) -> dict[str, str]:
    """A person of a foreign fund (seeded), invited by the admin; their session token."""
    base = live["base"]
    admin = _session(base, ADMIN_EMAIL, ADMIN_PASSWORD)
    invited = httpx.post(
        f"{base}/v1/organisations/apac-urban-infrastructure-partners-pte/invitations",
        json={"email": INVESTOR_EMAIL},
        headers=admin,
    )
    assert invited.status_code == 201, invited.text
    token = invited.json()["url"].rsplit("/", 1)[1]
    accepted = httpx.post(f"{base}/v1/invitations/{token}", json={"password": INVESTOR_PASSWORD})
    assert accepted.status_code == 200, accepted.text
    return _session(base, INVESTOR_EMAIL, INVESTOR_PASSWORD)


def signed_in(browser: Any, base: str, width: int, lang: str, email: str, password: str) -> Any:
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="th-TH")
    page = context.new_page()
    page.goto(f"{base}/signin?lang={lang}")
    page.fill("#email", email)
    page.fill("#password", password)
    page.locator("#password").press("Enter")
    page.wait_for_load_state()
    return page


@pytest.fixture
def empty_shortlist(live: dict[str, str], investor: dict[str, str]) -> None:
    """Each run starts from an empty shortlist (runs share the module's server)."""
    base = live["base"]
    for entry in httpx.get(f"{base}/v1/shortlist", headers=investor).json()["data"]:
        slug = entry["listing"]["slug"]
        assert httpx.delete(f"{base}/v1/shortlist/{slug}", headers=investor).status_code == 204


def fits_the_screen(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("lang", ["en", "th"])
def test_the_admin_sets_a_rate(live: dict[str, str], browser: Any, width: int, lang: str) -> None:
    page = signed_in(browser, live["base"], width, lang, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(f"{live['base']}/admin/fx-rates?lang={lang}")
    page.select_option("#currency", "USD")
    page.fill("#thb_per_unit", "3550")  # the decimal point forgotten
    page.locator("button.primary").click()
    page.wait_for_load_state()
    assert page.locator("#thb_per_unit-error").is_visible()
    assert page.input_value("#thb_per_unit") == "3550"
    assert fits_the_screen(page)
    shot(page, f"compare-{lang}-{width}-admin-rate-refused")
    assert_no_axe_violations(page, f"exchange rates with an error, {lang}, {width} px")

    page.fill("#thb_per_unit", "35.50")
    yesterday = bangkok_date(utcnow()) - timedelta(days=1)
    page.fill("#as_of", yesterday.isoformat())
    page.locator("button.primary").click()
    page.wait_for_url("**/admin/fx-rates?notice=fx_rate_set")
    assert page.locator('[role="status"]').is_visible()
    assert "35.50" in page.locator('[data-testid="current-rates"]').inner_text()
    assert fits_the_screen(page)
    shot(page, f"compare-{lang}-{width}-admin-rates")
    assert_no_axe_violations(page, f"exchange rates, {lang}, {width} px")
    page.context.close()


def set_usd_rate(base: str) -> None:
    admin = _session(base, ADMIN_EMAIL, ADMIN_PASSWORD)
    today = bangkok_date(utcnow()).isoformat()
    rate = {"currency": "USD", "thb_per_unit": 35.5, "as_of": today}
    assert httpx.post(f"{base}/v1/fx-rates", json=rate, headers=admin).status_code == 201


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("lang", ["en", "th"])
@pytest.mark.usefixtures("empty_shortlist")
def test_an_investor_shortlists_and_compares(
    live: dict[str, str], browser: Any, width: int, lang: str
) -> None:
    base = live["base"]
    set_usd_rate(base)
    page = signed_in(browser, base, width, lang, INVESTOR_EMAIL, INVESTOR_PASSWORD)
    page.goto(f"{base}/?lang={lang}&cur=THB")  # baht only, whatever an earlier run chose

    for slug in FROM_PITCH_PAGES:
        page.goto(f"{base}/listings/{slug}")
        page.locator('[data-testid="add-to-shortlist"]').click()
        page.wait_for_url(f"**/listings/{slug}")
        assert page.locator('[data-testid="on-shortlist"]').is_visible()
    shot(page, f"compare-{lang}-{width}-pitch-page-kept")

    page.goto(f"{base}/?q=charging&lang={lang}")
    result = page.locator(
        '[data-testid="hit"]', has=page.locator(f'a[href="/listings/{FROM_RESULTS}"]')
    )
    result.locator('[data-testid="add-to-shortlist"]').click()
    page.wait_for_load_state()
    assert "q=charging" in page.url  # back on the same results
    assert result.locator('[data-testid="on-shortlist"]').is_visible()

    page.goto(f"{base}/shortlist")
    entries = page.locator('[data-testid="shortlist-entry"]')
    assert entries.count() == 3
    assert fits_the_screen(page)
    shot(page, f"compare-{lang}-{width}-shortlist")
    assert_no_axe_violations(page, f"shortlist, {lang}, {width} px")

    # One ticked is not a comparison: the page says so, and the way back.
    entries.first.locator('input[type="checkbox"]').check()
    page.locator('[data-testid="compare-ticked"]').click()
    page.wait_for_load_state()
    assert page.locator('[data-testid="compare-problem"]').is_visible()
    shot(page, f"compare-{lang}-{width}-too-few")
    assert_no_axe_violations(page, f"compare with one listing, {lang}, {width} px")

    page.goto(f"{base}/shortlist")
    for box in page.locator('[data-testid="shortlist-entry"] input[type="checkbox"]').all():
        box.check()
    page.locator('[data-testid="compare-ticked"]').click()
    page.wait_for_url("**/compare?**")
    assert page.locator('[data-testid="compared-listing"]').count() == 3

    # The reader picks US dollars in the footer: every capital gets its indicative amount.
    page.select_option("#currency-choice", "USD")
    page.locator('[data-testid="currency-selector"] button').click()
    page.wait_for_load_state()
    assert "cur=USD" in page.url
    assert page.locator('[data-testid="compared-capital"] [data-testid="indicative"]').count() == 3
    note = page.locator('[data-testid="indicative"]').first.inner_text()
    assert ("US$" in note and "indicative" in note) if lang == "en" else "ดอลลาร์สหรัฐ" in note

    assert fits_the_screen(page), "the comparison scrolls in its own box, not the page"
    region = page.locator('[data-testid="comparison"]')
    if width == 390:
        header = page.locator('[data-testid="comparison"] th[scope="row"]').first
        cell = page.locator('[data-testid="compared-capital"]').first
        before = (header.bounding_box(), cell.bounding_box())
        region.evaluate("box => { box.scrollLeft = 300; }")
        after = (header.bounding_box(), cell.bounding_box())
        assert after[0]["x"] == pytest.approx(before[0]["x"], abs=1)  # the first column holds
        assert after[1]["x"] < before[1]["x"] - 250  # the listings move under it
        shot(page, f"compare-{lang}-{width}-compare-scrolled")
        region.evaluate("box => { box.scrollLeft = 0; }")
    shot(page, f"compare-{lang}-{width}-compare")
    assert_no_axe_violations(page, f"compare, {lang}, {width} px")

    # The indicative amount is remembered on the pitch page too.
    page.goto(f"{base}/listings/{FROM_PITCH_PAGES[0]}")
    assert page.locator('[data-testid="capital"] [data-testid="indicative"]').is_visible()
    shot(page, f"compare-{lang}-{width}-pitch-page-usd")

    # Off the shortlist again, from the shortlist page.
    page.goto(f"{base}/shortlist")
    page.locator('[data-testid="remove-from-shortlist"]').first.click()
    page.wait_for_url("**/shortlist?notice=shortlist_removed")
    assert page.locator('[data-testid="shortlist-entry"]').count() == 2
    page.goto(f"{base}/?cur=THB")
    page.context.close()
