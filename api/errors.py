"""One JSON shape for every error: ``{"error", "detail", "field", ...}``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request, routing
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from api.middleware import current_request_id
from core.db import database_unavailable, unavailable_reason
from core.errors import AppError, DatabaseUnavailable

log = logging.getLogger(__name__)

_LOCATIONS = {"body", "query", "path", "header", "cookie"}
HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


class ErrorBody(BaseModel):
    error: str
    detail: str
    field: str | None = None


class FieldError(BaseModel):
    """One field that failed validation."""

    field: str
    location: str | None
    message: str
    type: str


class ValidationErrorBody(ErrorBody):
    """A 422: the first problem in ``detail`` and ``field``; for a request that failed
    validation, every problem in ``errors``."""

    errors: list[FieldError] | None = None


def error_response(
    status_code: int, code: str, detail: str, field: str | None = None, **extra: Any
) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status_code == 401 else None
    return JSONResponse(
        {"error": code, "detail": detail, "field": field, **extra},
        status_code=status_code,
        headers=headers,
    )


def _field_of(loc: tuple[Any, ...]) -> tuple[str | None, str]:
    location = str(loc[0]) if loc and loc[0] in _LOCATIONS else ""
    path = [str(part) for part in (loc[1:] if location else loc)]
    return location or None, ".".join(path) or location


def _is_page(request: Request) -> bool:
    """Portal pages get an HTML error page; the API (and its docs) get JSON."""
    path = request.url.path
    return not (path.startswith("/v1") or path in ("/docs", "/openapi.json", "/redoc"))


PageRenderer = Callable[[Request, int, str], Response]


def _page(request: Request, status_code: int, code: str) -> Response:
    """The portal's error page, which says in the reader's language what ``code`` means
    (the services' own messages are English, for the API)."""
    render: PageRenderer = request.app.state.render_error_page
    return render(request, status_code, code)


class Rejected(Exception):  # noqa: N818 (not an error: an answer that undoes the work)
    """Raised by a route to answer with ``response`` (a form again, with its errors) while
    its unit of work rolls back: raising is what tells the session dependency to undo."""

    def __init__(self, response: Response) -> None:
        super().__init__("the request was rejected")
        self.response = response


def _rejected(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Rejected)
    return exc.response


def _app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    if _is_page(request):
        response = _page(request, exc.status_code, exc.code)
    else:
        response = error_response(exc.status_code, exc.code, exc.message, exc.field, **exc.extra)
    response.headers.update(exc.headers)
    return response


def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if _is_page(request):
        return _page(request, 422, "validation_error")
    errors = []
    for raw in exc.errors():
        location, field = _field_of(tuple(raw.get("loc", ())))
        errors.append(
            {
                "field": field,
                "location": location,
                "message": raw.get("msg", ""),
                "type": raw.get("type", ""),
            }
        )
    if any(e["type"] == "json_invalid" for e in errors):
        return error_response(400, "malformed_json", "the request body is not valid JSON", "body")
    first = errors[0] if errors else {"field": None, "message": "invalid request"}
    return error_response(
        422,
        "validation_error",
        f"{first['field']}: {first['message']}",
        first["field"],
        errors=errors,
    )


def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_CODES.get(exc.status_code, "http_error")
    if _is_page(request) and exc.status_code in (404, 405):
        response = _page(request, exc.status_code, code)
    else:
        response = error_response(exc.status_code, code, str(exc.detail))
    response.headers.update(exc.headers or {})
    if exc.status_code == 405:
        response.headers["Allow"] = _allowed_methods(request) or (exc.headers or {}).get(
            "Allow", ""
        )
    return response


def _allowed_methods(request: Request) -> str:
    """Every method some route answers at this path (Starlette's 405 names only those of
    the first route it found there, while a path often has one route per method)."""
    contexts = getattr(routing, "iter_route_contexts", None)  # FastAPI >= 0.165
    found: dict[str, set[str]] = {}  # by path template
    for route in contexts(request.app.routes) if contexts else request.app.routes:
        allowed = getattr(route, "methods", None)
        if allowed and route.matches(request.scope)[0] != Match.NONE:
            found.setdefault(route.path_format, set()).update(allowed)
    if not found:
        return ""
    # The resource is the most specific template (``/listings/export``, not ``/listings/{ref}``).
    methods = found[min(found, key=lambda template: template.count("{"))]
    if "GET" in methods:
        methods.add("HEAD")  # api.middleware.HeadAsGet answers HEAD wherever GET
    return ", ".join(sorted(methods))


def _integrity_error(_request: Request, _exc: Exception) -> JSONResponse:
    # Only reachable through a race the services' own checks could not see (two requests
    # claiming the same slug at once); the transaction has been rolled back.
    return error_response(409, "conflict", "the change conflicts with data saved meanwhile")


def _database_error(request: Request, exc: Exception) -> Response:
    """The database is down, silent or busy: 503 with ``Retry-After`` and one log line
    naming it (no traceback: nothing in the app is wrong). Any other database error is
    a bug, answered as one."""
    if not database_unavailable(exc):
        log.error("database error on %s %s", request.method, request.url.path, exc_info=exc)
        return _unexpected_error(request, exc)
    log.warning(
        "database unavailable (%s %s): %s",
        request.method,
        request.url.path,
        unavailable_reason(exc),
    )
    services = getattr(request.app.state, "services", None)
    retry_after = services.settings.db.retry_after_seconds if services else 5
    unavailable = DatabaseUnavailable("the database is unavailable; try again shortly")
    if _is_page(request):
        response = _page(request, 503, unavailable.code)
    else:
        response = error_response(503, unavailable.code, unavailable.message)
    response.headers["Retry-After"] = str(retry_after)
    return response


def _unexpected_error(_request: Request, _exc: Exception) -> JSONResponse:
    # A bug, not bad input: logged by the server; the client gets the same JSON shape.
    # Starlette answers it outside the middleware, so the request id is added here.
    response = error_response(500, "internal_error", "something went wrong on our side")
    request_id = current_request_id()
    if request_id:
        response.headers["X-Request-ID"] = request_id
    return response


def install_error_handlers(app: FastAPI, *, render_page: PageRenderer) -> None:
    """JSON errors for the API; ``render_page`` draws them for portal pages."""
    app.state.render_error_page = render_page
    app.add_exception_handler(Exception, _unexpected_error)
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(Rejected, _rejected)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(PoolTimeout, _database_error)


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the errors a route can answer with."""
    return {code: {"model": ErrorBody} for code in codes}
