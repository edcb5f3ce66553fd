"""The OpenAPI spec says what the app does: its error bodies, optional keys, required
If-Match, 400 and 401, no null where null is refused, 405 with ``Allow``, no true/false
for a number. (``test_fuzz.py`` checks every operation against it; these pin each rule.)"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.factories import World, auth, create_and_publish


@pytest.fixture
def spec(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def test_no_operation_documents_fastapis_default_validation_body(spec: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in json.dumps(spec)
    body = spec["components"]["schemas"]["ValidationErrorBody"]
    assert {"error", "detail", "field", "errors"} <= set(body["properties"])
    responses = spec["paths"]["/v1/listings/{ref}"]["get"]["responses"]
    assert responses["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ValidationErrorBody"
    }


def test_optional_keys_are_documented_as_optional(spec: dict[str, Any]) -> None:
    (scheme,) = spec["components"]["securitySchemes"]
    assert spec["paths"]["/v1/events"]["get"]["security"] == [{}, {scheme: []}]
    assert spec["paths"]["/v1/listings"]["post"]["security"] == [{scheme: []}]
    assert "security" not in spec["paths"]["/v1/provinces"]["get"]  # reads no key at all


def test_400_401_429_and_if_match_are_documented_where_they_can_happen(
    spec: dict[str, Any],
) -> None:
    create = spec["paths"]["/v1/listings"]["post"]["responses"]
    assert {"400", "401", "429"} <= set(create)
    assert "Retry-After" in create["429"]["headers"]
    update = spec["paths"]["/v1/listings/{ref}"]["patch"]
    (if_match,) = [p for p in update["parameters"] if p["in"] == "header"]
    assert (if_match["name"], if_match["required"]) == ("If-Match", True)
    assert {"412", "428"} <= set(update["responses"])


def test_update_schemas_admit_null_only_where_the_app_does(spec: dict[str, Any]) -> None:
    listing = spec["components"]["schemas"]["ListingUpdate"]["properties"]
    assert "null" not in json.dumps(listing["title_th"])  # may be omitted, never cleared
    assert "default" not in listing["title_th"]
    assert {"type": "null"} in listing["smart_block"]["anyOf"]  # may be cleared
    lead = spec["components"]["schemas"]["LeadUpdate"]
    assert lead["minProperties"] == 1
    assert "null" not in json.dumps(lead["properties"])


async def test_null_where_the_spec_refuses_it_is_refused(
    client: httpx.AsyncClient, world: World
) -> None:
    slug = await create_and_publish(client, world.nakhon_sawan_key)
    current = await client.get(f"/v1/listings/{slug}", headers=auth(world.nakhon_sawan_key))
    response = await client.patch(
        f"/v1/listings/{slug}",
        json={"title_th": None},
        headers={**auth(world.nakhon_sawan_key), "If-Match": current.headers["ETag"]},
    )
    assert response.status_code == 422
    assert response.json()["field"] == "title_th"


async def test_a_405_names_every_method_of_the_resource(client: httpx.AsyncClient) -> None:
    response = await client.request("OPTIONS", "/v1/events")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD, POST"  # two routes, one resource
    export = await client.request("PUT", "/v1/listings/export")
    assert export.headers["Allow"] == "GET, HEAD"  # not /v1/listings/{ref}'s methods
    assert export.json()["error"] == "method_not_allowed"


async def test_true_or_false_is_not_a_number_nor_a_number_a_flag(
    client: httpx.AsyncClient, world: World
) -> None:
    for body, field in (({"min_irr_pct": False}, "min_irr_pct"), ({"widen": 0}, "widen")):
        response = await client.post("/v1/match", json=body, headers=auth(world.investor_key))
        assert response.status_code == 422, response.text
        assert response.json()["field"] == field


async def test_control_characters_are_refused_as_the_spec_says(
    client: httpx.AsyncClient, spec: dict[str, Any]
) -> None:
    title = spec["components"]["schemas"]["ListingCreate"]["properties"]["title_th"]
    assert re.match(title["pattern"], "ลูกชิ้น")
    assert not re.match(title["pattern"], "ลูกชิ้น\x00")
    assert not re.match(title["pattern"], "   ")  # trimmed to nothing
    response = await client.get("/v1/suggest", params={"q": "a\x0b"})
    assert response.status_code == 422
