"""The `citydeal` command end to end: migrate, create an organisation and a key, use it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlmodel import col, select

from api.main import build_services, create_app
from catalog.models import ApiKey
from core.db import Database, make_engine
from core.settings import Settings

pytestmark = [pytest.mark.slow]


def _citydeal(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CITYDEAL_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def cli_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('cli') / 'cli.db'}"
    assert _citydeal(url, "db", "upgrade").returncode == 0
    return url


async def test_key_from_the_command_line_works_over_http(cli_database: str, tmp_path: Path) -> None:
    url = cli_database
    made = _citydeal(
        url,
        "orgs",
        "create",
        "--slug",
        "think-city",
        "--name-th",
        "ขอนแก่นพัฒนาเมือง",
        "--name-en",
        "Khon Kaen Think City",
        "--kind",
        "city-company",
    )
    assert made.returncode == 0, made.stderr
    issued = _citydeal(url, "keys", "create", "--org", "think-city", "--role", "publisher")
    assert issued.returncode == 0, issued.stderr
    key = issued.stdout.strip().splitlines()[-1]
    assert key.startswith("cdk_")

    engine = make_engine(url)
    with engine.connect() as connection:
        digests = connection.execute(select(col(ApiKey.digest))).scalars().all()
    assert len(digests) == 1
    assert key not in digests[0]  # only a digest is stored

    settings = Settings(database_url=url, var_dir=tmp_path / "var")
    app = create_app(services=build_services(settings, database=Database(engine)))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        ok = await client.get("/v1/me/listings", headers={"Authorization": f"Bearer {key}"})
        assert ok.status_code == 200, ok.text
        bad = await client.get("/v1/me/listings", headers={"Authorization": f"Bearer {key}x"})
        assert bad.status_code == 401
    engine.dispose()


def test_unknown_organisation_or_role_is_refused(cli_database: str) -> None:
    missing = _citydeal(cli_database, "keys", "create", "--org", "nobody", "--role", "publisher")
    assert missing.returncode == 2
    assert "no organisation 'nobody'" in missing.stdout
    bad_role = _citydeal(cli_database, "keys", "create", "--org", "nobody", "--role", "king")
    assert bad_role.returncode == 2
