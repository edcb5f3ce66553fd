"""The app as deployed, for tests that need a real port: the ``citydeal`` command and
uvicorn in child processes, against a database of the test's own."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest


def environment(root: Path, **extra: str) -> dict[str, str]:
    """A live server's settings. Semantic search is off unless asked for: embedding the
    seed takes a core for about fifteen seconds in every server, and only the tests of
    semantic search need it (they pass ``CITYDEAL_SEMANTIC_SEARCH="true"``)."""
    return {
        **os.environ,
        "CITYDEAL_DATABASE_URL": f"sqlite:///{root / 'live.db'}",
        "CITYDEAL_VAR_DIR": str(root / "var"),
        "CITYDEAL_SEMANTIC_SEARCH": "false",
        **extra,
    }


def citydeal(env: dict[str, str], *args: str) -> str:
    """Run the ``citydeal`` command; returns what it printed."""
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=180,
    )
    return done.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serve(
    env: dict[str, str],
    root: Path,
    *,
    workers: int = 1,
    ready: Callable[[str], bool] | None = None,
) -> Iterator[str]:
    """uvicorn serving the app; yields its base URL once ``ready`` (or any answer) holds."""
    port = free_port()
    log_path = root / "server.log"
    with log_path.open("w") as log:
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
                str(workers),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if (ready or _answers)(base):
                        break
                except (httpx.TransportError, ValueError, KeyError):
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"the server did not start: {log_path.read_text()}")
                time.sleep(0.2)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=30)


def _answers(base: str) -> bool:
    return httpx.get(f"{base}/v1/provinces", timeout=1).status_code == 200


def seeded(env: dict[str, str], *, publisher_of: str) -> str:
    """Migrate and seed the database of ``env``; returns a new publisher key of the
    organisation ``publisher_of``."""
    citydeal(env, "db", "upgrade")
    citydeal(env, "seed")
    issued = citydeal(env, "keys", "create", "--org", publisher_of, "--role", "publisher")
    return issued.strip().splitlines()[-1]


# One organisation of each kind in the seed, and the role its keys act in.
ROLE_ORGANISATIONS = {
    "publisher": "nakhon-sawan-development",
    "investor": "siam-infrastructure-fund-co",
    "organiser": "smart-city-investment-forum",
    "admin": "citydeal-platform",
}


def keys_for_every_role(env: dict[str, str]) -> dict[str, str]:
    """A new key for each role, of an organisation of the seeded database of ``env`` (the
    platform organisation, which admins' keys belong to, is created if missing)."""
    try:
        citydeal(
            env, "orgs", "create", "--slug", ROLE_ORGANISATIONS["admin"],
            "--name-th", "ผู้ดูแลแพลตฟอร์ม citydeal", "--name-en", "citydeal platform",
            "--kind", "platform",
        )  # fmt: skip
    except subprocess.CalledProcessError:
        pass  # it exists already
    keys = {}
    for role, org in ROLE_ORGANISATIONS.items():
        issued = citydeal(env, "keys", "create", "--org", org, "--role", role)
        keys[role] = issued.strip().splitlines()[-1]
    return keys
