"""Writes the app's OpenAPI document to ``openapi/openapi.json`` (``make openapi``)."""

from __future__ import annotations

import json
from pathlib import Path

from api.main import create_app
from core.settings import PROJECT_ROOT

SPEC_PATH = PROJECT_ROOT / "openapi" / "openapi.json"


def render() -> str:
    return json.dumps(create_app().openapi(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def main(path: Path = SPEC_PATH) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(), encoding="utf-8")
    print(f"wrote {path}")  # noqa: T201


if __name__ == "__main__":
    main()
