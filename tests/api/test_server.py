"""The app as deployed: uvicorn with two worker processes on a real port, sharing one
database and one search index directory. Data written by another process (the seed
command) becomes searchable through the background follower of the change log."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live import citydeal, environment, serve

pytestmark = [pytest.mark.live_server, pytest.mark.slow]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    env = environment(tmp_path, CITYDEAL_SEARCH_SYNC_SECONDS="0.2")
    citydeal(env, "db", "upgrade")
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
