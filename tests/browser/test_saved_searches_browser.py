"""Saved searches in Chromium: a person saves the catalogue's query from its form, finds
it on the saved-searches page with its feed address, and opens it; axe-core finds no
violation on either page, in Thai and English, at 1280 and 390 px, and nothing runs off
the side of a phone. Screenshots: ``saved-<lang>-<width>-<page>.png``."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.test_thai_all_the_way import english_values_in, visible
from tests.browser.axe import assert_no_axe_violations
from tests.browser.conftest import BROWSER_TESTS, PUBLISHER_EMAIL, PUBLISHER_PASSWORD, shot

pytestmark = BROWSER_TESTS


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("lang", ["th", "en"])
def test_saving_a_search_and_reading_it(
    live: dict[str, str], browser: Any, lang: str, width: int
) -> None:
    base = live["base"]
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="th-TH")
    page = context.new_page()
    page.goto(f"{base}/signin?lang={lang}")
    page.fill("#email", PUBLISHER_EMAIL)
    page.fill("#password", PUBLISHER_PASSWORD)
    page.locator("#password").press("Enter")
    page.wait_for_load_state()

    page.goto(f"{base}/?q=ลูกชิ้น&lang={lang}")
    shot(page, f"saved-{lang}-{width}-catalogue")
    name = f"Fish balls {lang} {width}"
    page.locator("details.save-search summary").click()  # folded until opened
    page.fill("#save-search-name", name)
    page.locator("[data-testid=save-search] button[type=submit]").click()
    page.wait_for_url("**/saved-searches?notice=saved_search_created*")
    card = page.locator("[data-testid=saved-search]", has_text=name)
    assert card.count() == 1
    assert "/feeds/" in card.locator("[data-testid=feed-url]").input_value()
    for name_of_page in ("list", "search"):
        if name_of_page == "search":
            card.locator("h2 a").click()
            page.wait_for_load_state()
            assert page.locator("[data-testid=saved-hit]").count() >= 1
        fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        assert fits, f"{name_of_page} runs off the side at {width} px"
        if lang == "th":
            assert english_values_in(visible(page.content())) == set()
        assert_no_axe_violations(page, f"saved searches ({name_of_page}), {lang}, {width} px")
        shot(page, f"saved-{lang}-{width}-{name_of_page}")
    context.close()
