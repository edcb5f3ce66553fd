"""openapi/openapi.json is the running app's spec; `make openapi` refreshes it."""

from __future__ import annotations

from pathlib import Path

from api.openapi import SPEC_PATH, render


def test_exported_spec_matches_the_app() -> None:
    assert SPEC_PATH.exists(), "run `make openapi` to export the spec"
    assert Path(SPEC_PATH).read_text(encoding="utf-8") == render(), (
        "openapi/openapi.json is stale: run `make openapi` and commit the result"
    )


def test_operation_ids_are_readable() -> None:
    import json

    spec = json.loads(render())
    ids = {op["operationId"] for path in spec["paths"].values() for op in path.values()}
    assert "listings-create_listing" in ids
    assert "geography-list_cities" in ids
