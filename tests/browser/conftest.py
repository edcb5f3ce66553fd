"""What the browser tests share: a seeded app on a real port, headless Chromium from
Debian (never ``playwright install``), screenshots under ``test-artifacts/screenshots/``."""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.live import admin_invitation, environment, seeded, serve

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
BROWSER_TESTS = [
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


ADMIN_EMAIL = "admin@citydeal.example"
ADMIN_PASSWORD = "the first admin password"
PUBLISHER_EMAIL = "staff@patong.example"
PUBLISHER_PASSWORD = "patong beach safety"


def _person_of_patong(base: str, env: dict[str, str]) -> None:
    """The way a city's staff get an account: the first admin (from the command line)
    invites Patong's owner, who sets a password."""
    admin_token = admin_invitation(env, email=ADMIN_EMAIL)
    password = {"password": ADMIN_PASSWORD}
    assert httpx.post(f"{base}/v1/invitations/{admin_token}", json=password).status_code == 200
    admin = httpx.post(f"{base}/v1/sessions", json={"email": ADMIN_EMAIL, **password})
    invited = httpx.post(
        f"{base}/v1/organisations/patong-municipality/invitations",
        json={"email": PUBLISHER_EMAIL, "owner": True},
        headers={"Authorization": f"Bearer {admin.json()['token']}"},
    )
    token = invited.json()["url"].rsplit("/", 1)[1]
    accepted = httpx.post(f"{base}/v1/invitations/{token}", json={"password": PUBLISHER_PASSWORD})
    assert accepted.status_code == 200, accepted.text


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A seeded app served by uvicorn on a free port, a publisher key for Patong and a
    person of Patong who signs in with e-mail and password."""
    root = tmp_path_factory.mktemp("live")
    env = environment(root, CITYDEAL_SEARCH_SYNC_SECONDS="0.5")
    key = seeded(env, publisher_of="patong-municipality")
    with serve(env, root, ready=_has_seed_results) as base:
        _person_of_patong(base, env)
        yield {"base": base, "key": key, "root": str(root)}


def sign_in(page: Any, live: dict[str, str], lang: str | None = "en") -> None:
    """Sign in as Patong's staff, as a person does: e-mail and password."""
    page.goto(live["base"] + "/signin" + (f"?lang={lang}" if lang else ""))
    page.fill("#email", PUBLISHER_EMAIL)
    page.fill("#password", PUBLISHER_PASSWORD)
    page.locator("#password").press("Enter")
    page.wait_for_url("**/dashboard")


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


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """One browser context: one user, whose tabs share the session cookie."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    yield context
    context.close()


DRAFT = "patong-smart-beach-safety"  # a seeded draft of Patong, the key's organisation


def stored_draft(live: dict[str, str]) -> dict[str, Any]:
    """The draft as stored, over the API (only its organisation sees a draft)."""
    response = httpx.get(
        f"{live['base']}/v1/listings/{DRAFT}",
        headers={"Authorization": f"Bearer {live['key']}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    listing: dict[str, Any] = response.json()
    return listing


def shot(page: Any, name: str) -> None:
    """Keep a picture of the page for people to look at. The picture is not the test: the
    assertions around it are. Chromium sometimes refuses a full-page capture on a busy
    machine ("Unable to capture screenshot", seen once in CI), so it is tried again once
    the page is still, then the visible part is kept, and a warning is all that is left."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = str(ARTIFACTS / f"{name}.png")
    attempts = ({"full_page": True}, {"full_page": True}, {"full_page": False})
    failure = ""
    for attempt, options in enumerate(attempts):
        try:
            page.screenshot(path=path, **options)
            return
        except PlaywrightError as error:
            failure = error.message
            page.wait_for_load_state("load")
            page.wait_for_timeout(200 * (attempt + 1))
    warnings.warn(f"no screenshot {name}: {failure}", stacklevel=2)
