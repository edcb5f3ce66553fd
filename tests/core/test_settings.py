"""Settings come from the environment or ``.env``, the scorer's ``CITYDEAL_MATCH_…``
lines included."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import ScoringSettings, Settings


def test_match_lines_in_dotenv_reach_the_scorer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text(
        "CITYDEAL_MATCH_TICKET_TOLERANCE=0.1\n"
        "CITYDEAL_MATCH_WEIGHTS__TEXT=0.4\n"
        "CITYDEAL_SEARCH_SYNC_SECONDS=5\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.search_sync_seconds == 5
    assert settings.match.ticket_tolerance == 0.1
    assert settings.match.weights.text == 0.4
    assert settings.match.match_threshold == ScoringSettings().match_threshold


def test_environment_overrides_and_bad_values_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CITYDEAL_MATCH_MATCH_THRESHOLD", "70")
    assert Settings().match.match_threshold == 70
    monkeypatch.setenv("CITYDEAL_MATCH_TICKET_TOLERANCE", "2")  # above 1: nonsense
    with pytest.raises(ValueError, match="ticket_tolerance"):
        Settings()
