"""The Content-Security-Policy holds in Chromium: the catalogue, a pitch page with its map
(tiles from the configured tile server), a pitch day's booklet and an investor's profile
form run with no violation reported, their scripts still work (the sort submits, the
booklet prints, the live count follows the form), and an inline script or event handler
slipped into a page is refused and reported, which shows the listener is awake."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import BROWSER_TESTS, shot
from tests.live import environment, key_of, seeded, serve

pytestmark = BROWSER_TESTS

TILES = "http://tiles.invalid"
PNG = Path(__file__).resolve().parents[2] / "api/portal/static/leaflet/images/layers.png"
POLES = "nakhon-sawan-smart-poles"  # seeded, with a map of its smart block
EVENT = "nakhon-sawan-pitch-day-2027"
INVESTOR_ORG = "siam-infrastructure-fund-co"

# Each violation, as the page itself sees it (installed before any script of the page;
# Playwright's init scripts are not subject to the page's policy).
LISTEN = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The seeded app with a tile server configured, and an investor's API key."""
    root = tmp_path_factory.mktemp("csp")
    env = environment(root, CITYDEAL_MAP_TILE_URL=TILES + "/{z}/{x}/{y}.png")
    seeded(env, publisher_of="patong-municipality")
    investor_key = key_of(env, INVESTOR_ORG, "investor")
    with serve(env, root) as base:
        yield {"base": base, "investor_key": investor_key}


class Watched:
    """A page whose console messages about the policy, and violation events, are kept."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.console: list[str] = []
        page.add_init_script(LISTEN)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.console.append(f"page error: {error}"))
        page.route(
            TILES + "/**",
            lambda route: route.fulfill(
                status=200, content_type="image/png", body=PNG.read_bytes()
            ),
        )

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text or message.type == "error":
            self.console.append(message.text)

    def violations(self) -> list[str]:
        seen: list[str] = self.page.evaluate("() => window.__violations")
        return seen

    def assert_clean(self, where: str) -> None:
        assert self.violations() == [], where
        assert self.console == [], where


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    yield Watched(context.new_page())
    context.close()


def test_the_catalogue_runs_under_the_policy_and_its_sort_still_submits(
    served: dict[str, str], watched: Watched
) -> None:
    page = watched.page
    page.goto(served["base"] + "/?lang=en")
    page.wait_for_load_state("networkidle")
    watched.assert_clean("catalogue")
    page.select_option("#sort", "newest")
    page.wait_for_url(re.compile(r"sort=newest"))
    assert page.locator("#sort").input_value() == "newest"
    watched.assert_clean("catalogue, sorted")


def test_a_pitch_page_draws_its_map_and_tiles_under_the_policy(
    served: dict[str, str], watched: Watched
) -> None:
    page = watched.page
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto(f"{served['base']}/listings/{POLES}?lang=en")
    page.wait_for_selector(".map[data-level]")
    page.wait_for_selector(".leaflet-tile-loaded")
    page.wait_for_load_state("networkidle")
    assert any(url.startswith(TILES) for url in asked)  # tiles came, from the tile server
    watched.assert_clean("pitch page with a map")
    shot(page, "csp-pitch-page-map")


def test_the_booklet_prints_under_the_policy(served: dict[str, str], watched: Watched) -> None:
    page = watched.page
    page.goto(f"{served['base']}/events/{EVENT}/booklet?lang=en")
    page.wait_for_load_state("networkidle")
    watched.assert_clean("booklet")
    page.evaluate("() => { window.print = () => { window.__printed = true; }; }")
    page.click("[data-testid=booklet-print]")
    assert page.evaluate("() => window.__printed") is True  # print.js answered the click
    watched.assert_clean("booklet, printed")


def test_the_profile_form_counts_live_under_the_policy(
    served: dict[str, str], watched: Watched
) -> None:
    page = watched.page
    page.goto(served["base"] + "/signin?lang=en")
    page.locator("details.card summary").click()
    page.fill("#api_key", served["investor_key"])
    page.locator("#api_key").press("Enter")
    page.wait_for_load_state("networkidle")
    page.goto(served["base"] + "/investor/profile?lang=en")
    page.wait_for_load_state("networkidle")
    watched.assert_clean("profile form")
    before = page.inner_text("#live-count")
    page.fill("#ticket_min_thb", "900,000,000")
    page.wait_for_function(
        "before => document.getElementById('live-count').innerText !== before", arg=before
    )
    watched.assert_clean("profile form, counted")


def test_an_inline_script_slipped_into_a_page_is_refused_and_reported(
    served: dict[str, str], watched: Watched
) -> None:
    page = watched.page
    page.goto(served["base"] + "/?lang=en")
    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.__ran = true";
            document.body.appendChild(script);
            const button = document.createElement("button");
            button.id = "planted";
            button.setAttribute("onclick", "window.__clicked = true");
            button.textContent = "planted";
            document.body.prepend(button);
        }"""
    )
    page.click("#planted")
    page.wait_for_function("() => window.__violations.length >= 2")
    assert page.evaluate("() => window.__ran") is None
    assert page.evaluate("() => window.__clicked") is None
    assert all(v.startswith("script-src") for v in watched.violations())
    assert any("Content Security Policy" in line for line in watched.console)
