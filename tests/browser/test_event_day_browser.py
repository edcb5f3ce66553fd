"""The pitch day on a phone (390 px), in Chromium, on the seeded demo pitch day held
today: a city's agenda as its staff open it at the venue, and the organiser's check-in
desk, agenda with its outcome form, and figures; each checked with axe-core, in Thai and
English. Screenshots: ``event-day-<lang>-<page>.png``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from core.db import utcnow
from core.formatting import bangkok_date
from tests.browser.axe import assert_no_axe_violations
from tests.browser.conftest import BROWSER_TESTS, shot
from tests.live import environment, key_of, seeded, serve

pytestmark = BROWSER_TESTS
EVENT = "nakhon-sawan-pitch-day-2027"
CITY = "nakhon-sawan-development"
ORGANISER = "smart-city-investment-forum"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The seeded app, its demo pitch day moved to today and its schedule published."""
    root = tmp_path_factory.mktemp("event-day")
    env = environment(root)
    city_key = seeded(env, publisher_of=CITY)
    organiser_key = key_of(env, ORGANISER, "organiser")
    with serve(env, root) as base:
        organiser = {"Authorization": f"Bearer {organiser_key}"}
        url = f"{base}/v1/events/{EVENT}"
        current = httpx.get(url, headers=organiser, timeout=10)
        assert current.status_code == 200, current.text
        today = bangkok_date(utcnow()).isoformat()
        moved = httpx.patch(
            url,
            json={"held_on": today, "registration_deadline": today},
            headers=organiser | {"If-Match": current.headers["ETag"]},
            timeout=10,
        )
        assert moved.status_code == 200, moved.text
        published = httpx.post(
            f"{url}/schedule/publication",
            headers=organiser | {"If-Match": moved.headers["ETag"]},
            timeout=10,
        )
        assert published.status_code == 200, published.text
        yield {"base": base, "city": city_key, "organiser": organiser_key}


def phone(browser: Any, base: str, key: str, lang: str) -> Any:
    """A phone-sized page signed in with an organisation's key, reading ``lang``."""
    context = browser.new_context(viewport=PHONE, locale="th-TH")
    page = context.new_page()
    form = page.request.get(f"{base}/signin?lang={lang}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text())
    assert token
    signed = page.request.post(
        f"{base}/signin", form={"api_key": key, "csrf_token": token.group(1)}, max_redirects=0
    )
    assert signed.status == 303
    return page


def fits(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


@pytest.mark.parametrize("lang", ["th", "en"])
def test_a_citys_agenda_on_a_phone(day: dict[str, str], browser: Any, lang: str) -> None:
    page = phone(browser, day["base"], day["city"], lang)
    response = page.goto(f"{day['base']}/events/{EVENT}/agenda?lang={lang}")
    assert response is not None
    assert response.status == 200
    rows = page.locator('[data-testid="agenda-meeting"]')
    assert rows.count() > 0
    first_time = rows.first.locator(".agenda-time time").inner_text()
    assert re.fullmatch(r"\d\d:\d\d", first_time)
    # Large, readable rows: the time is at least 24 px, a row spans the phone's width.
    size = rows.first.locator(".agenda-time").evaluate(
        "e => parseFloat(getComputedStyle(e).fontSize)"
    )
    assert size >= 24
    assert page.locator('[data-testid="feed-url"]').input_value().endswith(".ics")
    assert fits(page), "the agenda runs off the side of a phone"
    shot(page, f"event-day-{lang}-agenda")
    assert_no_axe_violations(page, f"a city's agenda, {lang}, 390 px")
    page.context.close()


@pytest.mark.parametrize("lang", ["th", "en"])
def test_the_organisers_desk_agenda_and_figures_on_a_phone(
    day: dict[str, str], browser: Any, lang: str
) -> None:
    base = day["base"]
    page = phone(browser, base, day["organiser"], lang)
    page.goto(f"{base}/events/{EVENT}/check-in?lang={lang}")
    rows = page.locator('[data-testid="desk-row"]')
    everyone = rows.count()
    assert everyone > 0
    name = rows.first.locator(".who-name").inner_text()
    page.fill("#q", name.split()[0])
    page.locator("form.search button").click()
    page.wait_for_load_state()
    assert 0 < page.locator('[data-testid="desk-row"]').count() <= everyone
    toggle = page.locator('[data-testid="desk-row"]').first.locator("button.toggle")
    before = toggle.get_attribute("aria-pressed")
    height = toggle.evaluate("e => e.getBoundingClientRect().height")
    assert height >= 44  # a target a thumb hits
    toggle.click()
    page.wait_for_load_state()
    after = page.locator('[data-testid="desk-row"]').first.locator("button.toggle")
    assert after.get_attribute("aria-pressed") != before
    assert fits(page), "the check-in desk runs off the side of a phone"
    shot(page, f"event-day-{lang}-check-in")
    assert_no_axe_violations(page, f"the check-in desk, {lang}, 390 px")

    page.goto(f"{base}/events/{EVENT}/agenda?lang={lang}")
    forms = page.locator('[data-testid="outcome-form"]')
    assert forms.count() > 0  # the day has come: outcomes are recorded here
    forms.first.locator("summary").click()
    assert fits(page), "the organiser's agenda runs off the side of a phone"
    shot(page, f"event-day-{lang}-agenda-organiser")
    assert_no_axe_violations(page, f"the organiser's agenda, {lang}, 390 px")

    page.goto(f"{base}/events/{EVENT}/figures?lang={lang}")
    assert page.locator('[data-testid="totals"]').is_visible()
    assert fits(page), "the figures run off the side of a phone"
    shot(page, f"event-day-{lang}-figures")
    assert_no_axe_violations(page, f"the day's figures, {lang}, 390 px")
    page.context.close()
