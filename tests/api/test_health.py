"""Health checks, request ids and logs, and a shutdown that finishes what it started:
``/healthz`` answers whenever the process does; ``/readyz`` only when the database
answers and the search replica is caught up; every response names its request, and the
logs carry that name; SIGTERM lets a request in flight complete."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import Session, select

from api.main import build_services, create_app
from catalog.models import Listing, ListingChange
from catalog.search.sync import catch_up
from catalog.search.tantivy_engine import TantivyIndex
from core.db import utcnow
from core.settings import Settings, get_settings
from matching.matrix import MatrixStore
from tests.factories import World, create_and_publish, profile_payload
from tests.live import environment, free_port, migrated

# --- /healthz and /readyz ------------------------------------------------------------


async def test_healthz_says_the_process_is_alive(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert (await client.head("/healthz")).status_code == 200
    assert "/healthz" not in (await client.get("/openapi.json")).json()["paths"]


async def test_readyz_is_ready_when_the_database_answers_and_search_caught_up(
    client: httpx.AsyncClient, world: World
) -> None:
    await create_and_publish(client, world.nakhon_sawan_key)  # the replica follows commits
    response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["search"]["ok"] is True
    assert body["checks"]["search"]["engine"] == "tantivy"


async def test_readyz_is_not_ready_while_the_replica_lags_behind_the_change_log(
    client: httpx.AsyncClient, world: World, session: Session, tantivy_index: TantivyIndex
) -> None:
    await create_and_publish(client, world.nakhon_sawan_key)
    listing = session.exec(select(Listing)).first()
    assert listing is not None
    # A change the replica has not applied (its follower stopped, say), and the whole
    # log five minutes old: past any gap's grace and the bound.
    session.add(
        ListingChange(listing_id=listing.id or 0, version=listing.version, action="updated")
    )
    session.execute(update(ListingChange).values(changed_at=utcnow() - timedelta(minutes=5)))
    session.commit()
    response = await client.get("/readyz")
    assert response.status_code == 503
    assert "Retry-After" in response.headers
    search = response.json()["checks"]["search"]
    assert search["ok"] is False
    assert search["pending"] >= 1
    assert search["lag_seconds"] >= 299
    assert response.json()["checks"]["database"]["ok"] is True
    catch_up(session, tantivy_index)
    assert (await client.get("/readyz")).status_code == 200


async def test_readyz_is_not_ready_when_the_index_is_broken(
    client: httpx.AsyncClient, tantivy_index: TantivyIndex
) -> None:
    (tantivy_index.directory / "meta.json").write_text("garbage")
    assert (await client.get("/v1/search")).status_code == 503  # the index finds out
    response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["search"]["ok"] is False
    assert (await client.get("/healthz")).status_code == 200


async def test_readyz_is_not_ready_when_the_database_is_down(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = Settings(
        database_url=f"postgresql+psycopg://citydeal@127.0.0.1:{port}/citydeal",
        var_dir=tmp_path,
        semantic_search=False,
    )
    app = create_app(services=build_services(settings, matrices=MatrixStore()))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/readyz")
        assert response.status_code == 503
        checks = response.json()["checks"]
        assert checks["database"]["ok"] is False
        assert "refused" in checks["database"]["error"]
        assert checks["search"]["ok"] is False
        assert (await client.get("/healthz")).json() == {"status": "ok"}


# --- request ids ---------------------------------------------------------------------


async def test_every_response_carries_a_request_id(client: httpx.AsyncClient) -> None:
    seen = set()
    for path in ("/v1/provinces", "/", "/v1/no-such-thing", "/no-such-page", "/healthz"):
        response = await client.get(path)
        request_id = response.headers["X-Request-ID"]
        assert len(request_id) == 32
        int(request_id, 16)  # generated: a UUID's hex
        seen.add(request_id)
    assert len(seen) == 5
    head = await client.head("/v1/provinces")
    assert head.headers["X-Request-ID"]


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("3f2c1a9e-6d4b-4e8a-9c1f-2b7d5e8a0c33", True),
        ("lb-7f3a.trace:42", True),
        ("two words", False),
        ("x" * 129, False),
        ("<script>", False),
    ],
)
async def test_the_callers_request_id_is_kept_when_sane(
    client: httpx.AsyncClient, sent: str, kept: bool
) -> None:
    response = await client.get("/v1/taxonomy", headers={"X-Request-ID": sent})
    assert (response.headers["X-Request-ID"] == sent) is kept
    assert response.headers["X-Request-ID"]


async def test_a_database_failure_is_logged_with_its_request_id(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from api.middleware import current_request_id
    from core.logs import RequestIdFilter

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = Settings(
        database_url=f"postgresql+psycopg://citydeal@127.0.0.1:{port}/citydeal",
        var_dir=tmp_path,
        semantic_search=False,
    )
    app = create_app(services=build_services(settings, matrices=MatrixStore()))
    caplog.handler.addFilter(RequestIdFilter(current_request_id))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/v1/provinces", headers={"X-Request-ID": "call-77"})
    assert response.status_code == 503
    assert response.headers["X-Request-ID"] == "call-77"
    [record] = [r for r in caplog.records if "database unavailable" in r.getMessage()]
    assert record.request_id == "call-77"  # type: ignore[attr-defined]


# --- a served process: JSON logs, and SIGTERM finishes what is in flight --------------


@pytest.fixture
def uvicorn_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    """uvicorn serving the app with JSON logs; the test signals it itself."""
    env = environment(tmp_path, CITYDEAL_LOG_FORMAT="json")
    migrated(env)
    port = free_port()
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api.main:app", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        yield process, base, log_path
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def _json_lines(log_path: Path) -> list[dict[str, object]]:
    lines = []
    for line in log_path.read_text().splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


@pytest.mark.live_server
@pytest.mark.slow
def test_sigterm_lets_a_request_in_flight_finish_and_logs_are_json(
    uvicorn_process: tuple[subprocess.Popen[bytes], str, Path],
) -> None:
    """A visitor's match whose body is still arriving when SIGTERM comes: uvicorn stops
    taking connections, the request completes with 200, then the process exits (and its
    lifespan's shutdown with it). Every log line is JSON, with the request's id."""
    process, base, log_path = uvicorn_process
    body = json.dumps(
        {
            k: v
            for k, v in profile_payload().items()
            if k not in ("name", "investor_type", "home_country", "languages", "discoverable")
        }
    ).encode()
    half_sent = threading.Event()
    signalled = threading.Event()

    def slow_body() -> Iterator[bytes]:
        yield body[: len(body) // 2]
        half_sent.set()
        signalled.wait(timeout=10)
        time.sleep(1.0)  # the rest arrives after the signal
        yield body[len(body) // 2 :]

    answer: dict[str, httpx.Response] = {}

    def send() -> None:
        answer["match"] = httpx.post(
            f"{base}/v1/match",
            content=slow_body(),
            headers={"Content-Type": "application/json", "X-Request-ID": "slow-match-1"},
            timeout=30,
        )

    sender = threading.Thread(target=send)
    sender.start()
    assert half_sent.wait(timeout=10)
    time.sleep(0.3)  # the request has reached the app
    process.send_signal(signal.SIGTERM)
    signalled.set()
    sender.join(timeout=30)
    response = answer["match"]
    assert response.status_code == 200, response.text
    assert "data" in response.json()
    assert response.headers["X-Request-ID"] == "slow-match-1"
    # uvicorn ends by raising the signal it caught again, as the process's exit status.
    assert process.wait(timeout=30) in (0, -signal.SIGTERM)

    records = _json_lines(log_path)
    assert records, log_path.read_text()
    access = [r for r in records if r.get("logger") == "uvicorn.access"]
    slow = [r for r in access if r.get("request_id") == "slow-match-1"]
    assert len(slow) == 1
    assert "POST /v1/match" in str(slow[0]["message"])
    assert all({"time", "level", "logger", "request_id", "message"} <= set(r) for r in records)
    messages = [str(r["message"]) for r in records]
    shutting = next(i for i, m in enumerate(messages) if m.startswith("Shutting down"))
    assert records.index(slow[0]) > shutting  # it finished after the signal
    assert any(m.startswith("Finished server process") for m in messages)


def test_the_default_settings_bound_every_wait_on_the_database() -> None:
    limits = get_settings().db
    assert limits.connect_timeout_seconds <= 2
    assert limits.pool_timeout_seconds <= 2
    assert 0 < limits.statement_timeout_seconds <= 60
