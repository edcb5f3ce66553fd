"""axe-core for the browser tests: ``assert_no_axe_violations(page, "catalogue, Thai, 390 px")``
injects axe-core into the page and fails listing every violation.

axe-core comes from npm, installed once per machine into ``/tmp/axe-core`` (a lock keeps
parallel workers from installing it twice); without npm the test is skipped, saying why.
Nothing is fetched by the page itself: the script is added from the local file."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

AXE_VERSION = "4.14.1"
AXE_DIR = Path("/tmp/axe-core")
AXE_SCRIPT = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"


def axe_script() -> Path:
    """The path of ``axe.min.js``, installing axe-core with npm on first use."""
    if AXE_SCRIPT.exists():
        return AXE_SCRIPT
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("axe-core checks need npm to install axe-core (apt-get install npm)")
    AXE_DIR.mkdir(parents=True, exist_ok=True)
    with (AXE_DIR / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another worker may be installing it right now
        if not AXE_SCRIPT.exists():
            done = subprocess.run(
                [npm, "install", "--prefix", str(AXE_DIR), "--no-audit", "--no-fund"]
                + [f"axe-core@{AXE_VERSION}"],
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            if done.returncode != 0 or not AXE_SCRIPT.exists():
                last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
                pytest.skip(f"npm could not install axe-core@{AXE_VERSION}: {last[0]}")
    return AXE_SCRIPT


def add_axe(page: Any) -> None:
    """Load axe-core into the page. Evaluated through the DevTools protocol, which the
    page's Content-Security-Policy does not govern (``add_script_tag`` adds an inline
    script, which the policy refuses, as it should)."""
    page.evaluate(axe_script().read_text() + "\n;undefined")


def axe_violations(page: Any, *, rules: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """What axe-core finds on the page as it is now (every rule, or only ``rules``)."""
    add_axe(page)
    options = {"runOnly": {"type": "rule", "values": list(rules)}} if rules else {}
    result: dict[str, Any] = page.evaluate("options => axe.run(document, options)", options)
    violations: list[dict[str, Any]] = result["violations"]
    return violations


def describe(violations: Sequence[dict[str, Any]]) -> str:
    """One line a violation: rule id, impact, how many elements, the first one, the help."""
    lines = []
    for violation in violations:
        nodes = violation["nodes"]
        first = " ".join(str(part) for part in nodes[0]["target"]) if nodes else "?"
        summary = nodes[0].get("failureSummary", "").replace("\n", " ") if nodes else ""
        lines.append(
            f"- {violation['id']} ({violation['impact']}), {len(nodes)} element(s), "
            f"first: {first}: {violation['help']}. {summary}"
        )
    return "\n".join(lines)


def assert_no_axe_violations(
    page: Any, context: str, *, rules: Sequence[str] | None = None
) -> None:
    """Fail, naming ``context`` (the page, language and width), when axe-core finds any
    violation on the page (of every rule, or only of ``rules``)."""
    violations = axe_violations(page, rules=rules)
    if violations:
        pytest.fail(
            f"axe-core {AXE_VERSION} found {len(violations)} violation(s) on {context}:\n"
            + describe(violations)
        )
