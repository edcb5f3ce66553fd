"""The meetings page of the seeded demo pitch day in Chromium, without JavaScript's help
(plain forms): an investor marks rounds and asks a listing for a meeting on a phone, the
city's staff accept it, and the organiser proposes pairs and plans the schedule; each page
checked with axe-core at 1280 and 390 px, in Thai and English, and for running off the
side of a phone. Screenshots: ``event-meetings-<who>-<lang>-<width>.png``."""

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
CITY = "nakhon-sawan-development"
INVESTOR = "chaiyaphruek-holdings"
ORGANISER = "smart-city-investment-forum"
WIDTHS = {1280: {"width": 1280, "height": 900}, 390: {"width": 390, "height": 844}}


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    root = tmp_path_factory.mktemp("event-meetings")
    env = environment(root)
    city = seeded(env, publisher_of=CITY)
    keys = {
        "city": city,
        "investor": key_of(env, INVESTOR, "investor"),
        "organiser": key_of(env, ORGANISER, "organiser"),
    }
    with serve(env, root) as base:
        yield {"base": base, **keys}


def signed_in(browser: Any, day: dict[str, str], who: str, width: int, lang: str) -> Any:
    context = browser.new_context(viewport=WIDTHS[width], locale="th-TH")
    page = context.new_page()
    form = page.request.get(f"{day['base']}/signin?lang={lang}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text())
    assert token
    signed = page.request.post(
        f"{day['base']}/signin",
        form={"api_key": day[who], "csrf_token": token.group(1)},
        max_redirects=0,
    )
    assert signed.status == 303
    return page


def check(page: Any, name: str, width: int, lang: str) -> None:
    fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert fits, f"the {name} page runs off the side at {width} px"
    shot(page, f"event-meetings-{name}-{lang}-{width}")
    assert_no_axe_violations(page, f"the meetings page of the {name}, {lang}, {width} px")


def test_investor_city_and_organiser_on_the_meetings_page(
    day: dict[str, str], browser: Any
) -> None:
    base, url = day["base"], f"{day['base']}/events/{EVENT}/meetings"

    # The investor, on a phone, in Thai: free in rounds 2 and 3 only, asks a listing.
    page = signed_in(browser, day, "investor", 390, "th")
    assert page.goto(f"{url}?lang=th").status == 200
    side = page.locator('[data-testid="side"]').first
    boxes = side.locator('input[name="round"]')
    for n in range(boxes.count()):
        boxes.nth(n).set_checked(n in (1, 2))
    side.locator('[data-testid="availability-form"] button').click()
    page.wait_for_load_state()
    assert "บันทึกรอบที่คุณว่างแล้ว" in page.locator('[data-testid="notice"]').inner_text()
    side = page.locator('[data-testid="side"]').first
    assert [side.locator('input[name="round"]').nth(n).is_checked() for n in range(3)] == [
        False,
        True,
        True,
    ]
    first = side.locator('[data-testid="other"]').first
    first.locator("summary").click()
    first.locator("textarea").fill("สนใจร่วมลงทุน ขอพบเพื่อคุยรายละเอียด")
    first.locator('button[type="submit"]').click()
    page.wait_for_load_state()
    assert "ส่งคำขอนัดพบแล้ว" in page.locator('[data-testid="notice"]').inner_text()
    check(page, "investor", 390, "th")
    page.context.close()
    page = signed_in(browser, day, "investor", 1280, "en")
    page.goto(f"{url}?lang=en")
    assert "You asked: waiting for their answer" in page.content()
    check(page, "investor", 1280, "en")
    page.context.close()

    # The city's staff see the request with its note and accept it.
    for width, lang in ((1280, "th"), (390, "en")):
        page = signed_in(browser, day, "city", width, lang)
        page.goto(f"{url}?lang={lang}")
        check(page, "city", width, lang)
        page.context.close()
    page = signed_in(browser, day, "city", 390, "th")
    page.goto(f"{url}?lang=th")
    received = page.locator('[data-testid="received"] li', has_text="สนใจร่วมลงทุน")
    assert received.count() == 1
    received.locator('form[action$="/accept"] button').click()
    page.wait_for_load_state()
    assert "คุณตอบรับคำขอนัดแล้ว" in page.locator('[data-testid="notice"]').inner_text()
    page.context.close()

    # The organiser proposes pairs by score and plans the schedule.
    page = signed_in(browser, day, "organiser", 1280, "en")
    page.goto(f"{url}?lang=en")
    page.fill("#min_score", "30")
    page.fill("#per_participant", "2")
    page.locator('[data-testid="propose-form"] button').click()
    page.wait_for_load_state()
    assert "Pairs proposed by score" in page.locator('[data-testid="notice"]').inner_text()
    page.locator('[data-testid="plan-form"] button').click()
    page.wait_for_load_state()
    assert "The meetings are planned" in page.locator('[data-testid="notice"]').inner_text()
    assert re.search(r"\d+\.\d%", page.locator('[data-testid="quality"]').inner_text())
    check(page, "organiser", 1280, "en")
    page.context.close()
    page = signed_in(browser, day, "organiser", 390, "th")
    page.goto(f"{url}?lang=th")
    check(page, "organiser", 390, "th")
    # The accepted request is on the event's schedule.
    event = page.request.get(f"{base}/v1/events/{EVENT}").json()
    assert "request" in {m["source"] for m in event["meetings"]}
    page.context.close()
