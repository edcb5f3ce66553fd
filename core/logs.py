"""Logging for a served process: one handler on the root logger, plain text or JSON, and
every record carrying the id of the request it was written for (``X-Request-ID``)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from pythonjsonlogger.json import JsonFormatter

from core.settings import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
JSON_FIELDS = ("asctime", "levelname", "name", "request_id", "message")
# uvicorn's loggers write through the root handler too, so its access log carries the
# request id and every line has one format.
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


class RequestIdFilter(logging.Filter):
    """Gives each record ``request_id``: the id of the request being answered, or "-"
    outside any request (a background follower, start-up)."""

    def __init__(self, request_id: Callable[[], str | None]) -> None:
        super().__init__()
        self._request_id = request_id

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = self._request_id() or "-"
        record.__dict__.pop("color_message", None)  # uvicorn's copy with terminal colours
        return True


class _Ours(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler ``configure_logging`` installs (and replaces when called again)."""


def formatter_for(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter(
            list(JSON_FIELDS),
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            json_ensure_ascii=False,
        )
    return logging.Formatter(TEXT_FORMAT)


def configure_logging(
    settings: Settings, *, request_id: Callable[[], str | None]
) -> logging.Handler:
    """Send every record, uvicorn's included, to standard error in the settings' format
    ("text" or "json", ``CITYDEAL_LOG_FORMAT``), each with its request id; returns the
    handler installed (called again, it replaces its own handler, no other)."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _Ours)]:
        root.removeHandler(handler)
    handler = _Ours(sys.stderr)
    handler.setFormatter(formatter_for(settings.log_format))
    handler.addFilter(RequestIdFilter(request_id))
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    for name in UVICORN_LOGGERS:
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    return handler
