"""The layers run one way (core, catalog, matching, the web layer, the app): the import
contracts in ``.importlinter`` hold for the tree, and break on an arrow back up."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGES = ("core", "catalog", "matching", "seed", "api")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / ".importlinter"), "--no-cache"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def tree(project_root: Path, tmp_path: Path) -> Path:
    """A copy of the project's packages and import contracts."""
    for package in PACKAGES:
        shutil.copytree(
            project_root / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(project_root / ".importlinter", tmp_path / ".importlinter")
    return tmp_path


def test_the_layers_hold(tree: Path) -> None:
    run = _lint_imports(tree)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


@pytest.mark.parametrize(
    ("module", "arrow"),
    [
        ("catalog/service.py", "import matching.service"),  # catalog reaching up to matching
        ("matching/ranking.py", "import api.deps"),  # a domain reaching the web layer
        ("core/db.py", "import catalog.models"),  # the bottom reaching up
        ("api/routes/catalog.py", "import api.main"),  # the web layer reaching the app
        ("catalog/browse.py", "import fastapi"),  # a domain speaking HTTP
    ],
)
def test_an_arrow_back_up_breaks_a_contract(tree: Path, module: str, arrow: str) -> None:
    path = tree / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{arrow}  # noqa\n", encoding="utf-8")
    run = _lint_imports(tree)
    assert run.returncode != 0, run.stdout
    assert "BROKEN" in run.stdout
