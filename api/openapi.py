"""The app's OpenAPI document, told the way the app answers, and its export to
``openapi/openapi.json`` (``make openapi``).

FastAPI documents what it can see in a route's signature; ``install_openapi`` corrects
what it cannot, from the same dependencies the routes use, so that the spec and the code
cannot drift apart:

- every validation error is the app's own body (``ValidationErrorBody``: ``error``,
  ``detail``, ``field`` and the ``errors`` list), never FastAPI's ``HTTPValidationError``;
- an operation with a JSON body can answer 400 ``malformed_json``;
- an operation that reads a bearer can answer 401 (a malformed, unknown or revoked key),
  and one whose key is optional says so (``security: [{}, {"HTTPBearer": []}]``);
- an operation that takes ``If-Match`` requires it (428 without it, 412 when stale);
- an operation that reads a key can answer 429 (each key's use is rate limited), and
  every 429 carries ``Retry-After``;
- error bodies of the pages outside ``/v1`` (feeds, calendars) are HTML pages;
- every ``POST`` of the API takes ``Idempotency-Key`` (``api.idempotency``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from api.deps import expected_version, get_optional_principal, get_principal
from api.errors import FieldError, ValidationErrorBody
from api.idempotency import describe as describe_idempotency
from core.settings import PROJECT_ROOT

SPEC_PATH = PROJECT_ROOT / "openapi" / "openapi.json"

_METHODS = frozenset({"get", "put", "post", "patch", "delete", "head", "options"})
_ERROR = {"$ref": "#/components/schemas/ErrorBody"}
_VALIDATION = {"$ref": "#/components/schemas/ValidationErrorBody"}
_DEFAULT_422 = "#/components/schemas/HTTPValidationError"
_DESCRIPTIONS = {
    400: "Malformed request (the body is not valid JSON)",
    401: "Missing, malformed, unknown or revoked credentials",
    412: "Precondition Failed: the version you edited is stale",
    422: "Validation Error",
    428: "Precondition Required: send If-Match",
    429: "Too Many Requests (see Retry-After)",
}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 0},
    }
}
_AUTHENTICATE = {
    "WWW-Authenticate": {
        "description": "The scheme to authenticate with: `Bearer`.",
        "schema": {"type": "string"},
    }
}
# An ETag as the app writes it ("v3"), or weak (W/"v3"): the app reads it back.
ETAG_PATTERN = r'^(?:W/)?"v?[0-9]{1,9}"$'


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _routes(app: FastAPI) -> Iterator[tuple[str, set[str], APIRoute]]:
    """The app's API routes (those of included routers too): path, methods, route."""
    contexts = getattr(routing, "iter_route_contexts", None)  # FastAPI >= 0.165
    routes: Iterable[Any] = contexts(app.routes) if contexts else app.routes
    for route in routes:
        original = getattr(route, "original_route", route)
        if isinstance(original, APIRoute) and original.include_in_schema:
            yield route.path_format, set(route.methods or ()), original


def _facts(app: FastAPI) -> dict[tuple[str, str], frozenset[str]]:
    """What each operation's dependencies say about it, by path and method: ``bearer``
    (reads a key), ``optional`` (a key it can do without), ``if_match`` (a versioned
    write)."""
    facts: dict[tuple[str, str], frozenset[str]] = {}
    for path, methods, route in _routes(app):
        calls = set(_calls(route.dependant))
        found: set[str] = set()
        if get_optional_principal in calls:
            found.add("bearer")
            if get_principal not in calls:
                found.add("optional")
        if expected_version in calls:
            found.add("if_match")
        for method in methods:
            facts[(path, method.lower())] = frozenset(found)
    return facts


def _error(code: int, schema: dict[str, Any], *, html: bool) -> dict[str, Any]:
    content = (
        {"text/html": {"schema": {"type": "string"}}}
        if html
        else {"application/json": {"schema": schema}}
    )
    response: dict[str, Any] = {"description": _DESCRIPTIONS.get(code, "Error"), "content": content}
    if code == 429:
        response["headers"] = _RETRY_AFTER
    if code == 401:
        response["headers"] = _AUTHENTICATE
    return response


def _is_json_error(response: dict[str, Any]) -> bool:
    return "application/json" in response.get("content", {})


def _correct(operation: dict[str, Any], facts: frozenset[str], *, page: bool, bearer: str) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    if "422" in responses and _DEFAULT_422 in json.dumps(responses["422"]):
        responses["422"] = _error(422, _VALIDATION, html=page)
    elif "422" in responses and _is_json_error(responses["422"]):
        content = responses["422"]["content"]["application/json"]
        if content.get("schema") == _ERROR:  # a route's own answer (else) stays as it says
            content["schema"] = _VALIDATION
    body = operation.get("requestBody", {}).get("content", {})
    if "application/json" in body:
        responses.setdefault("400", _error(400, _ERROR, html=page))
    if "bearer" in facts:
        responses.setdefault("401", _error(401, _ERROR, html=page))
        responses["401"].setdefault("headers", _AUTHENTICATE)
        operation["security"] = [{}, {bearer: []}] if "optional" in facts else [{bearer: []}]
    if "if_match" in facts:
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "header" and parameter["name"].lower() == "if-match":
                parameter["name"] = "If-Match"
                parameter["required"] = True
                parameter["schema"] = {
                    "type": "string",
                    "maxLength": 40,
                    "pattern": ETAG_PATTERN,
                    "description": parameter.get("description", ""),
                }
        for code in (412, 428):
            responses.setdefault(str(code), _error(code, _ERROR, html=page))
    if "bearer" in facts:  # every key's use is rate limited
        responses.setdefault("429", _error(429, _ERROR, html=page))
    if "429" in responses:
        responses["429"].setdefault("headers", _RETRY_AFTER)


def correct(app: FastAPI, spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` (FastAPI's, of ``app``) corrected in place; returns it."""
    facts = _facts(app)
    schemes = spec.get("components", {}).get("securitySchemes", {})
    bearer = next((name for name, s in schemes.items() if s.get("scheme") == "bearer"), "")
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            if method in _METHODS:
                found = facts.get((path, method), frozenset())
                _correct(operation, found, page=not path.startswith("/v1"), bearer=bearer)
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for model in (FieldError, ValidationErrorBody):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schema.pop("$defs", None)  # FieldError, written beside it
        schemas[model.__name__] = schema
    used = json.dumps(spec["paths"]) + json.dumps(schemas)
    for unused in ("HTTPValidationError", "ValidationError"):
        if f'"#/components/schemas/{unused}"' not in used:
            schemas.pop(unused, None)
    return spec


def install_openapi(app: FastAPI) -> None:
    """Serve (and export) the corrected spec, built once on first use."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe_idempotency(correct(app, build()))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def render() -> str:
    from api.main import create_app  # the composition root installs ``install_openapi``

    return json.dumps(create_app().openapi(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def main(path: Path = SPEC_PATH) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(), encoding="utf-8")
    print(f"wrote {path}")  # noqa: T201


if __name__ == "__main__":
    main()
