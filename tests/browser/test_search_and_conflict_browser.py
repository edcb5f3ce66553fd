"""Searching as a visitor types, a long question in English, and the stale-edit conflict
page in Thai on a phone, in a real browser.

Headless Chromium from Debian, driven by Playwright, as in ``test_portal_browser.py``; the
module serves its own seeded database (the last test edits a draft of Patong, so it stays
last). Screenshots go to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from api.i18n import Lang, translations
from tests.browser.conftest import BROWSER_TESTS, DRAFT, shot, sign_in, stored_draft

pytestmark = BROWSER_TESTS

PHONE = {"width": 390, "height": 844}
FISH_BALLS = "ลูกชิ้น"  # in the Thai title of the seeded nakhon-sawan-fish-ball-factory
FISH_BALL_FACTORY = "nakhon-sawan-fish-ball-factory"
# A question as a visitor would write it: stop words, and more words than any listing has.
QUESTION = (
    "where can I invest in a factory making fish balls from freshwater fish "
    "for noodle shops in the lower North"
)
SLUG = DRAFT
# The portal's English for what this test looks at (message ids of the gettext catalogue).
UI = {
    "conflict_title": "Someone else changed this listing while you were editing",
    "conflict_help": (
        "Your changes are not saved yet. Check each field changed meanwhile, "
        "choose which value to keep, then save again."
    ),
    "conflict_none": "None of the fields on this form conflict; save again to confirm.",
    "value_before": "Before",
    "value_theirs": "Saved by someone else",
    "value_mine": "What you typed",
    "take_theirs": "Take theirs",
    "keep_mine": "Keep mine",
    "choose_one": "Choose which value to keep",
    "save": "Save",
    "title_th": "Title (Thai)",
    "title_en": "Title (English)",
    "summary_th": "Summary (Thai)",
    "summary_en": "Summary (English)",
    "showing_results_for": "Showing results for",
    "words_left_out": "words left out",
    "most_words_first": "no listing has every word: those with the most come first",
}
# What the conflict page says in English: none of it may show on the Thai page.
ENGLISH_UI = ["Someone else changed", "Take theirs", "Keep mine", "Before", *UI.values()]
THAI = translations(Lang.th)

# Elements inside the conflict section whose right edge is beyond the viewport.
_WIDER_THAN_VIEWPORT = """() => {
  const width = document.documentElement.clientWidth;
  const section = '[data-testid="conflict"]';
  return Array.from(document.querySelectorAll(section + ', ' + section + ' *'))
    .map((e) => [e, e.getBoundingClientRect()])
    .filter(([e, box]) => box.right > width + 0.5 || box.left < -0.5)
    .map(([e, box]) => e.tagName.toLowerCase() + (e.dataset.field ? '.' + e.dataset.field : '')
      + (e.dataset.testid ? '[' + e.dataset.testid + ']' : '')
      + ' left=' + Math.round(box.left) + ' right=' + Math.round(box.right));
}"""
# The conflict section's own text: its headings, help, labels and buttons, without the
# values compared (a Thai value may well hold a Latin word, such as "AI").
_CONFLICT_UI_TEXT = """() => {
  const copy = document.querySelector('[data-testid="conflict"]').cloneNode(true);
  copy.querySelectorAll('dd').forEach((dd) => dd.remove());
  document.body.appendChild(copy);
  const text = copy.innerText;
  copy.remove();
  return text;
}"""


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    """A phone's browser in Thailand: one context, so its tabs share the session cookie."""
    context = browser.new_context(viewport=PHONE, locale="th-TH")
    yield context
    context.close()


def _first_hit(page: Any) -> Any:
    return page.locator('[data-testid="hit"] h3 a').first


def _fits_the_width(page: Any) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide on a {PHONE['width']}px phone"


def test_suggestions_as_you_type_in_thai(live: dict[str, str], page: Any, phone: Any) -> None:
    suggested = httpx.get(
        f"{live['base']}/v1/suggest", params={"q": "ลูกชิ้", "limit": 8}, timeout=10
    ).json()
    assert any(FISH_BALLS in item["label_th"] for item in suggested["data"]), suggested

    page.goto(live["base"] + "/")
    assert page.locator("html").get_attribute("lang") == "th"
    assert page.locator("#q").get_attribute("list") == "suggestions"  # the script ran
    page.locator("#q").press_sequentially("ลูกชิ้", delay=60)
    # Answers to the earlier keystrokes may still replace the list: wait for the one to
    # the last, then read every option in one go.
    page.wait_for_function(
        "word => [...document.querySelectorAll('#suggestions option')]"
        ".some(option => option.value.includes(word))",
        arg=FISH_BALLS,
        timeout=10_000,
    )
    values = page.eval_on_selector_all("#suggestions option", "all => all.map(o => o.value)")
    assert any(FISH_BALLS in value for value in values), values
    shot(page, "suggest-typing-th")

    page.press("#q", "Enter")
    page.wait_for_url("**q=*")
    assert page.input_value("#q") == "ลูกชิ้"
    assert FISH_BALLS in _first_hit(page).inner_text()
    shot(page, "suggest-results-th")

    # On a phone: the search box fits the screen and takes typing; the first hit shows.
    mobile = phone.new_page()
    mobile.goto(live["base"] + "/")
    box = mobile.locator("#q")
    assert box.is_visible()
    assert box.is_editable()
    bounds = box.bounding_box()
    assert bounds is not None
    assert bounds["x"] >= 0
    assert bounds["x"] + bounds["width"] <= PHONE["width"]
    assert bounds["width"] >= 150, bounds  # wide enough to type into
    assert mobile.locator('.searchbar button[type="submit"]').is_visible()
    box.click()
    box.press_sequentially("ลูกชิ้", delay=60)
    mobile.wait_for_function(
        "() => document.querySelectorAll('#suggestions option').length > 0", timeout=10_000
    )
    box.press("Enter")
    mobile.wait_for_url("**q=*")
    first = _first_hit(mobile)
    assert first.is_visible()
    assert FISH_BALLS in first.inner_text()
    first.scroll_into_view_if_needed()
    hit = first.bounding_box()
    assert hit is not None
    assert hit["x"] >= 0
    assert hit["x"] + hit["width"] <= PHONE["width"]
    _fits_the_width(mobile)
    shot(mobile, "suggest-results-th-phone")


def test_a_long_question_in_english(live: dict[str, str], page: Any) -> None:
    answer = httpx.get(f"{live['base']}/v1/search", params={"q": QUESTION}, timeout=10).json()
    assert answer["hits"][0]["listing"]["slug"] == FISH_BALL_FACTORY, answer["hits"][0]
    assert answer["all_words_matched"] is False
    left_out = answer["dropped_words"]
    assert {"where", "the"} <= set(left_out), left_out

    page.goto(live["base"] + "/?" + str(httpx.QueryParams({"lang": "en", "q": QUESTION})))
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.input_value("#q") == QUESTION
    words = page.locator('[data-testid="query-words"]')
    assert words.is_visible()
    said = words.inner_text()
    assert UI["showing_results_for"] in said, said
    assert UI["words_left_out"] in said, said
    assert UI["most_words_first"] in said, said
    struck = words.locator("s").inner_text().split()
    assert set(left_out) <= set(struck), (left_out, struck)
    searched = words.locator("strong").inner_text().split()
    assert {"fish", "freshwater", "noodle"} <= set(searched), searched
    assert not {"where", "the", "a"} & set(searched), searched
    first = _first_hit(page)
    assert first.get_attribute("href") == f"/listings/{FISH_BALL_FACTORY}"
    assert "Fish-ball factory" in first.inner_text()
    shot(page, "long-question-en")


def _open_editor(live: dict[str, str], page: Any) -> None:
    response = page.goto(f"{live['base']}/dashboard/listings/{SLUG}/edit")
    assert response is not None
    assert response.status == 200, response.text()
    assert page.locator("html").get_attribute("lang") == "th"
    assert page.locator('[data-testid="conflict"]').count() == 0


def _save(page: Any) -> int:
    """Press save and wait for the page it leads to; the status of the answer to the POST
    (303 when saved, 409 for the conflict page, which has the form's URL)."""
    with (
        page.expect_response(
            lambda r: r.request.method == "POST" and r.url.endswith(f"/listings/{SLUG}/edit")
        ) as answer,
        page.expect_navigation(),
    ):
        page.click("button.primary")
    status: int = answer.value.status
    return status


def test_the_conflict_page_in_thai_on_a_phone(live: dict[str, str], phone: Any) -> None:
    before = stored_draft(live)
    assert before["status"] == "draft"
    summary_a = "กล้อง AI ตรวจจับกระแสน้ำย้อนกลับ พร้อมแอปเรียกไลฟ์การ์ดและจอเตือนภัยริมหาดป่าตอง"
    title_b = "ระบบความปลอดภัยชายหาดป่าตอง (แก้ไขจากแท็บที่สอง)"
    assert summary_a != before["summary_th"]
    assert title_b != before["title_th"]

    tab_a = phone.new_page()
    sign_in(tab_a, live, lang=None)
    assert tab_a.locator("html").get_attribute("lang") == "th"
    tab_b = phone.new_page()
    _open_editor(live, tab_a)
    _open_editor(live, tab_b)

    tab_a.fill("#summary_th", summary_a)
    assert _save(tab_a) == 303
    tab_a.wait_for_url("**/dashboard?notice=saved")
    assert stored_draft(live)["summary_th"] == summary_a

    tab_b.fill("#title_th", title_b)
    assert _save(tab_b) == 409, tab_b.content()
    conflict = tab_b.locator('[data-testid="conflict"]')
    assert conflict.is_visible(), tab_b.content()
    shot(tab_b, "edit-conflict-th-phone")
    summary = conflict.locator('fieldset[data-field="summary_th"]')
    assert summary.count() == 1, conflict.inner_html()
    assert summary.locator('dd[data-testid="theirs"]').inner_text().strip() == summary_a
    assert conflict.locator('fieldset[data-field="title_th"]').count() == 0
    assert tab_b.input_value("#title_th") == title_b

    # In Thai, all of it: the English of the same page shows nowhere.
    text = tab_b.locator("main").inner_text()
    shown = [english for english in ENGLISH_UI if english in text]
    assert not shown, (shown, conflict.inner_html())
    for key in ("conflict_title", "conflict_help", "take_theirs", "keep_mine"):
        assert THAI.gettext(UI[key]) in conflict.inner_text(), (key, conflict.inner_html())
    ui_text = tab_b.evaluate(_CONFLICT_UI_TEXT)
    latin = re.findall(r"[A-Za-z]{2,}", ui_text)
    assert not latin, (latin, conflict.inner_html())

    # Nothing wider than the phone.
    wider = tab_b.evaluate(_WIDER_THAN_VIEWPORT)
    assert not wider, (wider, conflict.inner_html())
    _fits_the_width(tab_b)

    # Save again: theirs is preselected for the summary; both changes are kept.
    assert tab_b.locator('input[name="resolve_summary_th"][value="theirs"]').is_checked()
    assert _save(tab_b) == 303
    tab_b.wait_for_url("**/dashboard?notice=saved")
    stored = stored_draft(live)
    assert stored["title_th"] == title_b
    assert stored["summary_th"] == summary_a
