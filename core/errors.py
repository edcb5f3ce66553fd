"""The application's one error family; ``api.errors`` turns it into HTTP responses."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra = extra

    @property
    def headers(self) -> dict[str, str]:
        return {}


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class Unauthorized(AppError):
    status_code = 401
    code = "unauthorized"


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class PreconditionFailed(AppError):
    status_code = 412
    code = "precondition_failed"


class PreconditionRequired(AppError):
    status_code = 428
    code = "precondition_required"


class InvalidInput(AppError):
    """A value that is well-formed but breaks a rule (unknown city, min above max)."""

    status_code = 422
    code = "validation_error"


class ServiceUnavailable(AppError):
    status_code = 503
    code = "service_unavailable"
    retry_after = 5  # seconds: the client may try again then

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class DatabaseUnavailable(ServiceUnavailable):
    """The database is down, did not answer in time, or is too busy."""

    code = "database_unavailable"


class SearchIndexUnavailable(ServiceUnavailable):
    """The search replica is busy, missing or being rebuilt; the rest of the app works."""

    code = "search_unavailable"


class ServerBusy(ServiceUnavailable):
    """Every turn at the database of this process stayed taken for the longest wait: the
    server sheds this request rather than queue it without end."""

    code = "server_busy"
    retry_after = 1


class MatchingUnavailable(ServiceUnavailable):
    """The match matrix of a large catalogue is being built (at start-up): matching
    answers 503 meanwhile, as search does while its replica rebuilds."""

    code = "matching_unavailable"
    retry_after = 15


class TooManyRequests(AppError):
    """Too many attempts: the caller may try again after ``retry_after`` seconds."""

    status_code = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int, field: str | None = None) -> None:
        super().__init__(message, field=field, retry_after=retry_after)
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}
