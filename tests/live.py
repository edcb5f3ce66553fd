"""The app as deployed, for tests that need a real port: uvicorn in a child process,
against a database of the test's own, and the ``citydeal`` command.

Setting up that database (migrating, seeding, issuing keys, the first admin) runs here, in
the test's process, through the functions the command calls: each ``citydeal`` process
spends seconds importing the app before it does anything, and a live module did half a
dozen of them. The command itself is tested where it is the subject (tests/api/test_cli.py,
test_server.py, test_backup.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from catalog.accounts.service import bootstrap_admin
from catalog.models import Organisation
from catalog.organisations import issue_key
from core.principal import OrganisationKind, Role
from core.settings import AccountSettings
from tests.databases import migrated_database, writing_to


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


def writing(env: dict[str, str]) -> AbstractContextManager[Session]:
    """A unit of work on the database of ``env`` as the ``citydeal`` command opens one
    (write intent, and ``cli`` as the audit log's actor); committed when the block ends."""
    return writing_to(env["CITYDEAL_DATABASE_URL"])


def migrated(env: dict[str, str]) -> None:
    """``citydeal db upgrade`` on the database of ``env`` (a copy of a migrated template
    when the database is new: tests/databases.py)."""
    migrated_database(env["CITYDEAL_DATABASE_URL"])


def seed(env: dict[str, str]) -> None:
    """``citydeal db upgrade`` and ``citydeal seed`` on the database of ``env`` (a copy of
    a seeded template when the database is new)."""
    migrated_database(env["CITYDEAL_DATABASE_URL"], seeded=True)


def key_of(env: dict[str, str], org: str, role: str) -> str:
    """``citydeal keys create --org ORG --role ROLE``: a new key of the organisation ``org``."""
    with writing(env) as session:
        _row, key = issue_key(session, organisation_slug=org, role=Role(role))
    return key


def seeded(env: dict[str, str], *, publisher_of: str) -> str:
    """Migrate and seed the database of ``env``; returns a new publisher key of the
    organisation ``publisher_of``."""
    seed(env)
    return key_of(env, publisher_of, "publisher")


def admin_invitation(env: dict[str, str], *, email: str) -> str:
    """``citydeal people create-admin --email EMAIL``: the token of the invitation that lets
    the first admin set a password."""
    with writing(env) as session:
        link = bootstrap_admin(session, email=email, name="", settings=AccountSettings())
    return link.token


# One organisation of each kind in the seed, and the role its keys act in.
ROLE_ORGANISATIONS = {
    "publisher": "nakhon-sawan-development",
    "investor": "siam-infrastructure-fund-co",
    "organiser": "smart-city-investment-forum",
    "admin": "citydeal-platform",
}


def keys_for_every_role(env: dict[str, str]) -> dict[str, str]:
    """A new key for each role, of an organisation of the seeded database of ``env`` (the
    platform organisation, which admins' keys belong to, is created if missing, as
    ``citydeal orgs create`` makes it)."""
    with writing(env) as session:
        platform = ROLE_ORGANISATIONS["admin"]
        if session.exec(select(Organisation).where(Organisation.slug == platform)).first() is None:
            session.add(
                Organisation(
                    slug=platform,
                    name_th="ผู้ดูแลแพลตฟอร์ม citydeal",
                    name_en="citydeal platform",
                    kind=OrganisationKind.platform,
                )
            )
    return {role: key_of(env, org, role) for role, org in ROLE_ORGANISATIONS.items()}
