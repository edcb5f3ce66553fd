"""Choosing who pitches at the seeded demo pitch day in Chromium, with plain forms: the
organiser adds the Nakhon Sawan listings to the pool on a phone, pins one, and runs the
selection; the plan with its reasons, each page checked with axe-core at 1280 and 390 px
in Thai and English, and for running off the side of a phone. Screenshots:
``event-selection-<lang>-<width>.png``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.axe import assert_no_axe_violations
from tests.browser.conftest import BROWSER_TESTS, shot
from tests.live import environment, key_of, seeded, serve

pytestmark = BROWSER_TESTS
EVENT = "nakhon-sawan-pitch-day-2027"
ORGANISER = "smart-city-investment-forum"
WIDTHS = {1280: {"width": 1280, "height": 900}, 390: {"width": 390, "height": 844}}


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    root = tmp_path_factory.mktemp("event-selection")
    env = environment(root)
    seeded(env, publisher_of="nakhon-sawan-development")
    key = key_of(env, ORGANISER, "organiser")
    with serve(env, root) as base:
        yield {"base": base, "key": key}


def signed_in(browser: Any, day: dict[str, str], width: int, lang: str) -> Any:
    context = browser.new_context(viewport=WIDTHS[width], locale="th-TH")
    page = context.new_page()
    form = page.request.get(f"{day['base']}/signin?lang={lang}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text())
    assert token
    signed = page.request.post(
        f"{day['base']}/signin",
        form={"api_key": day["key"], "csrf_token": token.group(1)},
        max_redirects=0,
    )
    assert signed.status == 303
    return page


def check(page: Any, width: int, lang: str) -> None:
    fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert fits, f"the selection page runs off the side at {width} px"
    shot(page, f"event-selection-{lang}-{width}")
    assert_no_axe_violations(page, f"the selection page, {lang}, {width} px")


def test_the_organiser_chooses_who_pitches_on_a_phone(day: dict[str, str], browser: Any) -> None:
    url = f"{day['base']}/events/{EVENT}/selection"
    page = signed_in(browser, day, 390, "th")
    assert page.goto(f"{day['base']}/events/{EVENT}?lang=th").status == 200
    page.locator('[data-testid="selection-link"]').click()
    page.wait_for_url(re.compile(r"/selection"))

    page.select_option("#city", "nakhon-sawan")
    page.locator("#add button[type=submit]").click()
    page.wait_for_url(re.compile(r"notice=pool_saved"))
    candidates = page.locator('[data-testid="candidate"]')
    assert candidates.count() >= 2
    candidates.first.locator('input[name="pin"]').check()
    page.locator("#pool button[type=submit]").click()
    page.wait_for_url(re.compile(r"notice=pool_saved"))
    assert page.locator('[data-testid="candidate"] input[name="pin"]:checked').count() == 1

    page.fill("#max_per_publisher", "3")
    page.locator('[data-testid="choose"]').click()
    page.wait_for_url(re.compile(r"notice=plan_made"))
    plan = page.locator('[data-testid="plan"]')
    assert plan.locator('[data-testid="chosen"]').count() >= 1
    assert "ผู้จัดงานปักหมุดให้นำเสนอ" in plan.inner_text()
    for lang in ("th", "en"):
        for width in WIDTHS:
            view = signed_in(browser, day, width, lang)
            assert view.goto(f"{url}?lang={lang}").status == 200
            check(view, width, lang)
            view.context.close()
    page.context.close()
