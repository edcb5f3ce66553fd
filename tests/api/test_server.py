"""The app as deployed: uvicorn with two worker processes on a real port, sharing one
database and one search index directory. Data written by another process (the seed
command) becomes searchable through the background follower of the change log."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    env = {
        **os.environ,
        "CITYDEAL_DATABASE_URL": f"sqlite:///{tmp_path / 'server.db'}",
        "CITYDEAL_VAR_DIR": str(tmp_path / "var"),
        "CITYDEAL_SEARCH_SYNC_SECONDS": "0.2",
    }
    subprocess.run(
        [sys.executable, "-m", "api.cli", "db", "upgrade"],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    port = _free_port()
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "2",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/v1/provinces", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail(f"the server did not start: {(tmp_path / 'server.log').read_text()}")
        yield base, env
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_listings_written_elsewhere_become_searchable(server: tuple[str, dict[str, str]]) -> None:
    base, env = server
    assert httpx.get(f"{base}/v1/search", params={"q": "ลูกชิ้นปลา"}).json()["count"] == 0
    subprocess.run(
        [sys.executable, "-m", "api.cli", "seed"],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
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
