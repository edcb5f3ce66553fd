"""The catalogue on a phone (390 x 844) and on a laptop, in Chromium: the first result above
the fold in Thai and in English, the filters folded into one control, readable facet
counts in every state (axe-core), a ticket range in reverse explained beside its box
while the results stay, and the list of cities. Screenshots go to
``test-artifacts/screenshots/phone-*.png``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.axe import assert_no_axe_violations
from tests.browser.conftest import BROWSER_TESTS, shot

pytestmark = BROWSER_TESTS

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 900}
SELECTED = 'a[data-facet="kind"][aria-current="true"]'
UNSELECTED = 'a[data-facet="sector"][aria-current="false"]'


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=PHONE, device_scale_factor=1, is_mobile=True)
    yield context.new_page()
    context.close()


@pytest.fixture
def laptop(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=LAPTOP)
    yield context.new_page()
    context.close()


def first_result_top(page: Any) -> float:
    """Where the first result starts, in CSS pixels from the top of the page."""
    box = page.locator('[data-testid="hit"]').first.bounding_box()
    assert box is not None, "no result on the page"
    return float(box["y"])


def first_title_bottom(page: Any) -> float:
    box = page.locator('[data-testid="hit"] h3').first.bounding_box()
    assert box is not None
    return float(box["y"] + box["height"])


@pytest.mark.parametrize("lang", ["th", "en"])
def test_the_first_result_is_above_the_fold_on_a_phone(
    live: dict[str, str], phone: Any, lang: str
) -> None:
    phone.goto(f"{live['base']}/?lang={lang}")
    top = first_result_top(phone)
    assert first_title_bottom(phone) <= PHONE["height"], f"first result starts at {top:.0f} px"
    assert not phone.locator("#sort").is_visible()  # folded away
    assert not phone.locator('a[data-facet="kind"]').first.is_visible()
    shot(phone, f"phone-catalogue-{lang}")

    # A filter chosen on a phone: the control stays folded, says so, the result stays up.
    phone.locator('[data-testid="filters"] > summary').click()
    assert phone.locator("#sort").is_visible()
    phone.locator('a[data-facet="kind"][data-value="trade"]').click()
    phone.wait_for_url("**kind=trade*")
    assert not phone.locator('a[data-facet="kind"]').first.is_visible()
    summary = phone.locator('[data-testid="filters"] > summary').inner_text()
    assert ("เลือกไว้ 1" if lang == "th" else "1 chosen") in summary
    assert first_title_bottom(phone) <= PHONE["height"]


def test_the_filters_always_show_on_a_wide_screen(live: dict[str, str], laptop: Any) -> None:
    laptop.goto(f"{live['base']}/?lang=en")
    assert laptop.locator("#sort").is_visible()
    assert laptop.locator('a[data-facet="kind"]').first.is_visible()
    assert laptop.locator("#capital_max").is_visible()
    assert not laptop.locator('[data-testid="filters"] > summary').is_visible()
    assert first_result_top(laptop) < LAPTOP["height"] / 2  # beside the filters, not below


@pytest.mark.parametrize("lang", ["th", "en"])
@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["390px", "1280px"])
def test_every_facet_state_is_readable(
    live: dict[str, str], browser: Any, lang: str, viewport: dict[str, int]
) -> None:
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    try:
        page.goto(f"{live['base']}/?lang={lang}&kind=trade")
        where = f"the catalogue with a facet chosen, {lang}, {viewport['width']} px"
        assert_no_axe_violations(page, where)  # the whole page, folded on a phone
        summary = page.locator('[data-testid="filters"] > summary')
        if summary.is_visible():
            summary.click()
        count = page.locator(f"{SELECTED} .count")
        assert count.evaluate("e => getComputedStyle(e).color") == "rgb(255, 255, 255)"
        for state, target in [
            ("open", None),
            ("the chosen facet hovered", SELECTED),
            ("another facet hovered", UNSELECTED),
            ("the chosen facet focused", SELECTED),
        ]:
            if target is not None and "focused" in state:
                page.locator(target).first.focus()
            elif target is not None:
                page.locator(target).first.hover()
            assert_no_axe_violations(page, f"{where}, filters {state}", rules=["color-contrast"])
        shot(page, f"phone-facets-{lang}-{viewport['width']}")
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["th", "en"])
def test_a_ticket_range_in_reverse_is_explained_and_the_results_stay(
    live: dict[str, str], phone: Any, lang: str
) -> None:
    phone.goto(f"{live['base']}/?lang={lang}")
    everything = int(phone.locator('[data-testid="result-count"]').inner_text())
    phone.locator('[data-testid="filters"] > summary').click()
    phone.fill("#capital_min", "20000000")
    phone.fill("#capital_max", "5000000")
    phone.locator("#capital_max").press("Enter")
    phone.wait_for_url("**capital_max=5000000*")
    error = phone.locator('[data-testid="capital_max-error"]')
    assert error.is_visible()  # the control opened by itself to show it
    box = error.bounding_box()
    bottom = box["y"] + box["height"]
    assert bottom <= PHONE["height"], f"the error ends at {bottom:.0f} px"  # seen at once
    expected = "ค่า “ถึง” น้อยกว่าค่า “ตั้งแต่”" if lang == "th" else "“To” is below “From”"
    assert expected in error.inner_text()
    assert phone.locator("#capital_max").get_attribute("aria-describedby") == error.get_attribute(
        "id"
    )
    assert phone.locator("#capital_min").input_value() == "20000000"  # as typed
    assert int(phone.locator('[data-testid="result-count"]').inner_text()) == everything
    assert phone.locator('[data-testid="hit"]').count() > 0
    assert_no_axe_violations(phone, f"the catalogue with a ticket range in reverse, {lang}")
    shot(phone, f"phone-ticket-reversed-{lang}")

    phone.fill("#capital_max", "")  # put right: the range now narrows the search
    phone.locator("#capital_max").press("Enter")
    phone.wait_for_url(lambda url: "capital_max=5000000" not in url)
    assert not phone.locator('[data-testid="capital_max-error"]').count()
    assert int(phone.locator('[data-testid="result-count"]').inner_text()) < everything


@pytest.mark.parametrize("lang", ["th", "en"])
@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["390px", "1280px"])
def test_the_cities_page(
    live: dict[str, str], browser: Any, lang: str, viewport: dict[str, int]
) -> None:
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    try:
        page.goto(f"{live['base']}/?lang={lang}")
        page.locator('header a[href="/cities"]').click()
        page.wait_for_url("**/cities")
        cities = page.locator('[data-testid="city"]')
        assert cities.count() == 10  # every city of the programme
        patong = page.locator('[data-slug="patong"]')
        assert ("ป่าตอง" if lang == "th" else "Patong") in patong.locator("h2").inner_text()
        assert ("ภูเก็ต" if lang == "th" else "Phuket") in patong.inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        assert_no_axe_violations(page, f"the cities, {lang}, {viewport['width']} px")
        shot(page, f"phone-cities-{lang}-{viewport['width']}")
        patong.locator("h2 a").click()
        page.wait_for_url("**/cities/patong")
    finally:
        context.close()
