"""Two tabs editing the same listing in a real browser: a save made from an older version
never overwrites what the other tab saved meanwhile (the lost update); the editor sees the
conflict field by field and chooses.

Headless Chromium from Debian, driven by Playwright, as in ``test_portal_browser.py``; the
module serves its own seeded database. Screenshots go to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import BROWSER_TESTS, DRAFT, shot, sign_in, stored_draft

SLUG = DRAFT

pytestmark = BROWSER_TESTS


def _sign_in(live: dict[str, str], page: Any) -> None:
    sign_in(page, live)


def _open_editor(live: dict[str, str], page: Any) -> None:
    response = page.goto(f"{live['base']}/dashboard/listings/{SLUG}/edit")
    assert response is not None
    assert response.status == 200, response.text()
    assert page.locator("button.primary").is_visible()
    assert page.locator('[data-testid="conflict"]').count() == 0


def _save(page: Any) -> int:
    """Press save and wait for the page it leads to (the conflict page has the same URL
    as the form, so wait for the navigation, not a URL); the status of the answer to the
    POST (303 when saved)."""
    with (
        page.expect_response(
            lambda r: r.request.method == "POST" and r.url.endswith(f"/listings/{SLUG}/edit")
        ) as answer,
        page.expect_navigation(),
    ):
        page.click("button.primary")
    status: int = answer.value.status
    return status


def _save_expecting_saved(page: Any) -> None:
    status = _save(page)
    page.wait_for_url("**/dashboard?notice=saved")
    assert status == 303


def _save_expecting_conflict(page: Any) -> None:
    status = _save(page)
    conflict = page.locator('[data-testid="conflict"]')
    assert status == 409, page.content()
    assert conflict.is_visible(), page.content()


def _fieldset(page: Any, name: str) -> Any:
    return page.locator(f'[data-testid="conflict"] fieldset[data-field="{name}"]')


def _radio(page: Any, name: str, choice: str) -> Any:
    return page.locator(f'input[name="resolve_{name}"][value="{choice}"]')


def test_a_stale_tab_never_overwrites_the_other_tabs_save(
    live: dict[str, str], context: Any
) -> None:
    before = stored_draft(live)
    assert before["status"] == "draft"
    old_summary = before["summary_en"]
    old_title = before["title_en"]
    summary_a = "Tab A: AI cameras, rip-current alerts and a lifeguard dispatch app."
    title_b = "Tab B: Patong smart beach safety"
    assert summary_a != old_summary
    assert title_b != old_title

    tab_a = context.new_page()
    _sign_in(live, tab_a)
    tab_b = context.new_page()

    # 1) Both tabs open the same version of the draft.
    _open_editor(live, tab_a)
    _open_editor(live, tab_b)
    assert tab_a.input_value("#summary_en") == old_summary
    assert tab_b.input_value("#title_en") == old_title

    # 2) Tab A changes the summary and saves.
    tab_a.fill("#summary_en", summary_a)
    _save_expecting_saved(tab_a)
    stored = stored_draft(live)
    assert stored["summary_en"] == summary_a
    assert stored["title_en"] == old_title

    # 3) Tab B, still on the old version, changes the title and saves: nothing is saved;
    # it sees what tab A changed, and keeps what it typed.
    tab_b.fill("#title_en", title_b)
    _save_expecting_conflict(tab_b)
    summary = _fieldset(tab_b, "summary_en")
    assert summary.count() == 1, tab_b.locator('[data-testid="conflict"]').inner_html()
    assert summary.locator('dd[data-testid="old"]').inner_text().strip() == old_summary
    assert summary.locator('dd[data-testid="theirs"]').inner_text().strip() == summary_a
    assert summary.locator('dd[data-testid="mine"]').inner_text().strip() == old_summary
    assert _radio(tab_b, "summary_en", "theirs").is_checked()
    assert not _radio(tab_b, "summary_en", "mine").is_checked()
    assert _fieldset(tab_b, "title_en").count() == 0  # only tab B changed it: no conflict
    assert tab_b.input_value("#title_en") == title_b
    stored = stored_draft(live)
    assert stored["summary_en"] == summary_a
    assert stored["title_en"] == old_title
    shot(tab_b, "edit-conflict-summary")

    # 4) Tab B saves again, taking tab A's summary (preselected): both changes are kept.
    _save_expecting_saved(tab_b)
    stored = stored_draft(live)
    assert stored["title_en"] == title_b
    assert stored["summary_en"] == summary_a  # tab A's change is not lost

    # 5) Both tabs change the same field: only the editor can choose.
    _open_editor(live, tab_a)
    _open_editor(live, tab_b)
    tab_a.fill("#title_en", "A title")
    _save_expecting_saved(tab_a)
    assert stored_draft(live)["title_en"] == "A title"

    tab_b.fill("#title_en", "B title")
    _save_expecting_conflict(tab_b)
    title = _fieldset(tab_b, "title_en")
    assert title.count() == 1, tab_b.locator('[data-testid="conflict"]').inner_html()
    assert title.locator('dd[data-testid="old"]').inner_text().strip() == title_b
    assert title.locator('dd[data-testid="theirs"]').inner_text().strip() == "A title"
    assert title.locator('dd[data-testid="mine"]').inner_text().strip() == "B title"
    assert not _radio(tab_b, "title_en", "theirs").is_checked()
    assert not _radio(tab_b, "title_en", "mine").is_checked()
    assert tab_b.input_value("#title_en") == "B title"
    assert stored_draft(live)["title_en"] == "A title"
    shot(tab_b, "edit-conflict-both-changed")

    # Saving without choosing: still the conflict, now with an error; nothing saved.
    _save_expecting_conflict(tab_b)
    title = _fieldset(tab_b, "title_en")
    assert title.count() == 1
    assert title.get_attribute("aria-invalid") == "true"
    assert title.locator("p.error").is_visible()
    assert tab_b.input_value("#title_en") == "B title"
    assert stored_draft(live)["title_en"] == "A title"
    shot(tab_b, "edit-conflict-choose-one")

    # Keeping mine: saved.
    _radio(tab_b, "title_en", "mine").check()
    _save_expecting_saved(tab_b)
    stored = stored_draft(live)
    assert stored["title_en"] == "B title"
    assert stored["summary_en"] == summary_a
