"""The spec tells the truth: Schemathesis generates requests from our own OpenAPI spec,
valid and invalid, singly and chained by the links it derives (the stateful phase),
against the app served by uvicorn with the demo catalogue loaded, as every role:
anonymous, publisher, investor, organiser and admin. Every check (``--checks all``):
no 5xx, every status, content type, header and body as documented, schema-valid
requests accepted, schema-invalid ones refused, 405 with ``Allow``, and no operation
that ignores its credentials.

``make test`` runs a bounded pass (the fuzzing and stateful phases, a few examples per
operation). ``CITYDEAL_FUZZ_FULL=1`` adds the coverage phase (every boundary and every
missing or malformed part of every operation: minutes per role) and more examples.
``tests/api/schemathesis.toml`` lists the few answers no schema can express.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import environment, keys_for_every_role, seeded, serve

pytestmark = [pytest.mark.live_server, pytest.mark.slow]

CONFIG = Path(__file__).with_name("schemathesis.toml")
FULL = os.environ.get("CITYDEAL_FUZZ_FULL") == "1"
ROLES = ["anonymous", "publisher", "investor", "organiser", "admin"]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    root = tmp_path_factory.mktemp("fuzz")
    env = environment(root)
    seeded(env, publisher_of="nakhon-sawan-development")
    keys = keys_for_every_role(env)
    with serve(env, root) as base:
        yield base, keys


def schemathesis(base: str, key: str | None, cwd: Path) -> subprocess.CompletedProcess[str]:
    auth = ["-H", f"Authorization: Bearer {key}"] if key else []
    phases = "coverage,fuzzing,stateful" if FULL else "fuzzing,stateful"
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "--config-file",
            str(CONFIG),
            "run",
            f"{base}/openapi.json",
            "--max-response-time",
            "60",  # a hang, not a slow moment of a busy 2-core CI machine (tests assert behaviour)
            "--checks",
            "all",
            "--phases",
            phases,
            "--max-examples",
            "25" if FULL else "2",
            "--seed",
            "7",
            "--generation-database",
            "none",
            "--workers",
            "2",
            *auth,
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )


@pytest.mark.parametrize("role", ROLES)
def test_every_answer_is_documented(
    live: tuple[str, dict[str, str]], role: str, tmp_path: Path
) -> None:
    base, keys = live
    run = schemathesis(base, keys.get(role), tmp_path)
    summary = run.stdout[run.stdout.find("SUMMARY") :]
    assert run.returncode == 0, run.stdout[-6000:]
    assert "generated" in summary  # it really ran: the summary counts the cases
    assert "✅ Stateful" in summary  # and the stateful phase ran, on the links it derived
