"""Health checks for a process supervisor or a load balancer: ``/healthz`` (the process
answers: no database, no index) and ``/readyz`` (it can serve: the database answers, the
search replica is readable and caught up with the change log, and the match matrix is
built). Neither is part of
the API's documentation, and neither needs a key."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import literal, select
from starlette.concurrency import run_in_threadpool

from api.deps import Services, services_of
from catalog.search.base import SearchUnavailable
from catalog.search.positions import GAP_GRACE
from catalog.search.sync import replica_lag
from core.db import database_unavailable, unavailable_reason

router = APIRouter(tags=["health"], include_in_schema=False)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive and its event loop answers."""
    return {"status": "ok"}


def _check_database(services: Services) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        with services.database.reading() as session:
            session.connection().execute(select(literal(1))).one()
    except Exception as exc:
        if not database_unavailable(exc):
            raise
        return {"ok": False, "error": unavailable_reason(exc)}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _check_search(services: Services) -> dict[str, Any]:
    index = services.search
    # The replica's position waits up to GAP_GRACE below an entry that follows a gap in
    # the ids (a transaction that may still commit): only what is older than that plus
    # the bound counts as not caught up.
    bound = GAP_GRACE.total_seconds() + services.settings.ready_search_lag_seconds
    try:
        with services.database.reading() as session:
            lag = replica_lag(session, index)
    except SearchUnavailable as exc:
        return {"ok": False, "engine": index.name, "error": str(exc)}
    except Exception as exc:
        if not database_unavailable(exc):
            raise
        return {"ok": False, "engine": index.name, "error": "the database is unavailable"}
    return {
        "ok": lag.oldest_pending_seconds <= bound,
        "engine": index.name,
        "applied": lag.applied,
        "pending": lag.pending,
        "lag_seconds": round(lag.oldest_pending_seconds, 1),
        "max_lag_seconds": bound,
    }


def _readiness(services: Services) -> dict[str, dict[str, Any]]:
    database = _check_database(services)
    if not database["ok"]:  # the search check needs the database: no second wait
        search = {"ok": False, "engine": services.search.name, "error": "not checked"}
    else:
        search = _check_search(services)
    matching = {"ok": services.matrices.ready}  # a large catalogue's first build takes minutes
    return {"database": database, "search": search, "matching": matching}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """200 when the database answers, the search replica is caught up and the match
    matrix is built, else 503; the body lists each check."""
    services = services_of(request)
    checks = await run_in_threadpool(_readiness, services)
    ready = all(check["ok"] for check in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
        headers=None if ready else {"Retry-After": str(services.settings.db.retry_after_seconds)},
    )
