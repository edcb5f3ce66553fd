"""The app as deployed: uvicorn with two worker processes on a real port, sharing one
database and one search index directory. Data written by another process (the seed
command) becomes searchable through the background follower of the change log."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.factories import listing_payload
from tests.live import citydeal, environment, migrated, seeded, serve

pytestmark = [pytest.mark.live_server, pytest.mark.slow]


@pytest.fixture
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """Two workers on a migrated, empty database; with semantic search when the test is
    parametrized so (``indirect``): embedding the seed takes a core for seconds in each
    server, and only the test of vectors needs it."""
    semantic = getattr(request, "param", "semantic search off") == "semantic search on"
    env = environment(
        tmp_path,
        CITYDEAL_SEARCH_SYNC_SECONDS="0.2",
        CITYDEAL_SEMANTIC_SEARCH="true" if semantic else "false",
    )
    migrated(env)
    with serve(env, tmp_path, workers=2) as base:
        yield base, env


def test_listings_written_elsewhere_become_searchable(server: tuple[str, dict[str, str]]) -> None:
    base, env = server
    assert httpx.get(f"{base}/v1/search", params={"q": "ลูกชิ้นปลา"}).json()["count"] == 0
    citydeal(env, "seed")
    deadline = time.monotonic() + 30
    slugs: list[str] = []
    while time.monotonic() < deadline and "nakhon-sawan-fish-ball-factory" not in slugs:
        time.sleep(0.3)
        body = httpx.get(f"{base}/v1/search", params={"q": "ลูกชิ้นปลา"}, timeout=5).json()
        slugs = [hit["listing"]["slug"] for hit in body["hits"]]
    assert "nakhon-sawan-fish-ball-factory" in slugs
    # Every worker answers from the same replica: ask enough times to reach both.
    counts = {httpx.get(f"{base}/v1/search", timeout=5).json()["count"] for _ in range(10)}
    listed = httpx.get(f"{base}/v1/listings", timeout=5).json()["count"]
    assert counts == {listed}


@pytest.mark.parametrize("server", ["semantic search on"], indirect=True)
def test_vectors_are_computed_in_the_background_and_rebuilt_by_reindex(
    server: tuple[str, dict[str, str]],
) -> None:
    """Seeded by another process, a Thai-only listing is found by an English query once
    the follower (one worker, under the lease) has embedded it; ``citydeal reindex``
    finds nothing stale afterwards, and reports progress."""
    base, env = server
    key = seeded(env, publisher_of="nakhon-sawan-development")
    headers = {"Authorization": f"Bearer {key}"}
    thai_only = {
        **listing_payload(),
        "sector": "transport",
        "smart_block": None,
        "title_th": "ระบบรถโดยสารไฟฟ้ารอบบึงบอระเพ็ด",
        "title_en": "",
        "summary_th": "รถเมล์ไฟฟ้าวิ่งรอบบึง พร้อมสถานีชาร์จ เปิดให้เอกชนร่วมลงทุนแบบสัมปทาน",
        "summary_en": "",
        "description_en": "",
    }
    created = httpx.post(f"{base}/v1/listings", json=thai_only, headers=headers, timeout=10)
    assert created.status_code == 201, created.text
    url = f"{base}/v1/listings/{created.json()['slug']}"
    etag = httpx.get(url, headers=headers, timeout=10).headers["ETag"]
    published = httpx.post(f"{url}/publish", headers=headers | {"If-Match": etag}, timeout=10)
    assert published.status_code == 200, published.text

    deadline = time.monotonic() + 120  # the seed's 46 listings are embedded first
    slugs: list[str] = []
    while time.monotonic() < deadline and created.json()["slug"] not in slugs:
        time.sleep(0.5)
        body = httpx.get(f"{base}/v1/search", params={"q": "electric bus"}, timeout=10).json()
        slugs = [hit["listing"]["slug"] for hit in body["hits"]]
    assert created.json()["slug"] in slugs
    assert body["semantic"]

    printed = citydeal(env, "reindex")
    assert "0 title-and-summary passages embedded" in printed  # the follower did them all
    listed = httpx.get(f"{base}/v1/listings", timeout=10).json()["count"]
    assert f"{listed} published listings indexed" in printed


def test_the_first_admin_comes_from_the_command_line(server: tuple[str, dict[str, str]]) -> None:
    base, env = server
    printed = citydeal(
        {**env, "CITYDEAL_PUBLIC_URL": base},
        "people",
        "create-admin",
        "--email",
        "Root@City.example",
    )
    link = printed.strip().splitlines()[-1]
    assert link.startswith(f"{base}/invitations/")
    token = link.rsplit("/", 1)[1]
    accepted = httpx.post(
        f"{base}/v1/invitations/{token}", json={"password": "the first admin"}, timeout=10
    )
    assert accepted.status_code == 200, accepted.text
    signed_in = httpx.post(
        f"{base}/v1/sessions",
        json={"email": "root@city.example", "password": "the first admin"},
        timeout=10,
    )
    assert signed_in.status_code == 201, signed_in.text
    me = httpx.get(
        f"{base}/v1/me",
        headers={"Authorization": f"Bearer {signed_in.json()['token']}"},
        timeout=10,
    )
    assert me.json()["role"] == "admin"
