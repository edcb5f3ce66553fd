"""The maps in Chromium, at 1280 and 390 px: with no tile server (the default, and all
this machine can have), markers and their labels stand on a plain background with the
outline of the region; a pitch page draws its smart block's boundary; markers answer the
keyboard; without JavaScript the map stays out of the way; with a tile server, tiles come
from it. Screenshots under ``test-artifacts/screenshots/map-*.png``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.axe import add_axe, describe
from tests.browser.conftest import BROWSER_TESTS, shot
from tests.live import environment, serve

pytestmark = BROWSER_TESTS

WIDTHS = [1280, 390]
POLES = "nakhon-sawan-smart-poles"  # seeded, in the Pak Nam Pho block, which has a boundary
TILES = "http://tiles.invalid"
PNG = Path(__file__).resolve().parents[2] / "api/portal/static/leaflet/images/layers.png"


@pytest.fixture
def narrow_or_wide(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    width: int = request.param
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="th-TH")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("requestfailed", lambda failed: errors.append(f"request failed: {failed.url}"))
    yield page
    context.close()
    assert errors == []


def drawn(page: Any, url: str) -> dict[str, Any]:
    """Open ``url`` and wait for its map; the map's data."""
    page.goto(url)
    page.wait_for_selector(".map[data-level]")
    data: dict[str, Any] = json.loads(page.locator("#map-data").text_content())
    return data


def labels(page: Any) -> list[dict[str, Any]]:
    """The labels shown (not hidden as overlapping), with their boxes."""
    found: list[dict[str, Any]] = page.eval_on_selector_all(
        ".map .map-label:not(.map-label-hidden)",
        """labels => labels.map(label => {
            const box = label.getBoundingClientRect();
            return {text: label.textContent, left: box.left, right: box.right,
                    top: box.top, bottom: box.bottom};
        })""",
    )
    return found


def overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return not (
        a["right"] <= b["left"]
        or a["left"] >= b["right"]
        or a["bottom"] <= b["top"]
        or a["top"] >= b["bottom"]
    )


def label_of(name: str, count: int) -> str:
    return f"{name} ({count})" if count > 1 else name


def assert_map_is_accessible(page: Any, context: str) -> None:
    add_axe(page)
    result = page.evaluate("() => axe.run(document.querySelector('.map-section'))")
    assert result["violations"] == [], f"{context}:\n{describe(result['violations'])}"


@pytest.mark.parametrize("narrow_or_wide", WIDTHS, indirect=True)
def test_catalogue_map_without_tiles_shows_markers_and_labels(
    live: dict[str, str], narrow_or_wide: Any
) -> None:
    page = narrow_or_wide
    width = page.viewport_size["width"]
    data = drawn(page, live["base"] + "/")
    assert page.locator(".map").get_attribute("data-level") == "city"  # Thailand, zoomed out
    cities = data["cities"]
    assert len(cities) > 3
    expected = {
        label_of(city["name"], sum(len(place["listings"]) for place in city["places"]))
        for city in cities
    }
    markers = page.locator(".map .leaflet-marker-icon")
    assert markers.count() == len(cities)
    assert {markers.nth(i).get_attribute("alt") for i in range(markers.count())} == expected
    assert all(markers.nth(i).get_attribute("tabindex") == "0" for i in range(markers.count()))

    box = page.locator(".map").bounding_box()
    for i in range(markers.count()):
        pin = markers.nth(i).bounding_box()
        assert box["x"] <= pin["x"] + pin["width"] / 2 <= box["x"] + box["width"]
        assert box["y"] <= pin["y"] + pin["height"] <= box["y"] + box["height"]

    shown = labels(page)
    assert len(shown) >= 2
    assert {label["text"] for label in shown} <= expected
    assert not any(overlap(a, b) for i, a in enumerate(shown) for b in shown[i + 1 :])

    assert page.locator(".map.map-plain").count() == 1
    assert page.locator(".map .leaflet-tile").count() == 0  # nothing asked of a tile server
    page.wait_for_selector(".map .leaflet-region-pane path")  # the outline of the region
    page.locator(".map-section").scroll_into_view_if_needed()
    shot(page, f"map-catalogue-th-{width}")
    assert_map_is_accessible(page, f"catalogue map, Thai, {width} px")


@pytest.mark.parametrize("narrow_or_wide", WIDTHS, indirect=True)
def test_pitch_page_draws_the_smart_block_boundary(
    live: dict[str, str], narrow_or_wide: Any
) -> None:
    page = narrow_or_wide
    width = page.viewport_size["width"]
    data = drawn(page, f"{live['base']}/listings/{POLES}")
    ((place,),) = [city["places"] for city in data["cities"]]
    assert place["boundary"]["type"] == "Polygon"
    assert place["name"] == "ย่านปากน้ำโพ ริมต้นแม่น้ำเจ้าพระยา"

    boundary = page.locator(".map path.map-boundary")
    assert boundary.count() == 1
    outline = boundary.bounding_box()
    assert outline["width"] > 40
    assert outline["height"] > 40
    pin = page.locator(".map .leaflet-marker-icon")
    assert pin.count() == 1
    tip = pin.bounding_box()
    tip_x, tip_y = tip["x"] + tip["width"] / 2, tip["y"] + tip["height"]
    assert outline["x"] < tip_x < outline["x"] + outline["width"]  # at the block's centre
    assert outline["y"] < tip_y < outline["y"] + outline["height"]
    assert [label["text"] for label in labels(page)] == [place["name"]]
    page.locator(".map-section").scroll_into_view_if_needed()
    shot(page, f"map-pitch-page-th-{width}")

    # From the keyboard: Enter on the marker opens its popup and moves to the link;
    # Escape closes it and gives the focus back to the marker.
    pin.focus()
    page.keyboard.press("Enter")
    popup_link = page.locator(".map .leaflet-popup-content a")
    popup_link.wait_for()
    assert popup_link.get_attribute("href") == f"/listings/{POLES}"
    assert popup_link.inner_text() == place["listings"][0]["title"]
    focused = page.evaluate("() => document.activeElement.getAttribute('href')")
    assert focused == f"/listings/{POLES}"
    assert page.locator(".leaflet-popup-close-button").get_attribute("aria-label") == "ปิด"
    shot(page, f"map-pitch-page-popup-th-{width}")
    page.keyboard.press("Escape")
    popup_link.wait_for(state="detached")
    assert page.evaluate("() => document.activeElement.classList.contains('leaflet-marker-icon')")
    assert_map_is_accessible(page, f"pitch page map, Thai, {width} px")


@pytest.mark.parametrize("narrow_or_wide", WIDTHS, indirect=True)
def test_city_map_has_a_marker_per_place_and_each_boundary(
    live: dict[str, str], narrow_or_wide: Any
) -> None:
    page = narrow_or_wide
    width = page.viewport_size["width"]
    data = drawn(page, live["base"] + "/cities/nakhon-sawan")
    assert page.locator(".map").get_attribute("data-level") == "place"
    (city,) = data["cities"]
    places = city["places"]
    assert len(places) >= 2
    markers = page.locator(".map .leaflet-marker-icon")
    assert markers.count() == len(places)
    assert {markers.nth(i).get_attribute("alt") for i in range(markers.count())} == {
        label_of(place["name"] or city["name"], len(place["listings"])) for place in places
    }
    boundaries = [place for place in places if place["boundary"]]
    assert boundaries
    assert page.locator(".map path.map-boundary").count() == len(boundaries)
    assert labels(page)
    # Zoomed in, the coarse outline of the region is not drawn and nothing looks like sea.
    assert page.locator(".map.map-sea").count() == 0
    page.locator(".map-section").scroll_into_view_if_needed()
    shot(page, f"map-city-th-{width}")

    markers.first.click()
    links = page.locator(".map .leaflet-popup-content a")
    links.first.wait_for()
    hrefs = {links.nth(i).get_attribute("href") for i in range(links.count())}
    first = data["cities"][0]["places"]
    assert hrefs in [{lst["href"] for lst in place["listings"]} for place in first]


def test_without_javascript_the_map_stays_hidden_and_the_list_stays(
    live: dict[str, str], browser: Any
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 900}, java_script_enabled=False)
    page = context.new_page()
    page.goto(live["base"] + "/?lang=en")
    assert page.locator("[data-testid=hit]").first.is_visible()
    assert page.locator(".map-section").is_hidden()
    page.goto(f"{live['base']}/listings/{POLES}?lang=en")
    assert page.locator(".map-section").is_hidden()
    assert page.get_by_text("Pak Nam Pho riverfront").first.is_visible()  # the text says where
    context.close()


@pytest.fixture(scope="module")
def tiled(live: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second server on the same seeded database, configured with a tile server."""
    root = Path(live["root"])
    env = environment(root, CITYDEAL_MAP_TILE_URL=TILES + "/{z}/{x}/{y}.png")
    env["CITYDEAL_MAP_TILE_ATTRIBUTION"] = "Tiles of the test"
    with serve(env, tmp_path_factory.mktemp("tiled")) as base:
        yield base


def test_with_a_tile_server_tiles_load_from_it(tiled: str, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    asked: list[str] = []

    def tile(route: Any) -> None:
        asked.append(route.request.url)
        route.fulfill(status=200, content_type="image/png", body=PNG.read_bytes())

    page.route(TILES + "/**", tile)
    drawn(page, f"{tiled}/listings/{POLES}?lang=en")
    page.wait_for_selector(".map img.leaflet-tile-loaded")
    assert asked
    assert all(url.startswith(TILES + "/") and url.endswith(".png") for url in asked)
    assert page.locator(".map.map-plain").count() == 0  # no outline drawn over the tiles
    assert "Tiles of the test" in page.locator(".leaflet-control-attribution").inner_text()
    assert page.locator(".map path.map-boundary").count() == 1
    context.close()
