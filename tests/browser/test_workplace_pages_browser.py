"""Every page of the workplace, walked in Chromium as the people it serves, in Thai and
English, at 1280 and 390 px: it answers, nothing runs off the side of a phone, and a
Thai page shows no English status or validation sentence. Screenshots:
``walk-<lang>-<width>-<page>.png``."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.test_thai_all_the_way import PYDANTIC, english_values_in, visible
from tests.browser.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    BROWSER_TESTS,
    PUBLISHER_EMAIL,
    PUBLISHER_PASSWORD,
    shot,
)

pytestmark = BROWSER_TESTS
LISTING = "patong-electric-beach-shuttle"  # published by Patong, whose staff sign in
PUBLISHER_PAGES = {
    "dashboard": "/dashboard",
    "new-listing": "/dashboard/listings/new",
    "edit": f"/dashboard/listings/{LISTING}/edit",
    "publish": "/dashboard/listings/patong-smart-beach-safety/publish",
    "checkpoints": f"/dashboard/listings/{LISTING}/checkpoints",
    "audience": f"/dashboard/listings/{LISTING}/analytics",
    "investors": f"/dashboard/listings/{LISTING}/investors",
    "import": "/dashboard/import",
    "organisation": "/organisation",
}
ADMIN_PAGES = {"organisations": "/admin/organisations", "jobs": "/admin/jobs"}
PUBLIC_PAGES = {"signin": "/signin", "password-reset": "/password-reset"}


def signed_in(browser: Any, base: str, width: int, lang: str, email: str, password: str) -> Any:
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="th-TH")
    page = context.new_page()
    page.goto(f"{base}/signin?lang={lang}")
    page.fill("#email", email)
    page.fill("#password", password)
    page.locator("#password").press("Enter")
    page.wait_for_load_state()
    return page


def walk(page: Any, base: str, pages: dict[str, str], lang: str, width: int) -> None:
    for name, path in pages.items():
        response = page.goto(base + path)
        assert response is not None
        assert response.status == 200, (path, response.status)
        fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        assert fits, f"{path} runs off the side at {width} px"
        if lang == "th":
            text = visible(page.content())
            assert english_values_in(text) == set(), path
            assert not any(sentence in text for sentence in PYDANTIC), path
        shot(page, f"walk-{lang}-{width}-{name}")


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("lang", ["th", "en"])
def test_the_workplace_pages(live: dict[str, str], browser: Any, lang: str, width: int) -> None:
    base = live["base"]
    publisher = signed_in(browser, base, width, lang, PUBLISHER_EMAIL, PUBLISHER_PASSWORD)
    walk(publisher, base, PUBLISHER_PAGES, lang, width)
    publisher.context.close()
    admin = signed_in(browser, base, width, lang, ADMIN_EMAIL, ADMIN_PASSWORD)
    walk(admin, base, ADMIN_PAGES, lang, width)
    admin.context.close()
    visitor = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    visitor.goto(f"{base}/?lang={lang}")
    walk(visitor, base, PUBLIC_PAGES, lang, width)
    visitor.context.close()


def test_a_refused_listing_keeps_what_was_typed_on_a_phone(
    live: dict[str, str], browser: Any
) -> None:
    page = signed_in(browser, live["base"], 390, "th", PUBLISHER_EMAIL, PUBLISHER_PASSWORD)
    page.goto(live["base"] + "/dashboard/listings/new")
    page.fill("#title_en", "Beach kiosk")
    page.fill("#capital_min_thb", "500000")
    page.fill("#how_to_invest-0-title_th", "ขอใบอนุญาต")
    page.click('button[value="save"]')
    page.wait_for_load_state()
    assert page.input_value("#title_en") == "Beach kiosk"
    assert page.input_value("#capital_min_thb") == "500000"
    assert page.input_value("#how_to_invest-0-title_th") == "ขอใบอนุญาต"
    assert page.locator("#title_th-error").inner_text() == "กรุณากรอกช่องนี้"
    shot(page, "walk-th-390-new-listing-refused")
    page.context.close()
